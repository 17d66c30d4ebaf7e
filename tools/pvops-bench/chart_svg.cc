// SPDX-License-Identifier: MIT
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "outputs.h"

namespace pvops_bench {
namespace {

constexpr const char* kColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                   "#59a14f", "#edc948", "#b07aa1", "#ff9da7"};
constexpr double kLeft = 70, kTop = 40, kPlotHeight = 320, kBottom = 150, kGroupWidth = 70;

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// The patched path's median; `empty` has only its raw line.
const Measurement* Bar(const EnvironmentBench& env, const std::string& op) {
  const Measurement* m = env.Find(op, "patched");
  return m != nullptr ? m : env.Find(op, "raw");
}

}  // namespace

std::string ChartSvg(const std::vector<EnvironmentBench>& all) {
  std::vector<const EnvironmentBench*> envs;
  for (const EnvironmentBench& env : all)
    if (env.Benched()) envs.push_back(&env);
  const std::vector<std::string> ops = OpOrder(all);
  double top = 10;
  for (const EnvironmentBench* env : envs)
    for (const std::string& op : ops)
      if (const Measurement* m = Bar(*env, op)) top = std::max(top, m->median_cycles);
  const int decades = std::max(1, static_cast<int>(std::ceil(std::log10(top))));
  const double width = kLeft + ops.size() * kGroupWidth + 160;
  const double height = kTop + kPlotHeight + kBottom;
  auto y_of = [&](double v) {
    return kTop + kPlotHeight - kPlotHeight * std::log10(std::max(v, 1.0)) / decades;
  };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n",
      width, height);
  absl::StrAppend(
      &svg,
      absl::StrFormat("<text x=\"%.0f\" y=\"20\" font-size=\"14\">Median TSC cycles per op "
                      "through the patched sites (log scale; QEMU TCG virtual cycles)</text>\n",
                      kLeft));
  for (int d = 0; d <= decades; ++d) {
    const double y = y_of(std::pow(10.0, d));
    absl::StrAppend(
        &svg, absl::StrFormat("<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
                              "stroke=\"#ddd\"/>\n<text x=\"%.0f\" y=\"%.1f\" "
                              "text-anchor=\"end\">1e%d</text>\n",
                              kLeft, kLeft + ops.size() * kGroupWidth, y, y, kLeft - 6, y + 4, d));
  }
  const double bar = envs.empty() ? 0 : (kGroupWidth - 14) / envs.size();
  for (size_t o = 0; o < ops.size(); ++o) {
    const double group_x = kLeft + o * kGroupWidth + 7;
    for (size_t e = 0; e < envs.size(); ++e) {
      const Measurement* m = Bar(*envs[e], ops[o]);
      if (m == nullptr) continue;
      const double y = y_of(m->median_cycles);
      absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                            "height=\"%.1f\" fill=\"%s\"><title>%s %s: %.0f "
                                            "cycles</title></rect>\n",
                                            group_x + e * bar, y, bar - 1, kTop + kPlotHeight - y,
                                            kColors[e % 8], Escape(envs[e]->name), Escape(ops[o]),
                                            m->median_cycles));
    }
    const double label_x = group_x + (kGroupWidth - 14) / 2;
    const double label_y = kTop + kPlotHeight + 10;
    absl::StrAppend(&svg, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                                          "transform=\"rotate(-45 %.1f %.1f)\">%s</text>\n",
                                          label_x, label_y, label_x, label_y, Escape(ops[o])));
  }
  for (size_t e = 0; e < envs.size(); ++e) {
    const double x = kLeft + ops.size() * kGroupWidth + 20, y = kTop + 10 + e * 18;
    absl::StrAppend(&svg,
                    absl::StrFormat("<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" "
                                    "fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                                    x, y, kColors[e % 8], x + 18, y + 10, Escape(envs[e]->name)));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace pvops_bench
