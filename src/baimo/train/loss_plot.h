// Loss curves of a training run (or of any metric it logs): read from its metrics.jsonl, drawn as a
// self-contained SVG.
// Contract:
// - read_loss_curves: each non-blank line of metrics.jsonl is a JSON object with a numeric "step";
//   "loss" (train) and "val_loss" (on eval steps) are numbers when present (null or absent: no point).
//   Lines with an "event" field (the trainer's skip / rollback records) are not points. A later line for the same step replaces an earlier one (a resumed or rolled-back
//   run rewrites steps). Points come back sorted by step. Errors name the file and 1-based line.
// - render_loss_svg: an SVG 1.1 document (no scripts, no external references) with axes, "nice"
//   ticks (1-2-5 steps; decades on a log y axis), grid, axis titles, a legend, the raw train loss,
//   its moving average when there are many points, and the validation loss with markers.
//   Text is XML-escaped. Linear or logarithmic y (log needs positive losses: others are dropped).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace baimo::train {

struct LossCurves {
  std::vector<std::pair<double, double>> train, val;  // (step, loss), sorted by step
};

// `field` is the train series ("loss", or any metric such as "logps/chosen"); "val_" + field the
// validation series.
LossCurves read_loss_curves(const std::string& metrics_jsonl, const std::string& field = "loss");

struct LossPlotOptions {
  std::string title;
  std::string metric = "loss";  // names the y axis and the legend
  bool log_y = false;
  int width = 900, height = 540;
};

std::string render_loss_svg(const LossCurves& curves, const LossPlotOptions& opts);

// Tick positions covering [lo, hi] at a 1-2-5 step, about `target` of them (exposed for tests).
std::vector<double> nice_ticks(double lo, double hi, int target);

}  // namespace baimo::train
