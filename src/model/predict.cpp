// ResNetClassifier: prediction (images, files, datasets) and evaluation.
#include <algorithm>

#include <fmt/format.h>

#include "model/classifier_impl.hpp"
#include "model/calibration.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/error.hpp"

namespace xraykit {

Prediction ResNetClassifier::predict(const Image& image, bool tta) const { return predict(std::vector<Image>{image}, tta)[0]; }

Prediction ResNetClassifier::predict_file(const std::string& path, bool tta) const {
  return predict(load_image(path, decode_options()), tta);
}

DecodeOptions ResNetClassifier::decode_options() const {
  DecodeOptions o;
  o.channels = channels();
  o.min_side = image_size();
  return o;
}

torch::Tensor ResNetClassifier::Impl::squares_probabilities(const std::vector<Image>& squares, bool tta,
                                                           torch::Tensor* pooled) const {
  torch::Tensor probs = probabilities(to_batch(squares), pooled);
  if (!tta) return probs;
  // Lightly shifted, zoomed and rotated copies at fixed seeds: repeatable.
  const Augmenter light("light");
  for (std::uint64_t k = 1; k <= static_cast<std::uint64_t>(kTtaCopies); ++k) {
    std::vector<Image> copies;
    for (const auto& sq : squares) copies.push_back(light.apply(sq, k));
    probs = probs + probabilities(to_batch(copies));
  }
  return probs / (1 + kTtaCopies);
}

std::vector<Prediction> ResNetClassifier::Impl::predict_squares(const std::vector<Image>& squares, bool tta) const {
  if (squares.empty()) return {};
  torch::Tensor pooled;
  const torch::Tensor probs = squares_probabilities(squares, tta, &pooled);
  const std::vector<float> ood_scores = ood.scores(pooled);  // of the image itself, not the TTA copies
  std::vector<Prediction> out;
  for (int64_t i = 0; i < probs.size(0); ++i)
    out.push_back(make_prediction(probs[i].contiguous().data_ptr<float>(), ood_scores[static_cast<std::size_t>(i)]));
  return out;
}

std::vector<Prediction> ResNetClassifier::predict(const std::vector<Image>& images, bool tta) const {
  const auto lock = impl_->reading();
  std::vector<Prediction> out;
  for (std::size_t begin = 0; begin < images.size(); begin += kPredictBatch) {
    std::vector<Image> squares;
    for (std::size_t i = begin; i < std::min(images.size(), begin + kPredictBatch); ++i)
      squares.push_back(impl_->prepare(images[i], i));
    for (auto& p : impl_->predict_squares(squares, tta)) out.push_back(std::move(p));
  }
  return out;
}

std::vector<FilePrediction> ResNetClassifier::predict_files(const std::vector<std::string>& paths, bool tta,
                                                            const std::function<void(const FilePrediction&)>& on_result) const {
  const DecodeOptions decode = decode_options();
  const auto lock = impl_->reading();
  std::vector<FilePrediction> out(paths.size());
  for (std::size_t begin = 0; begin < paths.size(); begin += kPredictBatch) {
    const std::size_t end = std::min(paths.size(), begin + kPredictBatch);
    // Decoding runs on Torch's own threads between forward passes: a separate decoding thread
    // fought the network's two threads for the two cores and was slower (730 vs 850 img/s).
    std::vector<Image> squares(end - begin);
    at::parallel_for(begin, end, 1, [&](int64_t from, int64_t to) {
      for (auto i = static_cast<std::size_t>(from); i < static_cast<std::size_t>(to); ++i) {
        out[i].path = paths[i];
        try {
          squares[i - begin] = impl_->prepare(load_image(paths[i], decode), i);
          out[i].ok = true;
        } catch (const Error& e) {
          out[i].error = e.what();
          out[i].failure = std::current_exception();
        }
      }
    });
    std::vector<Image> decoded;
    for (std::size_t i = begin; i < end; ++i)
      if (out[i].ok) decoded.push_back(std::move(squares[i - begin]));
    std::vector<Prediction> preds = impl_->predict_squares(decoded, tta);
    for (std::size_t i = begin, k = 0; i < end; ++i) {
      if (out[i].ok) out[i].prediction = std::move(preds[k++]);
      if (on_result) on_result(out[i]);
    }
  }
  return out;
}

std::vector<float> ResNetClassifier::logits(const std::vector<float>& nchw, int n) const {
  const int s = image_size(), c = channels();
  if (n < 1 || nchw.size() != static_cast<std::size_t>(n) * c * s * s)
    throw InvalidArgument(fmt::format("logits: {} values do not make {} images of {}x{}x{}", nchw.size(), n, c, s, s));
  const torch::Tensor x = torch::from_blob(const_cast<float*>(nchw.data()), {n, c, s, s}, torch::kFloat32);
  const auto lock = impl_->reading();
  const torch::Tensor y = impl_->forward(x, Inference::Exact).contiguous();
  return {y.data_ptr<float>(), y.data_ptr<float>() + y.numel()};
}

void ResNetClassifier::Impl::check_input(const Dataset& data) const {
  if (data.image_size() != options.image_size || data.channels() != options.channels)
    throw InvalidArgument(fmt::format("dataset images are {}x{}x{}, the model takes {}x{}x{}", data.image_size(),
                                      data.image_size(), data.channels(), options.image_size, options.image_size, options.channels));
}

namespace {

// Calls fn with the positions of each batch of `data`, in order.
template <class Fn>
void for_each_batch(const Dataset& data, int batch_size, Fn fn) {
  const auto step = static_cast<std::size_t>(std::max(1, batch_size));
  for (std::size_t begin = 0; begin < data.size(); begin += step) {
    std::vector<std::size_t> pos;
    for (std::size_t i = begin; i < std::min(data.size(), begin + step); ++i) pos.push_back(i);
    fn(pos);
  }
}

}  // namespace

torch::Tensor ResNetClassifier::Impl::dataset_logits(const Dataset& data, int batch_size) const {
  check_input(data);
  if (data.empty()) return torch::empty({0, static_cast<std::int64_t>(classes.size())});
  std::vector<torch::Tensor> parts;
  for_each_batch(data, batch_size, [&](const std::vector<std::size_t>& pos) {
    Batch b = data.batch(pos, options.normalization);
    parts.push_back(forward(as_tensor(b), inference).clone());
  });
  return torch::cat(parts);
}

std::vector<std::vector<float>> ResNetClassifier::Impl::dataset_probabilities(const Dataset& data, int batch_size,
                                                                               bool tta) const {
  if (!tta) return rows_of(to_probabilities(dataset_logits(data, batch_size)));
  check_input(data);
  // The augmented copies are made from images, so this takes predict's route (images, then
  // to_batch) rather than Dataset::batch: both normalise through normalize_into.
  std::vector<std::vector<float>> out;
  for_each_batch(data, batch_size, [&](const std::vector<std::size_t>& pos) {
    std::vector<Image> squares;
    for (const std::size_t i : pos) squares.push_back(data.image(i));
    for (auto& row : rows_of(squares_probabilities(squares, true))) out.push_back(std::move(row));
  });
  return out;
}

torch::Tensor ResNetClassifier::Impl::dataset_features(const Dataset& data, int batch_size) const {
  check_input(data);
  std::vector<torch::Tensor> parts;
  for_each_batch(data, batch_size, [&](const std::vector<std::size_t>& pos) {
    Batch b = data.batch(pos, options.normalization);
    torch::Tensor pooled;
    forward(as_tensor(b), inference, &pooled);
    parts.push_back(pooled.clone());
  });
  return torch::cat(parts);
}

void ResNetClassifier::Impl::fit_ood(const Dataset& known, const Dataset& held_out, double quantile) {
  const torch::Tensor features = dataset_features(known, 64);
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < known.size(); ++i) labels.push_back(known.label(i));
  OodCheck check = OodCheck::fit(features, labels, static_cast<int>(classes.size()));
  check.set_limit(check.distances(held_out.empty() ? features : dataset_features(held_out, 64)), quantile);
  ood = std::move(check);
}

void ResNetClassifier::fit_ood(const Dataset& known, const Dataset& held_out, double quantile) {
  if (known.classes() != classes() || (!held_out.empty() && held_out.classes() != classes()))
    throw InvalidArgument("fit_ood: the dataset's classes differ from the model's");
  const auto lock = impl_->writing();
  impl_->fit_ood(known, held_out, quantile);
}

std::vector<float> ResNetClassifier::ood_scores(const Dataset& data) const {
  const auto lock = impl_->reading();
  if (data.empty()) return {};
  return impl_->ood.scores(impl_->dataset_features(data, 64));
}

double ResNetClassifier::calibrate(const Dataset& held_out) {
  if (held_out.classes() != classes()) throw InvalidArgument("calibrate: the dataset's classes differ from the model's");
  const auto lock = impl_->writing();
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < held_out.size(); ++i) labels.push_back(held_out.label(i));
  impl_->temperature = fit_temperature(impl_->dataset_logits(held_out, 64), labels);
  return impl_->temperature;
}

bool ResNetClassifier::has_ood_check() const { return impl_->ood.fitted(); }

std::vector<std::vector<float>> ResNetClassifier::predict_proba(const Dataset& data, int batch_size, bool tta) const {
  const auto lock = impl_->reading();
  return impl_->dataset_probabilities(data, batch_size, tta);
}

Evaluation ResNetClassifier::evaluate(const Dataset& data, EvalOptions options, bool tta) const {
  if (data.classes() != classes()) throw InvalidArgument("the dataset's classes differ from the model's");
  if (classes().size() == 2) options.threshold = threshold();
  Evaluator ev(classes(), options);
  const auto lock = impl_->reading();
  const auto probs = impl_->dataset_probabilities(data, 64, tta);
  for (std::size_t i = 0; i < data.size(); ++i) ev.add(probs[i], data.label(i), data.patient(i));
  return ev.evaluate();
}

}  // namespace xraykit
