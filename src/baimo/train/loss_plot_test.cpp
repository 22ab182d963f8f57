#include "baimo/train/loss_plot.h"

#include <gtest/gtest.h>

#include "baimo/util/error.h"
#include "baimo/util/temp_dir.h"

namespace loss_plot_test {
using namespace baimo;
using namespace baimo::train;

std::string error_of(const std::string& path) {
  try {
    read_loss_curves(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(LossPlot, ReadsTrainAndValLaterStepsReplaceEarlierOnes) {
  TempDir t("baimo_lossplot_");
  auto p = t.file("metrics.jsonl",
                  "{\"event\": \"eval\", \"step\": 0, \"loss\": 7.0, \"val_loss\": 6.0}\n"
                  "{\"step\": 1, \"loss\": 5.0, \"lr\": 0.001}\n"
                  "{\"step\": 2, \"loss\": 4.0, \"val_loss\": 4.5}\n\n"
                  "{\"step\": 3, \"loss\": 3.5}\n"
                  "{\"step\": 2, \"event\": \"rollback\"}\n"
                  "{\"event\": \"skip\", \"step\": 3, \"loss\": 90.0}\n"
                  "{\"step\": 3, \"loss\": 3.0, \"val_loss\": null}\n"
                  "{\"step\": 4, \"loss\": 2.5, \"val_loss\": 2.75}\n");
  LossCurves c = read_loss_curves(p);
  EXPECT_EQ(c.train, (std::vector<std::pair<double, double>>{{1, 5.0}, {2, 4.0}, {3, 3.0}, {4, 2.5}}));
  EXPECT_EQ(c.val, (std::vector<std::pair<double, double>>{{0, 6.0}, {2, 4.5}, {4, 2.75}}));
}

TEST(LossPlot, AnyLoggedMetricAndItsValidationSeries) {
  TempDir t("baimo_lossplot_");
  auto p = t.file("metrics.jsonl",
                  "{\"step\": 1, \"loss\": 0.69, \"logps/chosen\": -40.5}\n"
                  "{\"step\": 2, \"loss\": 0.6, \"logps/chosen\": -41.0, \"val_logps/chosen\": -39.0}\n");
  LossCurves c = read_loss_curves(p, "logps/chosen");
  EXPECT_EQ(c.train, (std::vector<std::pair<double, double>>{{1, -40.5}, {2, -41.0}}));
  EXPECT_EQ(c.val, (std::vector<std::pair<double, double>>{{2, -39.0}}));
  LossPlotOptions o;
  o.metric = "logps/chosen";
  std::string svg = render_loss_svg(c, o);
  EXPECT_NE(svg.find("train logps/chosen"), std::string::npos);
  EXPECT_NE(svg.find("validation logps/chosen (last -39.0000)"), std::string::npos);
  EXPECT_EQ(svg.find("loss"), std::string::npos) << "a metric's plot says nothing of a loss";
}

TEST(LossPlot, BadLinesNameTheLine) {
  TempDir t("baimo_lossplot_");
  auto a = t.file("a.jsonl", "{\"step\": 1, \"loss\": 5.0}\n{\"step\": 2, \"loss\": nan}\n");
  EXPECT_NE(error_of(a).find(a + ":2: invalid JSON"), std::string::npos) << error_of(a);
  auto b = t.file("b.jsonl", "{\"loss\": 5.0}\n");
  EXPECT_EQ(error_of(b), b + ":1: field \"step\" is missing");
  auto c = t.file("c.jsonl", "\n{\"step\": 1, \"loss\": \"high\"}\n");
  EXPECT_EQ(error_of(c), c + ":2: field \"loss\" is string, expected a number");
  auto d = t.file("d.jsonl", "[1]\n");
  EXPECT_EQ(error_of(d), d + ":1: expected a JSON object, got array");
  EXPECT_THROW(read_loss_curves((t.dir / "missing.jsonl").string()), Error);
}

TEST(LossPlot, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 1000, 5), (std::vector<double>{0, 200, 400, 600, 800, 1000}));
  auto f = nice_ticks(2.13, 2.71, 6);
  std::vector<double> want = {2.2, 2.3, 2.4, 2.5, 2.6, 2.7};
  ASSERT_EQ(f.size(), want.size());
  for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], want[i], 1e-12);
  auto t = nice_ticks(1, 7, 6);
  EXPECT_EQ(t.front(), 1);
  EXPECT_EQ(t.back(), 7);
}

TEST(LossPlot, SvgHasCurvesLegendAndEscapedTitle) {
  LossCurves c;
  for (int i = 1; i <= 100; ++i) c.train.emplace_back(i, 8.0 / i + 1);
  c.val = {{50, 1.3}, {100, 1.2}};
  LossPlotOptions o;
  o.title = "run <a & b>";
  std::string svg = render_loss_svg(c, o);
  EXPECT_TRUE(svg.starts_with("<?xml"));
  EXPECT_NE(svg.find("run &lt;a &amp; b&gt;"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 3u);  // raw train, its average, val
  EXPECT_EQ(count(svg, "<circle"), 2u);
  EXPECT_NE(svg.find("validation loss (last 1.2000)"), std::string::npos);
  o.log_y = true;
  c.train.emplace_back(101, 0.0);  // dropped on a log axis
  std::string log_svg = render_loss_svg(c, o);
  EXPECT_NE(log_svg.find("loss (log scale)"), std::string::npos);
  EXPECT_THROW(render_loss_svg(LossCurves{}, o), Error);
}

}  // namespace loss_plot_test
