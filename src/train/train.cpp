// ResNetClassifier::fit: the training loop, validation, checkpoints and resume.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/classifier_impl.hpp"
#include "model/calibration.hpp"
#include "train/checkpoint.hpp"
#include "train/batch_loader.hpp"
#include "train/mixup.hpp"
#include "train/stochastic_depth.hpp"
#include "train/weight_average.hpp"
#include "train/train_step.hpp"
#include "util/choice.hpp"
#include "util/rng.hpp"
#include "util/threads.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/error.hpp"
#include "xraykit/model_card.hpp"
#include "xraykit/version.hpp"

namespace xraykit {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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
  if (!(o.learning_rate > 0)) throw InvalidArgument("learning_rate must be positive");
  if (!(o.label_smoothing >= 0 && o.label_smoothing < 1)) throw InvalidArgument("label_smoothing must be in [0, 1)");
  if (!(o.mixup == 0 || (o.mixup >= TrainOptions::kMixupMin && o.mixup <= TrainOptions::kMixupMax)))
    throw InvalidArgument(fmt::format("mixup must be 0 (off) or in [{}, {}]", TrainOptions::kMixupMin, TrainOptions::kMixupMax));
  if (!(o.cutmix == 0 || (o.cutmix >= TrainOptions::kMixupMin && o.cutmix <= TrainOptions::kMixupMax)))
    throw InvalidArgument(fmt::format("cutmix must be 0 (off) or in [{}, {}]", TrainOptions::kMixupMin, TrainOptions::kMixupMax));
  if (!(o.stochastic_depth >= 0 && o.stochastic_depth <= TrainOptions::kStochasticDepthMax))
    throw InvalidArgument(fmt::format("stochastic_depth must be 0 (off) or in (0, {}]", TrainOptions::kStochasticDepthMax));
  if (o.mixup > 0 && o.cutmix > 0) throw InvalidArgument("mixup and cutmix cannot both be on: choose one");
  if (!(o.ema == 0 || (o.ema > 0 && o.ema < 1))) throw InvalidArgument("ema must be 0 (off) or in (0, 1)");
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

std::string to_string(Optimizer optimizer) { return optimizer == Optimizer::Sgd ? "sgd" : "adamw"; }

Optimizer parse_optimizer(const std::string& text) {
  return parse_choice(text, {Optimizer::AdamW, Optimizer::Sgd}, "optimizer");
}

namespace {

// One fit() run, phase by phase: restore a checkpoint, then per epoch train, validate, keep
// the best weights, checkpoint and report; at the end keep the chosen epoch's weights, set
// the threshold, evaluate and record the model card.
class Run {
  static constexpr int kValidationBatch = 64;

 public:
  Run(ResNetClassifier& model, ResNetClassifier::Impl& impl, const Dataset& train, const Dataset& val,
      const TrainOptions& o, const ProgressCallback& callback)
      : model_(model), impl_(impl), train_(train), val_(val), o_(o), callback_(callback), augmenter_(o.augment),
        optimizer_(make_optimizer(impl.net, o)) {
    if (o.ema > 0) average_.emplace(o.ema);
    const std::int64_t full_steps = static_cast<std::int64_t>((train.size() + o.batch_size - 1) / o.batch_size);
    steps_ = o.max_steps_per_epoch > 0 ? std::min(full_steps, o.max_steps_per_epoch) : full_steps;
    loss_options_.label_smoothing(o.label_smoothing);
    if (o.balance == Balance::Weights) loss_options_.weight(torch::tensor(train.class_weights()));
    impl_.temperature = 1;  // the epochs' validation figures are the network's own; finish() calibrates
  }

  FitResult run() {
    const int first_epoch = o_.resume && !o_.checkpoint.empty() && std::filesystem::exists(o_.checkpoint) ? restore() + 1 : 1;
    for (int epoch = first_epoch; epoch <= o_.epochs && !result_.cancelled; ++epoch) {
      const auto started = Clock::now();
      const double train_loss = train_epoch(epoch);
      if (result_.cancelled) break;  // a partial epoch is neither validated nor checkpointed
      // With a weight average, the average is what is kept, so it is what is validated.
      const NamedTensors live = average_ ? load_average() : NamedTensors{};
      EpochRecord rec = validate_epoch(epoch);
      rec.train_loss = train_loss;
      rec.learning_rate = lr_;
      rec.seconds = seconds_since(started);
      result_.history.push_back(rec);
      remember_if_best(rec);
      if (average_) impl_.copy_state(live);
      if (!o_.checkpoint.empty()) save_checkpoint(o_.checkpoint, checkpoint(epoch));
      if (callback_ && !callback_(progress(epoch, steps_, rec.train_loss, &rec))) result_.cancelled = true;
      if (o_.patience > 0 && bad_epochs_ >= o_.patience) {
        result_.stopped_early = true;
        break;
      }
    }
    finish();
    return result_;
  }

 private:
  // The learning rate at a step: linear warm-up, then cosine decay to zero.
  double learning_rate(std::int64_t global_step) const {
    const double total = static_cast<double>(steps_) * o_.epochs;
    const double warmup = std::min(total - 1, o_.warmup_epochs * steps_);
    if (global_step < warmup) return o_.learning_rate * (global_step + 1) / warmup;
    const double t = (global_step - warmup) / std::max(1.0, total - warmup);
    return o_.learning_rate * 0.5 * (1 + std::cos(M_PI * t));
  }

  // Loads the weight average into the network; returns a copy of the weights it replaced.
  NamedTensors load_average() {
    NamedTensors live = clone_tensors(impl_.named_state());
    impl_.copy_state(average_->state());
    return live;
  }

  // The identity of this run, which a checkpoint must match to be continued. ema, mixup,
  // cutmix, stochastic depth and label smoothing are named only when on, so checkpoints of
  // runs without them, older ones included, still resume. (Augmentation, balance and the
  // optimiser's settings are not named: a resume with others goes on with them.)
  nlohmann::json fingerprint() const {
    nlohmann::json f = {{"arch", model_.arch()},         {"classes", model_.classes()},   {"image_size", model_.image_size()},
                        {"channels", model_.channels()}, {"train_images", train_.size()}, {"val_images", val_.size()},
                        {"epochs", o_.epochs},           {"batch_size", o_.batch_size},   {"seed", o_.seed}};
    if (o_.ema > 0) f["ema"] = o_.ema;
    if (o_.mixup > 0) f["mixup"] = o_.mixup;
    if (o_.cutmix > 0) f["cutmix"] = o_.cutmix;
    if (o_.stochastic_depth > 0) f["stochastic_depth"] = o_.stochastic_depth;
    if (o_.label_smoothing > 0) f["label_smoothing"] = o_.label_smoothing;
    return f;
  }

  // Continues from the checkpoint; returns the last epoch it finished.
  int restore() {
    Checkpoint c = load_checkpoint(o_.checkpoint, fingerprint());
    try {
      impl_.copy_state(c.weights);
      load_optimizer(*optimizer_, c.optimizer);
    } catch (const c10::Error& e) {
      throw ModelError(fmt::format("{}: unreadable checkpoint ({})", o_.checkpoint, e.what_without_backtrace()));
    }
    if (average_) {
      if (c.average.empty()) throw ModelError(fmt::format("{}: checkpoint lacks the weight average", o_.checkpoint));
      average_->restore(c.average);
    }
    best_ = std::move(c.best);
    bad_epochs_ = c.bad_epochs;
    best_score_ = c.best_score;
    result_.best_epoch = c.best_epoch;
    result_.history = std::move(c.history);
    return c.epoch;
  }

  Checkpoint checkpoint(int epoch) {
    Checkpoint c;
    c.fingerprint = fingerprint();
    c.epoch = epoch;
    c.bad_epochs = bad_epochs_;
    c.best_epoch = result_.best_epoch;
    c.best_score = best_score_;
    c.history = result_.history;
    c.weights = impl_.named_state();
    c.best = best_;
    if (average_) c.average = average_->state();
    c.optimizer = optimizer_bytes(*optimizer_);
    return c;
  }

  // One pass over the (augmented) training data; the mean loss. Sets cancelled when the
  // callback asks to stop.
  double train_epoch(int epoch) {
    ResNet& net = impl_.net;
    const bool frozen = epoch <= o_.freeze_epochs;
    for (auto& p : net->named_parameters()) p.value().set_requires_grad(!frozen || p.key().rfind("fc.", 0) == 0);
    net->train();
    // Augmentation draws from its own stream per epoch, apart from the order's stream.
    constexpr std::uint64_t kAugmentStream = 1'000'003ULL;
    BatchLoader loader(train_, augmenter_, model_.normalization(), epoch_order(train_, o_, epoch), o_.batch_size,
                       mix_seed(o_.seed, kAugmentStream + static_cast<std::uint64_t>(epoch)), o_.workers);
    double loss_sum = 0;
    std::int64_t step = 0;
    loop_started_ = Clock::now();
    in_loop_ = true;
    for (; step < steps_; ++step) {
      std::optional<Batch> batch = loader.next();
      if (!batch) break;
      const std::int64_t global_step = (epoch - 1) * steps_ + step;
      torch::Tensor x = as_tensor(*batch);
      torch::Tensor y = torch::tensor(batch->labels, torch::kInt64);
      if (o_.mixup > 0 || o_.cutmix > 0) {
        // Its own stream per step: a resumed run draws the same mixes.
        constexpr std::uint64_t kMixupStream = 2'000'003ULL;
        Rng rng(mix_seed(o_.seed, kMixupStream + static_cast<std::uint64_t>(global_step)));
        MixedBatch mixed = o_.mixup > 0 ? mix_batch(x, y, train_.num_classes(), o_.mixup, rng)
                                        : cut_batch(x, y, train_.num_classes(), o_.cutmix, rng);
        x = std::move(mixed.images);
        y = std::move(mixed.targets);  // class probabilities: cross_entropy takes either form
      }
      lr_ = learning_rate(global_step);
      set_learning_rate(*optimizer_, lr_);
      {
        DropPaths drop_paths(net);  // whole again after the step, even one that throws
        if (o_.stochastic_depth > 0) {
          constexpr std::uint64_t kDepthStream = 3'000'017ULL;
          Rng rng(mix_seed(mix_seed(o_.seed, kDepthStream), static_cast<std::uint64_t>(global_step)));
          drop_paths.draw(o_.stochastic_depth, x.size(0), rng);
        }
        loss_sum += train_step(net, *optimizer_, x, y, loss_options_, o_.bf16);
      }
      if (average_) average_->update(impl_.named_state(), global_step);
      images_done_ += batch->n;
      if (callback_ && !callback_(progress(epoch, step + 1, loss_sum / (step + 1), nullptr))) {
        result_.cancelled = true;
        break;
      }
    }
    in_loop_ = false;
    loop_seconds_ += seconds_since(loop_started_);
    return loss_sum / std::max<std::int64_t>(step, 1);
  }

  // Loss, accuracy and AUC on the patient-disjoint validation split.
  EpochRecord validate_epoch(int epoch) {
    impl_.net->eval();
    impl_.weights_changed();
    const auto probs = impl_.dataset_probabilities(val_, kValidationBatch);
    const int k = static_cast<int>(model_.classes().size());
    double nll = 0, correct = 0, auc_sum = 0;
    int auc_n = 0;
    for (std::size_t i = 0; i < val_.size(); ++i) {
      const int y = val_.label(i);
      nll -= std::log(std::max(probs[i][y], 1e-12f));
      correct += (std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin()) == y;
    }
    // Binary: AUC of the positive class; multi-class: macro one-vs-rest.
    for (int c = k == 2 ? 1 : 0; c < k; ++c) {
      std::vector<double> scores;
      std::vector<int> is_c;
      for (std::size_t i = 0; i < val_.size(); ++i) scores.push_back(probs[i][c]), is_c.push_back(val_.label(i) == c);
      const double a = roc_auc(scores, is_c);
      if (std::isfinite(a)) auc_sum += a, ++auc_n;
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.val_loss = nll / val_.size();
    rec.val_auc = auc_n ? auc_sum / auc_n : std::numeric_limits<double>::quiet_NaN();
    rec.val_accuracy = correct / val_.size();
    return rec;
  }

  void remember_if_best(const EpochRecord& rec) {
    const double score = std::isfinite(rec.val_auc) ? rec.val_auc : -rec.val_loss;
    if (best_.empty() || score > best_score_) {
      best_score_ = score;
      best_ = clone_tensors(impl_.named_state());
      result_.best_epoch = rec.epoch;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
  }

  // A progress report after `step` steps of `epoch` (the epoch's end when `record` is set).
  Progress progress(int epoch, std::int64_t step, double loss, const EpochRecord* record) const {
    Progress p;
    p.epoch = epoch;
    p.epochs = o_.epochs;
    p.step = step;
    p.steps = steps_;
    p.loss = loss;
    p.learning_rate = lr_;
    // The rate is the training loop's (as a training script would print it); the time left
    // also counts validation and checkpoints, so it comes from the whole run's pace.
    const double loop = loop_seconds_ + (in_loop_ ? seconds_since(loop_started_) : 0.0);
    p.images_per_second = images_done_ / std::max(loop, 1e-9);
    const double overall = images_done_ / std::max(seconds_since(started_), 1e-9);
    const double steps_left = static_cast<double>(o_.epochs - epoch) * steps_ + static_cast<double>(steps_ - step);
    p.eta_seconds = steps_left * o_.batch_size / std::max(overall, 1e-9);
    if (record) {
      p.epoch_end = true;
      p.record = *record;
    }
    return p;
  }

  // The kept weights, the threshold, the final evaluation and the model card.
  void finish() {
    for (auto& p : impl_.net->parameters()) p.set_requires_grad(true);
    if (o_.keep == Keep::Best && !best_.empty()) impl_.copy_state(best_);
    else if (average_ && !average_->state().empty()) impl_.copy_state(average_->state());
    impl_.net->eval();
    impl_.weights_changed();
    if (result_.history.empty()) return;  // cancelled before the first epoch ended

    result_.best_val_auc = result_.history[result_.best_epoch - 1 - (result_.history.front().epoch - 1)].val_auc;
    result_.kept_epoch = o_.keep == Keep::Best ? result_.best_epoch : result_.history.back().epoch;
    // One pass over the validation split serves the temperature, the threshold and the final
    // evaluation.
    const torch::Tensor logits = impl_.dataset_logits(val_, kValidationBatch);
    std::vector<std::int64_t> labels;
    for (std::size_t i = 0; i < val_.size(); ++i) labels.push_back(val_.label(i));
    impl_.temperature = fit_temperature(logits, labels);
    const auto probs = rows_of(impl_.to_probabilities(logits));
    if (model_.classes().size() == 2) {
      std::vector<double> scores;
      std::vector<int> positive;
      for (std::size_t i = 0; i < val_.size(); ++i) scores.push_back(probs[i][1]), positive.push_back(val_.label(i) == 1);
      try {
        impl_.threshold = select_threshold(scores, positive, o_.threshold_rule, o_.target_sensitivity);
      } catch (const InvalidArgument&) {
        impl_.threshold = 0.5;  // validation holds one class only: no basis for a choice
      }
    }
    result_.threshold = impl_.threshold;
    EvalOptions eo;
    eo.split = "validation (patient-disjoint)";
    eo.bootstrap = o_.bootstrap;
    eo.seed = o_.seed;
    eo.threshold = impl_.threshold;
    Evaluator evaluator(model_.classes(), eo);
    for (std::size_t i = 0; i < val_.size(); ++i) evaluator.add(probs[i], val_.label(i), val_.patient(i));
    result_.validation = evaluator.evaluate();
    try {
      impl_.fit_ood(train_, val_, ResNetClassifier::kOodQuantile);
    } catch (const InvalidArgument&) {
      // a class with fewer than two training images: no covariance to fit; the model has no check
    }
    impl_.provenance = card().provenance_json();
  }

  ModelCard card() const {
    ModelCard c;
    c.trained = true;
    c.library_version = XRAYKIT_VERSION_STRING;
    c.train_data = train_.summary();
    c.validation_data = val_.summary();
    c.augmentation = augmenter_.to_string();
    c.options = o_;
    c.epochs_run = static_cast<int>(result_.history.size());
    c.best_epoch = result_.best_epoch;
    c.kept_epoch = result_.kept_epoch;
    c.stopped_early = result_.stopped_early;
    c.cancelled = result_.cancelled;
    c.history = result_.history;
    c.validation = ValidationFigures::from(result_.validation);
    return c;
  }

  ResNetClassifier& model_;
  ResNetClassifier::Impl& impl_;
  const Dataset& train_;
  const Dataset& val_;
  const TrainOptions& o_;
  const ProgressCallback& callback_;
  const Augmenter augmenter_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  torch::nn::functional::CrossEntropyFuncOptions loss_options_;
  std::int64_t steps_ = 0;  // per epoch
  double lr_ = 0;
  FitResult result_;
  NamedTensors best_;
  std::optional<WeightAverage> average_;  // TrainOptions::ema
  double best_score_ = -std::numeric_limits<double>::infinity();
  int bad_epochs_ = 0;
  std::int64_t images_done_ = 0;
  const Clock::time_point started_ = Clock::now();
  Clock::time_point loop_started_;  // of the current epoch's training loop
  bool in_loop_ = false;
  double loop_seconds_ = 0;  // in finished training loops
};

}  // namespace

FitResult ResNetClassifier::fit(const Dataset& train, const Dataset& val, const TrainOptions& o,
                                const ProgressCallback& callback) {
  validate(*this, train, val, o);
  const auto lock = impl_->writing();  // predictions from other threads wait for the trained model
  TorchSettings settings(threads_or_default(o.threads), o.bf16);
  return Run(*this, *impl_, train, val, o, callback).run();
}

}  // namespace xraykit
