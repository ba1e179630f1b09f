// Auto-selection: measured throughput, a budget rule, and optional successive halving.
#include "xraykit/autoselect.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {
namespace {

using Clock = std::chrono::steady_clock;

// Validation costs about a third of training per image (forward only), once per epoch.
double seconds_per_epoch(const Dataset& train, const Dataset& val, double ips) {
  return (train.size() + val.size() / 3.0) / ips;
}

double measure(const std::string& arch, const Dataset& train, const Dataset& val, const ClassifierOptions& model,
               const TrainOptions& base, const std::string& augment, int steps) {
  TrainOptions o = base;
  o.augment = augment;
  o.epochs = 1;
  o.max_steps_per_epoch = steps + 1;  // the first step warms oneDNN up and is not timed
  o.bootstrap = 0;
  o.checkpoint.clear();
  o.resume = false;
  std::vector<std::size_t> few;
  for (std::size_t i = 0; i < std::min<std::size_t>(val.size(), 8); ++i) few.push_back(i);
  ResNetClassifier m(arch, train.classes(), model);
  Clock::time_point start;
  std::int64_t timed = 0;
  m.fit(train, val.subset(few), o, [&](const Progress& p) {
    if (p.epoch_end) return true;
    if (p.step == 1) start = Clock::now();
    else timed = (p.step - 1) * o.batch_size;
    return true;
  });
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return timed > 0 ? timed / std::max(secs, 1e-6) : 1e-6;
}

std::string augment_for(std::size_t images, int epochs) {
  if (epochs < 5) return "light";  // strong augmentation needs epochs to pay off
  if (images < 1000) return "strong";
  return TrainOptions{}.augment;
}

struct Searched {
  std::string arch, augment;  // empty when there was nothing to search
  std::string log;            // one clause per rung
};

// Successive halving: every candidate architecture with two augmentation strengths trains a
// short rung; the better half (by validation AUC) moves on to a rung twice as long.
Searched successive_halving(const Dataset& train, const Dataset& val, const ClassifierOptions& model,
                            const TrainOptions& base, const std::vector<std::string>& archs) {
  struct Cand {
    std::string arch, augment;
    double auc = 0;
  };
  std::vector<Cand> pool;
  for (const auto& arch : archs)
    for (const char* aug : {"light", "medium"}) pool.push_back({arch, aug});
  std::int64_t steps = std::max<std::int64_t>(4, static_cast<std::int64_t>(train.size() / base.batch_size / 8));
  Searched out;
  while (pool.size() > 1) {
    for (auto& cand : pool) {
      TrainOptions t = base;
      t.epochs = 1;
      t.max_steps_per_epoch = steps;
      t.augment = cand.augment;
      t.bootstrap = 0;
      t.checkpoint.clear();
      t.resume = false;
      ResNetClassifier m(cand.arch, train.classes(), model);
      const FitResult r = m.fit(train, val, t);
      cand.auc = std::isfinite(r.best_val_auc) ? r.best_val_auc : 0;
    }
    std::stable_sort(pool.begin(), pool.end(), [](const Cand& a, const Cand& b) { return a.auc > b.auc; });
    out.log += fmt::format(" rung of {} steps: best {}+{} (AUC {:.3f});", steps, pool[0].arch, pool[0].augment, pool[0].auc);
    pool.resize((pool.size() + 1) / 2);
    steps *= 2;
  }
  if (!pool.empty()) out.arch = pool[0].arch, out.augment = pool[0].augment;
  return out;
}

}  // namespace

double parse_duration(const std::string& text) {
  static const std::regex full(R"(^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$)");
  std::smatch m;
  if (text.empty() || !std::regex_match(text, m, full) || (!m[1].matched && !m[2].matched && !m[3].matched))
    throw InvalidArgument(fmt::format("bad duration '{}' (e.g. 90s, 30m, 2h, 1h30m)", text));
  double s = 0;
  if (m[1].matched) s += std::stod(m[1]) * 3600;
  if (m[2].matched) s += std::stod(m[2]) * 60;
  if (m[3].matched) s += std::stod(m[3]);
  if (s <= 0) throw InvalidArgument(fmt::format("duration '{}' is not positive", text));
  return s;
}

AutoChoice auto_select(const Dataset& train, const Dataset& val, const ClassifierOptions& model,
                       const TrainOptions& base, const AutoSelectOptions& o) {
  if (!(o.budget_seconds > 0)) throw InvalidArgument("the time budget must be positive");
  if (o.auto_arch && o.candidates.empty()) throw InvalidArgument("no candidate architectures");
  if (o.min_epochs < 1 || o.max_epochs < o.min_epochs) throw InvalidArgument("bad epoch bounds for auto-selection");

  AutoChoice c;
  std::vector<std::string> archs = o.auto_arch ? o.candidates : std::vector<std::string>{o.arch};
  // Probes augment as training will (a fixed, typical strength when that is still to be chosen).
  const std::string probe_augment = o.auto_augment ? "light" : o.augment;
  for (const auto& a : archs) c.measured.push_back({a, measure(a, train, val, model, base, probe_augment, o.probe_steps)});
  // Candidates come from small to large. A larger network is never faster; a probe that says
  // otherwise met a busy machine, so the smaller one's figure caps it. This keeps the choice
  // stable under noise.
  for (std::size_t k = 1; k < c.measured.size(); ++k)
    c.measured[k].images_per_second = std::min(c.measured[k].images_per_second, c.measured[k - 1].images_per_second);

  auto affordable = [&](const Throughput& t) {
    return static_cast<int>(std::floor(o.budget_seconds / seconds_per_epoch(train, val, t.images_per_second)));
  };
  std::string why;
  const Throughput* pick = &c.measured.front();
  if (o.auto_arch) {
    for (const auto& t : c.measured)
      if (affordable(t) >= (o.auto_epochs ? o.min_epochs : o.epochs)) pick = &t;  // the slowest that still fits
    why = fmt::format("{} is the largest candidate that affords {} epochs of {} images in the budget", pick->arch,
                      o.auto_epochs ? fmt::format("at least {}", o.min_epochs) : std::to_string(o.epochs), train.size());
    if (affordable(*pick) < (o.auto_epochs ? o.min_epochs : o.epochs))
      why = fmt::format("no candidate affords {} epochs in the budget, so the fastest, {}, was taken",
                        o.auto_epochs ? o.min_epochs : o.epochs, pick->arch);
  } else {
    why = fmt::format("{} as requested", pick->arch);
  }
  c.arch = pick->arch;
  c.epochs = o.auto_epochs ? std::clamp(affordable(*pick), 1, o.max_epochs) : o.epochs;
  if (o.auto_epochs)
    why += fmt::format("; {} epochs fit the budget of {:g} s at the measured {:.1f} images/s (at most {})", c.epochs,
                       o.budget_seconds, pick->images_per_second, o.max_epochs);
  c.augment = o.auto_augment ? augment_for(train.size(), c.epochs) : o.augment;
  if (o.auto_augment)
    why += fmt::format("; '{}' augmentation suits {} training images and {} epochs", c.augment, train.size(), c.epochs);

  if (o.search && o.auto_arch) {
    std::vector<std::string> affordable_archs;
    for (const auto& t : c.measured)
      if (affordable(t) >= 1) affordable_archs.push_back(t.arch);
    const Searched best = successive_halving(train, val, model, base, affordable_archs);
    if (!best.arch.empty()) {
      c.arch = best.arch;
      c.augment = best.augment;
      const auto it = std::find_if(c.measured.begin(), c.measured.end(), [&](const Throughput& t) { return t.arch == c.arch; });
      if (o.auto_epochs) c.epochs = std::clamp(affordable(*it), 1, o.max_epochs);
      why += fmt::format(". Successive-halving search on the validation split:{} chose {} with '{}' augmentation",
                         best.log, c.arch, c.augment);
    }
  }
  const auto it = std::find_if(c.measured.begin(), c.measured.end(), [&](const Throughput& t) { return t.arch == c.arch; });
  c.expected_seconds = c.epochs * seconds_per_epoch(train, val, it->images_per_second);
  c.reason = why + ".";
  c.budget_seconds = o.budget_seconds;
  c.search = o.search;
  return c;
}

}  // namespace xraykit
