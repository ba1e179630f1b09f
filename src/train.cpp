// ResNetClassifier::fit: the training loop, validation, checkpoints and resume.
#include <ATen/autocast_mode.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "batch_loader.hpp"
#include "choice.hpp"
#include "classifier_impl.hpp"
#include "container.hpp"
#include "rng.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/error.hpp"
#include "xraykit/version.hpp"

namespace xraykit {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

using State = std::vector<std::pair<std::string, torch::Tensor>>;

State clone_state(const State& s) {
  State out;
  for (const auto& [name, t] : s) out.emplace_back(name, t.detach().clone());
  return out;
}

std::vector<std::uint8_t> state_bytes(const State& s) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : s) dict.insert(name, t.detach().contiguous());
  const std::vector<char> b = torch::pickle_save(dict);
  return {b.begin(), b.end()};
}

State state_from_bytes(const std::vector<std::uint8_t>& b) {
  State s;
  const c10::IValue v = torch::pickle_load(std::vector<char>(b.begin(), b.end()));
  for (const auto& e : v.toGenericDict()) s.emplace_back(e.key().toStringRef(), e.value().toTensor());
  return s;
}

// Restores Torch's intra-op thread count and autocast state however fit() ends.
struct TorchSettings {
  int threads;
  bool autocast;
  TorchSettings(int want, bool bf16) : threads(torch::get_num_threads()), autocast(bf16) {
    torch::set_num_threads(want);
    if (bf16) {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
  }
  ~TorchSettings() {
    torch::set_num_threads(threads);
    if (autocast) {
      at::autocast::set_cpu_enabled(false);
      at::autocast::clear_cache();
    }
  }
};

void validate(const ResNetClassifier& m, const Dataset& train, const Dataset& val, const TrainOptions& o) {
  for (const auto* d : {&train, &val}) {
    const char* which = d == &train ? "training" : "validation";
    if (d->empty()) throw InvalidArgument(fmt::format("the {} set is empty", which));
    if (d->classes() != m.classes())
      throw InvalidArgument(fmt::format("the {} set's classes differ from the model's", which));
    if (d->image_size() != m.image_size() || d->channels() != m.channels())
      throw InvalidArgument(fmt::format("the {} set holds {}x{}x{} images; the model takes {}x{}x{}", which,
                                        d->image_size(), d->image_size(), d->channels(), m.image_size(), m.image_size(),
                                        m.channels()));
  }
  if (o.epochs < 1) throw InvalidArgument("epochs must be at least 1");
  if (o.batch_size < 1) throw InvalidArgument("batch_size must be at least 1");
  if (o.optimizer != "adamw" && o.optimizer != "sgd")
    throw InvalidArgument(fmt::format("unknown optimizer '{}' (adamw or sgd)", o.optimizer));
  if (!(o.learning_rate > 0)) throw InvalidArgument("learning_rate must be positive");
  if (o.label_smoothing < 0 || o.label_smoothing >= 1) throw InvalidArgument("label_smoothing must be in [0, 1)");
  if (o.freeze_epochs < 0 || o.patience < 0 || o.warmup_epochs < 0) throw InvalidArgument("negative epoch counts");
  const auto counts = train.class_counts();
  if (std::count_if(counts.begin(), counts.end(), [](std::int64_t n) { return n > 0; }) < 2)
    throw InvalidArgument("the training set holds fewer than two classes");
}

// The order of the epoch's samples: a seeded shuffle, or a class-balanced draw.
std::vector<std::size_t> epoch_order(const Dataset& train, const TrainOptions& o, int epoch) {
  Rng rng(mix_seed(o.seed, static_cast<std::uint64_t>(epoch)));
  std::vector<std::size_t> order(train.size());
  if (o.balance == Balance::Sampler) {
    std::vector<std::vector<std::size_t>> by_class(train.num_classes());
    for (std::size_t i = 0; i < train.size(); ++i) by_class[train.label(i)].push_back(i);
    std::vector<int> present;
    for (int c = 0; c < train.num_classes(); ++c)
      if (!by_class[c].empty()) present.push_back(c);
    for (auto& slot : order) {
      const auto& pool = by_class[present[rng.below(present.size())]];
      slot = pool[rng.below(pool.size())];
    }
  } else {
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    rng.shuffle(order);
  }
  return order;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(ResNet& net, const TrainOptions& o) {
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        net->parameters(), torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum).weight_decay(o.weight_decay));
  return std::make_unique<torch::optim::AdamW>(net->parameters(),
                                               torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

std::vector<std::uint8_t> optimizer_bytes(torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive ar;
  opt.save(ar);
  std::ostringstream os;
  ar.save_to(os);
  const std::string s = os.str();
  return {s.begin(), s.end()};
}

void load_optimizer(torch::optim::Optimizer& opt, const std::vector<std::uint8_t>& b) {
  torch::serialize::InputArchive ar;
  std::istringstream is(std::string(b.begin(), b.end()));
  ar.load_from(is);
  opt.load(ar);
}

json history_json(const std::vector<EpochRecord>& h) {
  json a = json::array();
  for (const auto& e : h)
    a.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"val_loss", e.val_loss}, {"val_auc", std::isfinite(e.val_auc) ? json(e.val_auc) : json(nullptr)},
                 {"val_accuracy", e.val_accuracy}, {"learning_rate", e.learning_rate}, {"seconds", e.seconds}});
  return a;
}

std::vector<EpochRecord> history_from(const json& a) {
  std::vector<EpochRecord> h;
  for (const auto& e : a)
    h.push_back({e.at("epoch").get<int>(), e.at("train_loss").get<double>(), e.at("val_loss").get<double>(),
                 e.at("val_auc").is_null() ? std::numeric_limits<double>::quiet_NaN() : e.at("val_auc").get<double>(),
                 e.at("val_accuracy").get<double>(), e.at("learning_rate").get<double>(), e.at("seconds").get<double>()});
  return h;
}

json estimate_json(const Estimate& e) {
  auto n = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  return {{"value", n(e.value)}, {"lo", n(e.lo)}, {"hi", n(e.hi)}};
}

}  // namespace

std::string to_string(Balance balance) {
  switch (balance) {
    case Balance::None: return "none";
    case Balance::Weights: return "weights";
    case Balance::Sampler: return "sampler";
  }
  return "?";
}

Balance parse_balance(const std::string& text) {
  return parse_choice(text, {Balance::Weights, Balance::Sampler, Balance::None}, "balance");
}

std::string to_string(Keep keep) { return keep == Keep::Best ? "best" : "last"; }

Keep parse_keep(const std::string& text) { return parse_choice(text, {Keep::Last, Keep::Best}, "keep"); }

FitResult ResNetClassifier::fit(const Dataset& train, const Dataset& val, const TrainOptions& o,
                                const ProgressCallback& callback) {
  validate(*this, train, val, o);
  const Augmenter augmenter(o.augment);
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  TorchSettings settings(threads, o.bf16);
  ResNet& net = impl_->net;
  auto optimizer = make_optimizer(net, o);

  const std::int64_t full_steps = static_cast<std::int64_t>((train.size() + o.batch_size - 1) / o.batch_size);
  const std::int64_t steps = o.max_steps_per_epoch > 0 ? std::min(full_steps, o.max_steps_per_epoch) : full_steps;
  const double total_steps = static_cast<double>(steps) * o.epochs;
  const double warmup = std::min(total_steps - 1, o.warmup_epochs * steps);
  auto lr_at = [&](std::int64_t global_step) {
    if (global_step < warmup) return o.learning_rate * (global_step + 1) / warmup;
    const double t = (global_step - warmup) / std::max(1.0, total_steps - warmup);
    return o.learning_rate * 0.5 * (1 + std::cos(M_PI * t));
  };
  torch::nn::functional::CrossEntropyFuncOptions loss_options;
  loss_options.label_smoothing(o.label_smoothing);
  if (o.balance == Balance::Weights) {
    const auto w = train.class_weights();
    loss_options.weight(torch::tensor(w));
  }

  FitResult result;
  int first_epoch = 1, bad_epochs = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  State best;
  const json fingerprint = {{"arch", arch()}, {"classes", classes()}, {"image_size", image_size()},
                            {"channels", channels()}, {"train_images", train.size()}, {"val_images", val.size()},
                            {"epochs", o.epochs}, {"batch_size", o.batch_size}, {"seed", o.seed}};

  if (o.resume && !o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)) {
    Sections s = read_container(o.checkpoint, "checkpoint");
    try {
      const json meta = json::parse(s.at("meta.json").begin(), s.at("meta.json").end());
      if (meta.at("fingerprint") != fingerprint)
        throw ModelError(fmt::format("{}: checkpoint was made for another model, dataset or schedule ({}), not ({})",
                                     o.checkpoint, meta.at("fingerprint").dump(), fingerprint.dump()));
      impl_->copy_state(state_from_bytes(s.at("weights")));
      best = state_from_bytes(s.at("best"));
      load_optimizer(*optimizer, s.at("optimizer"));
      first_epoch = meta.at("epoch").get<int>() + 1;
      bad_epochs = meta.at("bad_epochs").get<int>();
      best_score = meta.at("best_score").get<double>();
      result.best_epoch = meta.at("best_epoch").get<int>();
      result.history = history_from(meta.at("history"));
    } catch (const std::out_of_range&) {
      throw ModelError(fmt::format("{}: checkpoint lacks a section", o.checkpoint));
    } catch (const json::exception& e) {
      throw ModelError(fmt::format("{}: malformed checkpoint ({})", o.checkpoint, e.what()));
    } catch (const c10::Error& e) {
      throw ModelError(fmt::format("{}: unreadable checkpoint ({})", o.checkpoint, e.what_without_backtrace()));
    }
  }

  const auto t_start = Clock::now();
  std::int64_t images_done = 0;
  for (int epoch = first_epoch; epoch <= o.epochs && !result.cancelled; ++epoch) {
    const auto t_epoch = Clock::now();
    const bool frozen = epoch <= o.freeze_epochs;
    for (auto& p : net->named_parameters()) p.value().set_requires_grad(!frozen || p.key().rfind("fc.", 0) == 0);
    net->train();
    BatchLoader loader(train, augmenter, normalization(), epoch_order(train, o, epoch), o.batch_size,
                       mix_seed(o.seed, 1'000'003ULL + static_cast<std::uint64_t>(epoch)), o.workers);
    double loss_sum = 0;
    std::int64_t step = 0;
    double lr = o.learning_rate;
    for (; step < steps; ++step) {
      std::optional<Batch> batch = loader.next();
      if (!batch) break;
      const torch::Tensor x = as_tensor(*batch);
      const torch::Tensor y = torch::tensor(batch->labels, torch::kInt64);
      lr = lr_at((epoch - 1) * steps + step);
      set_lr(*optimizer, lr);
      optimizer->zero_grad();
      const torch::Tensor logits = net->forward(x).to(torch::kFloat32);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y, loss_options);
      loss.backward();
      optimizer->step();
      // Autocast caches the bf16 copy of each weight until told otherwise; without this the
      // next forward pass would run on the weights of the first step (Python's torch.autocast
      // clears the cache at every context exit for the same reason).
      if (o.bf16) at::autocast::clear_cache();
      loss_sum += loss.item<double>();
      images_done += batch->n;
      if (callback) {
        Progress p;
        p.epoch = epoch;
        p.epochs = o.epochs;
        p.step = step + 1;
        p.steps = steps;
        p.loss = loss_sum / (step + 1);
        p.learning_rate = lr;
        const double secs = std::chrono::duration<double>(Clock::now() - t_start).count();
        p.images_per_second = images_done / std::max(secs, 1e-9);
        const double left = static_cast<double>(o.epochs - epoch) * steps + (steps - step - 1);
        p.eta_seconds = left * o.batch_size / std::max(p.images_per_second, 1e-9);
        if (!callback(p)) {
          result.cancelled = true;
          break;
        }
      }
    }
    if (result.cancelled) break;  // a partial epoch is neither validated nor checkpointed

    // Validation on the patient-disjoint split.
    net->eval();
    impl_->weights_changed();
    const auto probs = predict_proba(val);
    double nll = 0, correct = 0, auc_sum = 0;
    int auc_n = 0;
    for (std::size_t i = 0; i < val.size(); ++i) {
      const int y = val.label(i);
      nll -= std::log(std::max(probs[i][y], 1e-12f));
      correct += (std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin()) == y;
    }
    // Binary: AUC of the positive class; multi-class: macro one-vs-rest.
    for (int c = classes().size() == 2 ? 1 : 0; c < static_cast<int>(classes().size()); ++c) {
      std::vector<double> s;
      std::vector<int> l;
      for (std::size_t i = 0; i < val.size(); ++i) s.push_back(probs[i][c]), l.push_back(val.label(i) == c);
      const double a = roc_auc(s, l);
      if (std::isfinite(a)) auc_sum += a, ++auc_n;
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = loss_sum / std::max<std::int64_t>(step, 1);
    rec.val_loss = nll / val.size();
    rec.val_auc = auc_n ? auc_sum / auc_n : std::numeric_limits<double>::quiet_NaN();
    rec.val_accuracy = correct / val.size();
    rec.learning_rate = lr;
    rec.seconds = std::chrono::duration<double>(Clock::now() - t_epoch).count();
    result.history.push_back(rec);

    const double score = std::isfinite(rec.val_auc) ? rec.val_auc : -rec.val_loss;
    if (best.empty() || score > best_score) {
      best_score = score;
      best = clone_state(impl_->named_state());
      result.best_epoch = epoch;
      bad_epochs = 0;
    } else {
      ++bad_epochs;
    }
    if (!o.checkpoint.empty()) {
      const json meta = {{"fingerprint", fingerprint}, {"epoch", epoch}, {"bad_epochs", bad_epochs},
                         {"best_score", best_score}, {"best_epoch", result.best_epoch},
                         {"history", history_json(result.history)}};
      const std::string m = meta.dump();
      write_container(o.checkpoint, "checkpoint",
                      {{"meta.json", {m.begin(), m.end()}}, {"weights", state_bytes(impl_->named_state())},
                       {"best", state_bytes(best)}, {"optimizer", optimizer_bytes(*optimizer)}});
    }
    if (callback) {
      Progress p;
      p.epoch = epoch;
      p.epochs = o.epochs;
      p.step = p.steps = steps;
      p.loss = rec.train_loss;
      p.learning_rate = lr;
      p.epoch_end = true;
      p.record = rec;
      const double secs = std::chrono::duration<double>(Clock::now() - t_start).count();
      p.images_per_second = images_done / std::max(secs, 1e-9);
      p.eta_seconds = static_cast<double>(o.epochs - epoch) * steps * o.batch_size / std::max(p.images_per_second, 1e-9);
      if (!callback(p)) result.cancelled = true;
    }
    if (o.patience > 0 && bad_epochs >= o.patience) {
      result.stopped_early = true;
      break;
    }
  }

  for (auto& p : net->parameters()) p.set_requires_grad(true);
  if (o.keep == Keep::Best && !best.empty()) impl_->copy_state(best);
  net->eval();
  impl_->weights_changed();
  if (result.history.empty()) return result;  // cancelled before the first epoch ended

  result.best_val_auc = result.history[result.best_epoch - 1 - (result.history.front().epoch - 1)].val_auc;
  result.kept_epoch = o.keep == Keep::Best ? result.best_epoch : result.history.back().epoch;
  // One pass over the validation split serves both the threshold and the final evaluation.
  const auto probs = predict_proba(val);
  if (classes().size() == 2) {
    std::vector<double> s;
    std::vector<int> l;
    for (std::size_t i = 0; i < val.size(); ++i) s.push_back(probs[i][1]), l.push_back(val.label(i) == 1);
    try {
      impl_->threshold = select_threshold(s, l, o.threshold_rule, o.target_sensitivity);
    } catch (const InvalidArgument&) {
      impl_->threshold = 0.5;  // validation holds one class only: no basis for a choice
    }
  }
  result.threshold = impl_->threshold;
  EvalOptions eo;
  eo.split = "validation (patient-disjoint)";
  eo.bootstrap = o.bootstrap;
  eo.seed = o.seed;
  eo.threshold = impl_->threshold;
  Evaluator evaluator(classes(), eo);
  for (std::size_t i = 0; i < val.size(); ++i) evaluator.add(probs[i], val.label(i), val.patient(i));
  result.validation = evaluator.evaluate();

  const Evaluation& v = result.validation;
  json metrics = {{"split", v.split}, {"images", v.images}, {"patients", v.patients}, {"threshold", v.threshold},
                  {"auc", estimate_json(v.auc)}, {"accuracy", estimate_json(v.accuracy)},
                  {"balanced_accuracy", estimate_json(v.balanced_accuracy)}};
  if (classes().size() == 2) {
    metrics["sensitivity"] = estimate_json(v.per_class[1].sensitivity);
    metrics["specificity"] = estimate_json(v.per_class[1].specificity);
    metrics["precision"] = estimate_json(v.per_class[1].precision);
  }
  const json prov = {
      {"library_version", XRAYKIT_VERSION_STRING},
      {"data", {{"train", train.summary()}, {"validation", val.summary()}}},
      {"augmentation", augmenter.to_string()},
      {"options",
       {{"epochs", o.epochs}, {"batch_size", o.batch_size}, {"optimizer", o.optimizer}, {"learning_rate", o.learning_rate},
        {"weight_decay", o.weight_decay}, {"warmup_epochs", o.warmup_epochs}, {"label_smoothing", o.label_smoothing},
        {"balance", to_string(o.balance)},
        {"freeze_epochs", o.freeze_epochs}, {"patience", o.patience}, {"keep", to_string(o.keep)},
        {"bf16", o.bf16}, {"seed", o.seed},
        {"threshold_rule", to_string(o.threshold_rule)},
        {"target_sensitivity", o.target_sensitivity}}},
      {"epochs_run", result.history.size()},
      {"best_epoch", result.best_epoch},
      {"kept_epoch", result.kept_epoch},
      {"stopped_early", result.stopped_early},
      {"cancelled", result.cancelled},
      {"history", history_json(result.history)},
      {"validation", metrics}};
  impl_->provenance = prov.dump();
  return result;
}

}  // namespace xraykit
