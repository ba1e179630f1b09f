// The evaluation report as one HTML file: inline CSS and SVG, no scripts, no external assets,
// so it can be mailed, archived or opened offline.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "util/file_util.hpp"
#include "util/html.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/version.hpp"

namespace xraykit {
namespace {

struct Series {
  std::string name;
  std::string colour;
  std::vector<std::pair<double, double>> points;
  bool dots = false;
};

// A line chart. Axes span [x0,x1] x [y0,y1]; `diagonal` draws the y = x reference.
std::string chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                  const std::vector<Series>& series, double x0, double x1, double y0, double y1, bool diagonal) {
  const double W = 360, H = 300, L = 50, R = 15, T = 30, B = 45;
  auto X = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::string s = fmt::format(R"~(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="{}">)~",
                              W, H, escape_html(title));
  s += fmt::format(R"~(<text x="{}" y="18" text-anchor="middle" class="t">{}</text>)~", W / 2, escape_html(title));
  s += fmt::format(R"~(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)~", L, T, W - L - R, H - T - B);
  for (int k = 0; k <= 4; ++k) {
    const double xv = x0 + (x1 - x0) * k / 4, yv = y0 + (y1 - y0) * k / 4;
    s += fmt::format(R"~(<text x="{:.1f}" y="{}" text-anchor="middle" class="a">{:.2g}</text>)~", X(xv), H - B + 14, xv);
    s += fmt::format(R"~(<text x="{}" y="{:.1f}" text-anchor="end" class="a">{:.2g}</text>)~", L - 4, Y(yv) + 4, yv);
  }
  s += fmt::format(R"~(<text x="{}" y="{}" text-anchor="middle" class="a">{}</text>)~", (L + W - R) / 2, H - 8, escape_html(xlabel));
  s += fmt::format(R"~(<text x="12" y="{}" text-anchor="middle" class="a" transform="rotate(-90 12 {})">{}</text>)~",
                   (T + H - B) / 2, (T + H - B) / 2, escape_html(ylabel));
  if (diagonal)
    s += fmt::format(R"~(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#bbb" stroke-dasharray="4 3"/>)~", X(x0), Y(y0), X(x1), Y(y1));
  int legend = 0;
  for (const auto& se : series) {
    std::string pts;
    for (const auto& [x, y] : se.points)
      if (std::isfinite(x) && std::isfinite(y)) pts += fmt::format("{:.1f},{:.1f} ", X(x), Y(y));
    s += fmt::format(R"~(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)~", se.colour, pts);
    if (se.dots)
      for (const auto& [x, y] : se.points)
        if (std::isfinite(x) && std::isfinite(y))
          s += fmt::format(R"~(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)~", X(x), Y(y), se.colour);
    s += fmt::format(R"~(<text x="{}" y="{}" class="a" fill="{}">{}</text>)~", L + 8, T + 18 + 16 * legend++, se.colour,
                     escape_html(se.name));
  }
  return s + "</svg>";
}

std::string cell(const Estimate& e, bool ci, bool percent) {
  if (std::isnan(e.value)) return "n/a";
  const double k = percent ? 100 : 1;
  const char* f = percent ? "{:.1f}%" : "{:.3f}";
  std::string v = fmt::format(fmt::runtime(f), k * e.value);
  if (ci) v += fmt::format(R"~( <span class="ci">({} – {})</span>)~", fmt::format(fmt::runtime(f), k * e.lo),
                           fmt::format(fmt::runtime(f), k * e.hi));
  return v;
}

// ROC, precision-recall, reliability and, when given, the training curves.
std::string curves(const Evaluation& ev, const std::vector<EpochRecord>& history) {
  std::string h;
  if (!ev.roc.empty()) {
    Series roc{fmt::format("{} (AUC {:.3f})", ev.classes[1], ev.auc.value), "#1f77b4", {}};
    for (const auto& p : ev.roc) roc.points.emplace_back(p.fpr, p.tpr);
    h += chart("ROC", "1 - specificity", "sensitivity", {roc}, 0, 1, 0, 1, true);
    Series pr{fmt::format("{} (AP {:.3f})", ev.classes[1], ev.per_class[1].average_precision), "#2ca02c", {}};
    for (const auto& p : ev.pr) pr.points.emplace_back(p.recall, p.precision);
    h += chart("Precision-recall", "recall", "precision", {pr}, 0, 1, 0, 1, false);
  }
  Series rel{fmt::format("ECE {:.3f}", ev.ece), "#d62728", {}, true};
  for (const auto& b : ev.reliability)
    if (b.count > 0) rel.points.emplace_back(b.mean_confidence, b.accuracy);
  h += chart("Reliability", "confidence", "accuracy", {rel}, 0, 1, 0, 1, true);
  if (!history.empty()) {
    Series tl{"train loss", "#1f77b4", {}, true}, vl{"validation loss", "#ff7f0e", {}, true}, va{"validation AUC", "#2ca02c", {}, true};
    double top = 0;
    for (const auto& e : history) {
      tl.points.emplace_back(e.epoch, e.train_loss);
      vl.points.emplace_back(e.epoch, e.val_loss);
      va.points.emplace_back(e.epoch, e.val_auc);
      top = std::max({top, e.train_loss, e.val_loss});
    }
    const double last = std::max(2.0, static_cast<double>(history.back().epoch));
    h += chart("Loss", "epoch", "loss", {tl, vl}, 1, last, 0, std::max(top * 1.1, 0.1), false);
    h += chart("Validation AUC", "epoch", "AUC", {va}, 1, last, 0.5, 1, false);
  }
  return h;
}

}  // namespace

std::string html_report(const Evaluation& ev, const std::vector<EpochRecord>& history, const std::string& title) {
  const bool ci = ev.bootstrap > 0;
  std::string h = R"~(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)~";
  h += "<title>" + escape_html(title) + "</title><style>"
       "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
       "th{background:#f3f3f3}td.l,th.l{text-align:left}.ci{color:#777;font-size:90%}"
       ".charts{display:flex;flex-wrap:wrap;gap:12px}.t{font-size:14px;font-weight:600}.a{font-size:11px}"
       ".note{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px}"
       "</style></head><body>";
  h += "<h1>" + escape_html(title) + "</h1>";
  h += fmt::format("<p>Measured on the <b>{}</b> split: {} images from {} patients.", escape_html(ev.split), ev.images, ev.patients);
  if (ev.classes.size() == 2)
    h += fmt::format(" Decision threshold {:.3f} on P({}).", ev.threshold, escape_html(ev.classes[1]));
  if (ci)
    h += fmt::format(" Intervals: {:.0f}% percentile bootstrap over {} resamples of <em>patients</em>.", 100 * ev.confidence,
                     ev.bootstrap);
  h += "</p>";
  h += R"~(<p class="note">Decision support for trained staff, not a diagnosis. Figures hold for data like this split;
the test data of a new site can differ.</p>)~";

  h += "<h2>Summary</h2><table><tr><th class=l>metric</th><th>value</th></tr>";
  h += "<tr><td class=l>accuracy</td><td>" + cell(ev.accuracy, ci, true) + "</td></tr>";
  h += "<tr><td class=l>balanced accuracy</td><td>" + cell(ev.balanced_accuracy, ci, true) + "</td></tr>";
  h += "<tr><td class=l>ROC AUC</td><td>" + cell(ev.auc, ci, false) + "</td></tr>";
  h += fmt::format("<tr><td class=l>expected calibration error</td><td>{:.3f}</td></tr></table>", ev.ece);

  h += "<h2>Per class</h2><table><tr><th class=l>class</th><th>images</th><th>sensitivity</th><th>specificity</th>"
       "<th>precision</th><th>F1</th><th>AUC (one-vs-rest)</th><th>average precision</th></tr>";
  for (const auto& m : ev.per_class)
    h += fmt::format("<tr><td class=l>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3f}</td></tr>",
                     escape_html(m.name), m.support, cell(m.sensitivity, ci, true), cell(m.specificity, ci, true),
                     cell(m.precision, ci, true), cell(m.f1, ci, false), cell(m.auc, ci, false), m.average_precision);
  h += "</table>";

  h += "<h2>Confusion matrix</h2><table><tr><th class=l>true \\ predicted</th>";
  for (const auto& c : ev.classes) h += "<th>" + escape_html(c) + "</th>";
  h += "</tr>";
  for (std::size_t t = 0; t < ev.classes.size(); ++t) {
    std::int64_t row = 0;
    for (std::size_t p = 0; p < ev.classes.size(); ++p) row += ev.count(int(t), int(p));
    h += "<tr><th class=l>" + escape_html(ev.classes[t]) + "</th>";
    for (std::size_t p = 0; p < ev.classes.size(); ++p) {
      const double share = row ? static_cast<double>(ev.count(int(t), int(p))) / row : 0;
      const int shade = 255 - static_cast<int>(share * 140);
      h += fmt::format(R"~(<td style="background:rgb({},{},255)">{}</td>)~", shade, shade, ev.count(int(t), int(p)));
    }
    h += "</tr>";
  }
  h += "</table>";

  h += "<h2>Curves</h2><div class=charts>" + curves(ev, history);
  h += "</div>";
  h += fmt::format("<p class=ci>xraykit {}.</p></body></html>\n", XRAYKIT_VERSION_STRING);
  return h;
}

void save_html_report(const std::string& path, const Evaluation& eval, const std::vector<EpochRecord>& history,
                      const std::string& title) {
  write_file_atomic(path, html_report(eval, history, title));
}

}  // namespace xraykit
