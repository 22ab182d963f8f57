#include "baimo/train/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo::train {

using json = nlohmann::json;

namespace {

std::optional<double> number_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) fail("{}: field \"{}\" is {}, expected a number", where, key, it->type_name());
  double v = it->get<double>();
  if (!std::isfinite(v)) fail("{}: field \"{}\" is not finite", where, key);
  return v;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += ' ';
        else out += c;
    }
  }
  return out;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 1e6 || a < 1e-3) return fmt::format("{:.0e}", v);
  std::string s = fmt::format("{:.4f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::vector<std::pair<double, double>> moving_average(const std::vector<std::pair<double, double>>& pts, size_t window) {
  std::vector<std::pair<double, double>> out;
  double sum = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    sum += pts[i].second;
    if (i >= window) sum -= pts[i - window].second;
    size_t n = std::min(i + 1, window);
    out.emplace_back(pts[i].first, sum / n);
  }
  return out;
}

}  // namespace

LossCurves read_loss_curves(const std::string& path, const std::string& field) {
  std::string text = read_file(path);
  std::map<double, double> train, val;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string where = fmt::format("{}:{}", path, line_no);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail("{}: invalid JSON: {}", where, e.what());
    }
    if (!j.is_object()) fail("{}: expected a JSON object, got {}", where, j.type_name());
    // skip / rollback records are not points of the curves; an "eval" record (before training) is
    // a point of the held-out curve only.
    const bool eval_only = j.contains("event") && j["event"] == "eval";
    if (j.contains("event") && !eval_only) continue;
    auto step = number_field(j, "step", where);
    if (!step) fail("{}: field \"step\" is missing", where);
    if (auto loss = number_field(j, field.c_str(), where); loss && !eval_only) train[*step] = *loss;
    if (auto v = number_field(j, ("val_" + field).c_str(), where)) val[*step] = *v;
  }
  LossCurves c;
  c.train.assign(train.begin(), train.end());
  c.val.assign(val.begin(), val.end());
  return c;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  double raw = (hi - lo) / std::max(1, target);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; ++k) ticks.push_back(k * step);
  return ticks;
}

std::string render_loss_svg(const LossCurves& in, const LossPlotOptions& o) {
  LossCurves c = in;
  if (o.log_y)
    for (auto* v : {&c.train, &c.val})
      std::erase_if(*v, [](auto& p) { return !(p.second > 0); });
  if (c.train.empty() && c.val.empty()) fail("no {} values to plot", o.metric);

  // Data ranges.
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (auto* v : {&c.train, &c.val})
    for (auto& [x, y] : *v) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (x1 == x0) x0 -= 1, x1 += 1;
  auto fy = [&](double y) { return o.log_y ? std::log10(y) : y; };
  double ly0 = fy(y0), ly1 = fy(y1);
  if (ly1 - ly0 < 1e-9) ly0 -= o.log_y ? 0.05 : std::max(0.05, std::fabs(ly0) * 0.05), ly1 += o.log_y ? 0.05 : std::max(0.05, std::fabs(ly1) * 0.05);
  double pad = (ly1 - ly0) * 0.04;
  ly0 -= pad, ly1 += pad;
  if (!o.log_y && y0 >= 0 && ly0 < 0) ly0 = 0;

  const double left = 78, right = 24, top = 48, bottom = 62;
  const double pw = o.width - left - right, ph = o.height - top - bottom;
  auto sx = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto sy = [&](double y) { return top + (ly1 - fy(y)) / (ly1 - ly0) * ph; };

  std::string s = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">{3}</text>\n",
      o.width, o.height, left + pw / 2, xml_escape(o.title));

  // Grid, ticks and labels.
  s += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  std::string labels;
  for (double t : nice_ticks(x0, x1, 8)) {
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n", sx(t), top, top + ph);
    labels += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", sx(t), top + ph + 18,
                          tick_label(t));
  }
  std::vector<double> yt;
  if (o.log_y) {
    double dec0 = std::floor(ly0), dec1 = std::ceil(ly1);
    bool dense = dec1 - dec0 <= 2;  // few decades: 1, 2, 5 within each
    for (double d = dec0; d <= dec1; ++d)
      for (double m : dense ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        double v = m * std::pow(10.0, d);
        if (std::log10(v) >= ly0 && std::log10(v) <= ly1) yt.push_back(v);
      }
    if (yt.size() < 3)  // a narrow range (about one decade or less): 1-2-5 ticks in value
      yt = nice_ticks(std::pow(10.0, ly0), std::pow(10.0, ly1), 8);
  } else {
    yt = nice_ticks(ly0, ly1, 6);
  }
  for (double t : yt) {
    if (o.log_y && !(t > 0)) continue;
    s += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\"/>\n", left, sy(t), left + pw);
    labels += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 8, sy(t) + 4,
                          tick_label(t));
  }
  s += "</g>\n";
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left, top, pw, ph);
  s += "<g fill=\"#333\">\n" + labels + "</g>\n";
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">step</text>\n", left + pw / 2, o.height - 18.0);
  s += fmt::format("<text transform=\"translate(20 {:.1f}) rotate(-90)\" text-anchor=\"middle\">{}{}</text>\n",
                   top + ph / 2, xml_escape(o.metric), o.log_y ? " (log scale)" : "");

  // Curves, clipped to the plot area.
  s += fmt::format("<clipPath id=\"plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n", left, top,
                   pw, ph);
  s += "<g clip-path=\"url(#plot)\" fill=\"none\" stroke-linejoin=\"round\">\n";
  auto polyline = [&](const std::vector<std::pair<double, double>>& pts, const char* cls, const char* color,
                      double width, double opacity) {
    std::string p;
    for (auto& [x, y] : pts) p += fmt::format("{}{:.2f},{:.2f}", p.empty() ? "" : " ", sx(x), sy(y));
    return fmt::format("<polyline class=\"{}\" stroke=\"{}\" stroke-width=\"{}\" stroke-opacity=\"{}\" points=\"{}\"/>\n",
                       cls, color, width, opacity, p);
  };
  const bool smooth = c.train.size() >= 50;
  std::vector<std::pair<std::string, std::string>> legend;  // color, label
  if (!c.train.empty()) {
    s += polyline(c.train, "train", "#1f77b4", 1.2, smooth ? 0.35 : 1.0);
    if (smooth) {
      size_t window = std::max<size_t>(5, c.train.size() / 50);
      s += polyline(moving_average(c.train, window), "train-avg", "#1f77b4", 2.2, 1.0);
      legend.emplace_back("#1f77b4", fmt::format("train {} (faint: raw; bold: mean of {} steps)", o.metric, window));
    } else {
      legend.emplace_back("#1f77b4", "train " + o.metric);
    }
  }
  if (!c.val.empty()) {
    s += polyline(c.val, "val", "#ff7f0e", 2.2, 1.0);
    s += "<g fill=\"#ff7f0e\" stroke=\"none\">";
    for (auto& [x, y] : c.val) s += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\"/>", sx(x), sy(y));
    s += "</g>\n";
    legend.emplace_back("#ff7f0e", fmt::format("validation {} (last {:.4f})", o.metric, c.val.back().second));
  }
  s += "</g>\n";

  // Legend, top right inside the plot.
  double lw = 0;
  for (auto& [_, label] : legend) lw = std::max(lw, 6.5 * label.size());
  double lx = left + pw - lw - 52, ly = top + 10;
  s += fmt::format("<g class=\"legend\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"white\" "
                   "fill-opacity=\"0.85\" stroke=\"#999\"/>\n",
                   lx, ly, lw + 44, 20.0 * legend.size() + 8);
  for (size_t i = 0; i < legend.size(); ++i) {
    double y = ly + 18 + 20.0 * i;
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2.5\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
                     lx + 8, y - 4, lx + 32, y - 4, legend[i].first, lx + 38, y, xml_escape(legend[i].second));
  }
  s += "</g>\n</svg>\n";
  return s;
}

}  // namespace baimo::train
