#pragma once
// The state behind ResNetClassifier, shared by the files that implement it. Internal.
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "model/inference_net.hpp"
#include "util/file_util.hpp"
#include "model/ood.hpp"
#include "model/resnet.hpp"
#include "xraykit/classifier.hpp"

namespace xraykit {

// NamedTensors (ood.hpp): named tensors in torchvision's order (parameters, then buffers, module by module).

/// Named tensors as LibTorch pickle bytes (a dict of tensors), the form model files and
/// checkpoints store, and back. tensors_from_bytes throws ModelError naming `origin` for
/// bytes that are not such a dict.
std::vector<std::uint8_t> tensors_to_bytes(const NamedTensors& tensors);
NamedTensors tensors_from_bytes(ByteSpan bytes, const std::string& origin);

struct ResNetClassifier::Impl {
  std::string arch;
  std::vector<std::string> classes;
  ClassifierOptions options;
  double threshold = 0.5;
  double temperature = 1;  // logits are divided by it before the softmax (temperature scaling)
  std::string provenance = "{}";
  mutable ResNet net{nullptr};  // forward() is not const in LibTorch; eval-mode inference does not mutate it
  Inference inference = Inference::Fast;
  OodCheck ood;  // unfitted in models from before the check, and after the weights change

  // Readers (prediction, evaluation, explanation, saving) share the model; writers (fit, loading
  // weights, setting the threshold, provenance or inference mode) have it alone. Public entry
  // points take the lock once and call unlocked internals, so nothing locks twice.
  mutable std::shared_mutex use;
  std::shared_lock<std::shared_mutex> reading() const { return std::shared_lock<std::shared_mutex>(use); }
  std::unique_lock<std::shared_mutex> writing() { return std::unique_lock<std::shared_mutex>(use); }

  // The fast inference copy of `net`, built on first use after the weights last changed.
  mutable std::mutex fast_mutex;
  mutable std::shared_ptr<const InferenceNet> fast;

  /// initialise = false when weights are loaded right after (skips torchvision's initialisation).
  Impl(const std::string& arch, std::vector<std::string> classes, const ClassifierOptions& options, bool initialise = true);

  /// The network's logits (float32): the fast copy or the exact fp32 network. On the exact
  /// path a single image below 200 px is run as a batch of two: LibTorch 1.13 sends batch-1
  /// convolutions on small activations to its slow im2col path instead of oneDNN, which made
  /// one 128 px image 5x slower than two (bench: 91 vs 18 ms). The fast copy calls oneDNN
  /// directly and needs no such help (1.7 ms for one 128 px image).
  /// `pooled` (optional) receives the pooled last-stage features (N x D, float32).
  torch::Tensor forward(const torch::Tensor& batch, Inference mode, torch::Tensor* pooled = nullptr) const;
  /// InvalidArgument unless t is in [0, 1].
  void set_threshold(double t);
  /// Drops the fast copy: call after any change of the weights.
  void weights_changed();
  /// Softmax probabilities (of the logits over `temperature`) of an NCHW float batch, in eval
  /// mode without gradients.
  torch::Tensor probabilities(const torch::Tensor& batch, torch::Tensor* pooled = nullptr) const;
  /// softmax(logits / temperature): the one place logits become probabilities.
  torch::Tensor to_probabilities(const torch::Tensor& logits) const;
  /// Any image (1 or 3 channels, any size) as this model's square uint8 input.
  Image prepare(const Image& image, std::size_t index) const;
  /// Prepared squares to a normalised NCHW batch.
  torch::Tensor to_batch(const std::vector<Image>& squares) const;
  Prediction make_prediction(const float* probs, float ood_score) const;
  /// Logits (N x K, float32) for every sample of a dataset, in batches (no lock taken).
  torch::Tensor dataset_logits(const Dataset& data, int batch_size) const;
  /// Probabilities for every sample of a dataset, in batches (no lock taken); tta as
  /// squares_probabilities'.
  std::vector<std::vector<float>> dataset_probabilities(const Dataset& data, int batch_size, bool tta = false) const;
  /// InvalidArgument unless the dataset's images are this model's input size and channels.
  void check_input(const Dataset& data) const;
  /// Pooled features for every sample of a dataset (N x D, float32; no lock taken).
  torch::Tensor dataset_features(const Dataset& data, int batch_size) const;
  /// Fits `ood` (see ResNetClassifier::fit_ood).
  void fit_ood(const Dataset& known, const Dataset& held_out, double quantile);
  /// Probabilities (N x K) of prepared squares: one forward pass, or with test-time
  /// augmentation the mean over the squares and kTtaCopies lightly augmented copies at fixed seeds.
  /// `pooled` (optional) receives the features of the squares themselves.
  torch::Tensor squares_probabilities(const std::vector<Image>& squares, bool tta, torch::Tensor* pooled = nullptr) const;
  /// Predictions for prepared squares (see squares_probabilities).
  std::vector<Prediction> predict_squares(const std::vector<Image>& squares, bool tta) const;

  /// name -> tensor (parameters and buffers), torchvision names.
  NamedTensors named_state() const;
  void copy_state(const NamedTensors& state);
  std::vector<std::uint8_t> weights_bytes(Precision precision = Precision::Float32) const;
  void load_weights_bytes(ByteSpan bytes, const std::string& origin);
};

/// The rows of an N x K float tensor as vectors.
std::vector<std::vector<float>> rows_of(const torch::Tensor& t);

/// Tensor view of a Batch's floats (no copy; valid while the batch lives).
torch::Tensor as_tensor(Batch& batch);

}  // namespace xraykit
