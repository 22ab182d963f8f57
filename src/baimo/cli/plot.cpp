// baimo plot RUN_DIR [--out FILE.svg] [--log]
// Reads RUN_DIR/metrics.jsonl (written by `baimo pretrain`) and writes an SVG of the train and
// validation loss curves (train/loss_plot.h), atomically; default RUN_DIR/loss.svg. Prints the path.
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
  std::string run_dir, out;
  bool log_y = false;
};

void run_plot(const PlotArgs& a) {
  namespace fs = std::filesystem;
  fs::path dir(a.run_dir);
  auto metrics = fs::is_directory(dir) ? dir / "metrics.jsonl" : dir;  // a run directory or the file itself
  if (!fs::exists(metrics)) fail("{}: no such file (expected a run directory with metrics.jsonl)", metrics.string());
  train::LossCurves curves = train::read_loss_curves(metrics.string());
  if (curves.train.empty() && curves.val.empty()) fail("{}: no \"loss\" or \"val_loss\" values", metrics.string());
  train::LossPlotOptions o;
  o.log_y = a.log_y;
  auto run_name = fs::weakly_canonical(metrics).parent_path().filename().string();
  o.title = fmt::format("{}: loss over {} steps", run_name, curves.train.empty() ? curves.val.back().first
                                                                                  : curves.train.back().first);
  std::string out = a.out.empty() ? (metrics.parent_path() / "loss.svg").string() : a.out;
  prepare_output_file(out);
  write_file_atomic(out, train::render_loss_svg(curves, o));
  std::printf("%s\n", out.c_str());
}

}  // namespace

BAIMO_COMMAND(45, [](CLI::App& root) {
  auto* sub = root.add_subcommand("plot", "Plot a run's train and validation loss (RUN_DIR/metrics.jsonl) as an SVG");
  auto a = std::make_shared<PlotArgs>();
  sub->add_option("run_dir", a->run_dir, "Run directory of `baimo pretrain` (or a metrics.jsonl file)")->required();
  sub->add_option("--out", a->out, "Output SVG (default RUN_DIR/loss.svg)");
  sub->add_flag("--log", a->log_y, "Logarithmic loss axis");
  sub->callback([a] { run_plot(*a); });
});

}  // namespace baimo::cli
