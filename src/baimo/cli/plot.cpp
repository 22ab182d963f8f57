// baimo plot RUN_DIR [--metric NAME] [--out FILE.svg] [--log]
// Reads RUN_DIR/metrics.jsonl (written by every training command) and writes an SVG of the train and
// validation curves of the loss, or of --metric NAME (e.g. logps/chosen of a DPO run: a falling
// chosen log-prob is DPO's known failure) and val_NAME (train/loss_plot.h), atomically; default
// RUN_DIR/loss.svg (RUN_DIR/NAME.svg with "/" as "_"). Prints the path.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "baimo/cli/command.h"
#include "baimo/train/loss_plot.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"
#include "baimo/util/output_path.h"

namespace baimo::cli {
namespace {

struct PlotArgs {
  std::string run_dir, out, metric = "loss";
  bool log_y = false;
};

void run_plot(const PlotArgs& a) {
  namespace fs = std::filesystem;
  fs::path dir(a.run_dir);
  auto metrics = fs::is_directory(dir) ? dir / "metrics.jsonl" : dir;  // a run directory or the file itself
  if (!fs::exists(metrics)) fail("{}: no such file (expected a run directory with metrics.jsonl)", metrics.string());
  train::LossCurves curves = train::read_loss_curves(metrics.string(), a.metric);
  if (curves.train.empty() && curves.val.empty())
    fail("{}: no \"{}\" or \"val_{}\" values", metrics.string(), a.metric, a.metric);
  train::LossPlotOptions o;
  o.log_y = a.log_y;
  o.metric = a.metric;
  auto run_name = fs::weakly_canonical(metrics).parent_path().filename().string();
  o.title = fmt::format("{}: {} over {} steps", run_name, a.metric, curves.train.empty() ? curves.val.back().first
                                                                                  : curves.train.back().first);
  std::string file = a.metric + ".svg";
  std::replace(file.begin(), file.end(), '/', '_');
  std::string out = a.out.empty() ? (metrics.parent_path() / file).string() : a.out;
  prepare_output_file(out);
  write_file_atomic(out, train::render_loss_svg(curves, o));
  std::printf("%s\n", out.c_str());
}

}  // namespace

BAIMO_COMMAND(45, [](CLI::App& root) {
  auto* sub = root.add_subcommand("plot", "Plot a run's train and validation loss (or another metric) from RUN_DIR/metrics.jsonl as an SVG");
  auto a = std::make_shared<PlotArgs>();
  sub->add_option("run_dir", a->run_dir, "Run directory of `baimo pretrain` (or a metrics.jsonl file)")->required();
  sub->add_option("--out", a->out, "Output SVG (default RUN_DIR/loss.svg)");
  sub->add_option("--metric", a->metric, "What to plot: loss (default) or a logged metric, e.g. logps/chosen");
  sub->add_flag("--log", a->log_y, "Logarithmic y axis");
  sub->callback([a] { run_plot(*a); });
});

}  // namespace baimo::cli
