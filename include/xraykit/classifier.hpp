#pragma once
// ResNetClassifier: a torchvision-compatible ResNet that trains, predicts, saves and loads.
//
// What it is for: the model of xraykit. ResNet-18/34/50/101/152 with torchvision's module
// tree and parameter names ("layer1.0.conv1.weight", ...), 1 or 3 input channels, any
// number of classes. It loads torchvision state_dicts saved by Python's torch.save (for
// transfer learning), and saves itself as one self-describing file (weights, architecture,
// classes, input size, normalisation, decision threshold, training provenance).
//
// Ownership: owns its network; movable, not copyable.
// Thread safety: const members (predict*, evaluate, explain, save, state_dict, card) may run
// from several threads at once. fit, load_state_dict, load_torchvision and set_* may too: the
// model locks itself, so they wait for running readers and readers wait for them (a
// prediction asked for during fit() is answered with the trained model). The getters
// returning references (provenance(), classes(), ...) are not guarded against a concurrent
// set_*. Moving or destroying the model while another thread uses it is the caller's error.
// Errors: InvalidArgument (unknown architecture, bad options or images), ModelError
// (a file that is not an xraykit model or is truncated, weights that do not fit), IoError
// (unreadable or unwritable paths). A cancelled fit is not an error: it returns with
// FitResult::cancelled set.
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "xraykit/dataset.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/export.hpp"
#include "xraykit/image.hpp"
#include "xraykit/metrics.hpp"

namespace xraykit {

struct ModelCard;  // xraykit/model_card.hpp

/// True where the CPU computes bfloat16 natively (AVX512-BF16): there Fast inference and
/// training run in bfloat16 by default.
XRAYKIT_API bool cpu_has_fast_bf16();

struct ClassifierOptions {
  int image_size = 224;
  int channels = 1;
  Geometry geometry = Geometry::Squash;  ///< how predict() brings other shapes to the input
  Normalization normalization;
  std::uint64_t seed = 42;  ///< weight initialisation
};

/// One named tensor of the network, for moving weights to and from other frameworks.
struct TensorData {
  std::string name;                 ///< torchvision name, e.g. "layer1.0.bn1.running_mean"
  std::vector<std::int64_t> shape;
  std::string dtype;                ///< "float32" or "int64"
  std::vector<std::uint8_t> bytes;  ///< contiguous, native byte order
};

struct Prediction {
  int label = 0;
  std::string class_name;
  std::vector<float> probabilities;  ///< one per class
  /// How unlike the training X-rays the image is: its distance from them in the network's
  /// feature space divided by the model's limit (see ResNetClassifier::fit_ood). Above 1 the
  /// image is not a chest X-ray like those the model knows (a photo, another body part, a
  /// blank or broken image): the probabilities above mean nothing then. NaN when the model
  /// has no fitted check (files from before it).
  float ood_score = std::numeric_limits<float>::quiet_NaN();
  /// ood_score > 1: answer "not a chest X-ray / uncertain" instead of a class.
  bool out_of_distribution() const { return ood_score > 1; }
};

/// The outcome of predict_files() for one file: a prediction, or why the file was not classified.
struct FilePrediction {
  std::string path;
  bool ok = false;
  Prediction prediction;  ///< valid when ok
  std::string error;      ///< the reason when !ok (names the file)
  std::exception_ptr failure;  ///< the exception behind `error`, for rethrowing it as it was
};

/// The label shown instead of a class for an image the out-of-distribution check refuses.
inline constexpr const char* kUncertainLabel = "UNCERTAIN";

/// The label to show for a prediction: its class, or kUncertainLabel when out of distribution
/// (its probabilities then mean nothing).
inline std::string shown_label(const Prediction& p) {
  return p.out_of_distribution() ? std::string(kUncertainLabel) : p.class_name;
}

/// Writes predict_files() results as CSV, atomically: `path,label,p_<class>...,ood_score,error`,
/// one row per file (label per shown_label(); a failed file has only its path and error).
/// A path that a spreadsheet would run as a formula (starting with = + - @) gets a leading
/// apostrophe. IoError naming the path.
XRAYKIT_API void save_predictions_csv(const std::string& path, const std::vector<std::string>& classes,
                                      const std::vector<FilePrediction>& results);

/// The pieces of that CSV, for callers that assemble it elsewhere (the web page gathers rows
/// from many requests): the header line and one row, each ending in a newline.
XRAYKIT_API std::string predictions_csv_header(const std::vector<std::string>& classes);
XRAYKIT_API std::string prediction_csv_row(const FilePrediction& result, std::size_t num_classes);

/// Why the model decided: a Grad-CAM map (Selvaraju et al. 2017) of one class.
struct Explanation {
  int class_index = 0;            ///< the class explained
  Prediction prediction;          ///< the model's prediction for the image
  int size = 0;                   ///< the map is size x size (the model's input)
  std::vector<float> heatmap;     ///< row-major, in [0, 1]; 1 = most evidence for the class
  Image input;                    ///< the image as the model saw it (size x size)
  Image overlay;                  ///< heatmap in colour blended over the image (RGB)
  std::vector<std::uint8_t> overlay_png;  ///< the overlay encoded as PNG
};

/// How predictions are computed.
enum class Inference {
  /// Default: batch-norm folded into the convolutions, oneDNN layouts prepared once, and bfloat16 on CPUs
  /// with AVX512-BF16 (fp32 elsewhere). Probabilities agree with Exact to about 0.01.
  Fast,
  /// The fp32 network as trained, as torchvision computes it (what logits() always uses).
  Exact,
};

enum class Balance {
  None,
  Weights,  ///< class-weighted loss (balanced weights)
  Sampler,  ///< draw training samples with probability inversely proportional to class size
};

enum class Optimizer {
  AdamW,  ///< "adamw": Adam with decoupled weight decay
  Sgd,    ///< "sgd": SGD with momentum
};

/// Which weights fit() keeps at the end.
enum class Keep {
  Best,  ///< the epoch with the best validation AUC
  Last,  ///< the last epoch (the end of the learning-rate schedule)
};

struct TrainOptions {
  int epochs = 10;
  int batch_size = 32;
  Optimizer optimizer = Optimizer::AdamW;
  double learning_rate = 1e-3;
  double weight_decay = 1e-4;
  double momentum = 0.9;
  double warmup_epochs = 1;  ///< linear warm-up, then cosine decay to zero
  double label_smoothing = 0;
  /// Mixup: each batch blended with a shuffled copy of itself (images and targets) by a
  /// weight drawn from Beta(mixup, mixup); 0 = off, 0.2 is usual, else in
  /// [kMixupMin, kMixupMax].
  double mixup = 0;
  /// Below 0.01 both of the Beta draw's gamma variates underflow too often to be a Beta draw.
  static constexpr double kMixupMin = 0.01;
  static constexpr double kMixupMax = 10;
  /// CutMix: each image gets a box of a shuffled partner's, its targets mixed by the box's
  /// share of the pixels, the share drawn from Beta(cutmix, cutmix); 0 = off, 1 is usual,
  /// else in [kMixupMin, kMixupMax]. Not together with mixup.
  double cutmix = 0;
  /// Stochastic depth: while training, each residual block's branch is skipped for some
  /// images of each batch, the last block's with this probability and earlier ones' in
  /// proportion to their depth; 0 = off, else in (0, kStochasticDepthMax] (0.1-0.2 is usual).
  double stochastic_depth = 0;
  static constexpr double kStochasticDepthMax = 0.5;
  /// Exponential moving average of the weights: the averaged weights are validated, kept and
  /// saved instead of the last step's. `ema` is the old average's weight per step, ramped up
  /// as min(ema, (1 + step) / (10 + step)); 0 = off, else in (0, 1) (0.998 is usual).
  double ema = 0;
  Balance balance = Balance::Weights;
  int freeze_epochs = 0;  ///< train only `fc` for the first K epochs (transfer learning)
  int patience = 0;       ///< stop after this many epochs without a better validation AUC; 0 = off
  Keep keep = Keep::Last;  ///< validation AUC saturates near 1 and picks an arbitrary epoch
  /// Augmenter spec. Blur on half the images raised specificity under the shift benchmark in
  /// 5 of 5 cross-validation folds (docs/results.md).
  std::string augment = "robust,blur=2";
  int workers = 1;        ///< augmentation threads
  int threads = 0;        ///< Torch intra-op threads; 0 = OMP_NUM_THREADS if set, else all cores
  std::uint64_t seed = 42;
  std::string checkpoint;  ///< written atomically after every epoch; empty = none
  bool resume = false;     ///< continue from `checkpoint` if it exists
  /// bfloat16 autocast (fp32 master weights and loss). On by default where the CPU computes
  /// bf16 natively (AVX512-BF16): about twice as fast there, and the same accuracy on the
  /// real data (docs/results.md, R4 against R5); off elsewhere, where it would be slower.
  bool bf16 = cpu_has_fast_bf16();
  ThresholdRule threshold_rule = ThresholdRule::Balanced;  ///< binary: chosen at the end
  double target_sensitivity = 0.95;
  std::int64_t max_steps_per_epoch = 0;  ///< 0 = whole epochs; else cut epochs short (quick trials)
  int bootstrap = 1000;    ///< resamples for the final validation intervals
};

/// Names of the option values ("none", "weights", "sampler"; "best", "last"; "adamw", "sgd") and back;
/// the parsers throw InvalidArgument naming the text and the choices.
XRAYKIT_API std::string to_string(Balance balance);
XRAYKIT_API Balance parse_balance(const std::string& text);
XRAYKIT_API std::string to_string(Keep keep);
XRAYKIT_API Keep parse_keep(const std::string& text);
XRAYKIT_API std::string to_string(Optimizer optimizer);
XRAYKIT_API Optimizer parse_optimizer(const std::string& text);

/// Reported during fit(); `epoch_end` marks the report after an epoch's validation.
struct Progress {
  int epoch = 0, epochs = 0;
  std::int64_t step = 0, steps = 0;  ///< within the epoch
  double loss = 0;                   ///< running mean of the epoch's training loss
  double learning_rate = 0;
  double images_per_second = 0;      ///< in the training loops so far (augmentation and waits
                                     ///< for batches included; validation and checkpoints not)
  double eta_seconds = 0;            ///< for the remaining epochs, validation included
  bool epoch_end = false;
  EpochRecord record;                ///< valid when epoch_end
};

/// Return false to stop training cleanly after the current step.
using ProgressCallback = std::function<bool(const Progress&)>;

struct FitResult {
  std::vector<EpochRecord> history;
  int best_epoch = 0;
  double best_val_auc = 0;
  int kept_epoch = 0;          ///< the epoch whose weights the model holds (see TrainOptions::keep)
  bool stopped_early = false;  ///< by patience
  bool cancelled = false;      ///< by the callback
  double threshold = 0.5;
  Evaluation validation;       ///< the kept (best) model on the validation split
};

class XRAYKIT_API ResNetClassifier {
 public:
  /// arch: "resnet18", "resnet34", "resnet50", "resnet101" or "resnet152".
  ResNetClassifier(const std::string& arch, std::vector<std::string> classes, const ClassifierOptions& options = {});
  ~ResNetClassifier();
  ResNetClassifier(ResNetClassifier&&) noexcept;
  ResNetClassifier& operator=(ResNetClassifier&&) noexcept;

  /// Reads a file written by save(); needs no other argument.
  static ResNetClassifier load(const std::string& path);
  /// How save() stores the weights.
  enum class Precision {
    Float32,  ///< as trained
    /// Convolution and linear weights as IEEE half floats (batch-norm and the rest stay
    /// float32): half the file, for shipping. Loading converts back to float32; predictions
    /// move by about 1e-3 (tested).
    Float16,
  };
  /// Writes the model atomically.
  void save(const std::string& path, Precision precision = Precision::Float32) const;

  /// Loads a torchvision state_dict (torch.save(model.state_dict(), path)). A 3-channel
  /// conv1 is summed over its input channels for a 1-channel model; a 1-channel one is
  /// spread over 3. An `fc` of another class count is left freshly initialised. Returns a
  /// note of what was adapted. ModelError if the weights belong to another architecture.
  std::string load_torchvision(const std::string& path);

  std::vector<TensorData> state_dict() const;
  /// Replaces the weights; every name must exist with the same shape (ModelError otherwise).
  void load_state_dict(const std::vector<TensorData>& tensors);

  const std::string& arch() const;
  const std::vector<std::string>& classes() const;
  int image_size() const;
  int channels() const;
  const Normalization& normalization() const;
  /// Binary models: P(classes()[1]) >= threshold is called classes()[1].
  double threshold() const;
  void set_threshold(double threshold);
  /// Temperature scaling (Guo et al. 2017): probabilities are softmax(logits / T). fit() sets
  /// T on the validation split (the T that minimises its negative log-likelihood), so that
  /// P = 0.9 means right about 9 times in 10 there; 1 for models from before. Binary labels
  /// at threshold 0.5 do not depend on T. InvalidArgument outside [0.01, 100].
  double temperature() const;
  void set_temperature(double t);
  /// Sets the temperature from labelled images the network did not learn from (fit() does
  /// this with its validation split; a site can recalibrate on its own labelled images) and
  /// returns it. InvalidArgument for a dataset of other classes or input size.
  double calibrate(const Dataset& held_out);
  /// Training provenance as JSON ("{}" before training): ModelCard's stored form.
  const std::string& provenance() const;
  /// InvalidArgument unless `json` reads as a ModelCard's provenance.
  void set_provenance(const std::string& json);
  /// Inference mode of predict*, evaluate and explain's prediction (not saved with the model).
  void set_inference(Inference mode);
  Inference inference() const;
  /// What the model is and how it was trained (see model_card.hpp).
  ModelCard card() const;
  /// card().to_text(): the human-readable model card.
  std::string describe() const;

  /// Any size, grey or colour: converted and resized to the model's input first.
  /// tta: average over the image and kTtaCopies lightly augmented copies.
  Prediction predict(const Image& image, bool tta = false) const;
  Prediction predict_file(const std::string& path, bool tta = false) const;
  /// How to decode a file for this model: its channels, and JPEGs decoded at reduced scale
  /// where that still leaves at least the input size (see DecodeOptions::min_side).
  DecodeOptions decode_options() const;
  /// Runs the network in batches of kPredictBatch, however many images are passed.
  std::vector<Prediction> predict(const std::vector<Image>& images, bool tta = false) const;
  /// Classifies files in batches of kPredictBatch: each batch is decoded on Torch's threads,
  /// all cores at once, then run through the network (a decoding thread beside the network
  /// was slower on 2 cores). A file that cannot be read gets its reason and does not
  /// stop the rest. `on_result` (optional) sees each result in input order as soon as its batch is
  /// done (for printing as it goes); the returned vector holds them all, in input order.
  std::vector<FilePrediction> predict_files(const std::vector<std::string>& paths, bool tta = false,
                                            const std::function<void(const FilePrediction&)>& on_result = {}) const;
  /// Images per forward pass in predict*: on 2 cores 32 gave the most images per second
  /// (bench_model BM_Predict: 64 was slower).
  static constexpr int kPredictBatch = 32;
  /// Test-time augmentation's lightly augmented copies per image (so 1 + kTtaCopies passes).
  static constexpr int kTtaCopies = 4;
  /// Raw network outputs for n already-normalised images in NCHW float layout
  /// (n * channels * size * size values); n * classes logits, row-major. Always the exact
  /// fp32 network, so that outputs match torchvision's.
  std::vector<float> logits(const std::vector<float>& nchw, int n) const;
  /// Grad-CAM for `class_index` (-1: the predicted class) at `layer` ("layer1" ... "layer4",
  /// the last convolutional stage by default). InvalidArgument for a bad class or layer.
  Explanation explain(const Image& image, int class_index = -1, const std::string& layer = "layer4") const;

  /// Fits the out-of-distribution check (Prediction::ood_score); fit() does this with its
  /// training and validation splits. `known`: images the network learnt from (one feature
  /// mean per class and a shared covariance). `held_out`: other images of the same kind that
  /// it did not learn from (other patients); the limit is the `quantile` of their distances,
  /// so about 1 - quantile of new images like them are flagged. Training images sit closer
  /// to their means than new ones, so a limit taken from them flags too many new images
  /// (with 160 training images, half of the new ones); an empty `held_out` uses `known` all
  /// the same. Changing the weights (fit, load_state_dict, load_torchvision) drops the
  /// check until it is fitted again. InvalidArgument for datasets of other classes or input
  /// size, or a class of `known` with fewer than two images.
  void fit_ood(const Dataset& known, const Dataset& held_out, double quantile = kOodQuantile);
  /// fit()'s quantile: 1 in 200 new X-rays like the validation split's are flagged.
  static constexpr double kOodQuantile = 0.995;
  bool has_ood_check() const;
  /// Prediction::ood_score for every sample of a dataset (NaN without a fitted check).
  std::vector<float> ood_scores(const Dataset& data) const;

  /// Probabilities for every sample of a dataset (which must match the model's input);
  /// tta as predict's.
  std::vector<std::vector<float>> predict_proba(const Dataset& data, int batch_size = 64, bool tta = false) const;
  /// Predicts and evaluates a labelled dataset at the model's threshold; tta as predict's.
  Evaluation evaluate(const Dataset& data, EvalOptions options = {}, bool tta = false) const;

  /// Trains on `train`, validating every epoch on `val` (which should be a patient-disjoint
  /// split). Keeps the weights of the epoch TrainOptions::keep names, then chooses
  /// the decision threshold on `val` (binary models) and records provenance.
  FitResult fit(const Dataset& train, const Dataset& val, const TrainOptions& options = {},
                const ProgressCallback& callback = {});

  struct Impl;

 private:
  explicit ResNetClassifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Torch intra-op threads for the whole process (n <= 0: OMP_NUM_THREADS if set, else one per
/// core). Without a call, the first classifier created sets that default: LibTorch on its own
/// may start with a single thread. fit() uses TrainOptions::threads meanwhile.
XRAYKIT_API void set_num_threads(int n);
XRAYKIT_API int num_threads();


/// The file of a model shipped with xraykit ("pneumonia": NORMAL/PNEUMONIA, see its card and
/// docs/results.md). Looks in $XRAYKIT_MODELS, then share/xraykit/models beside the library
/// (build trees and relocated installs), then the install prefix's. IoError naming every
/// place tried when none holds it; InvalidArgument for a name that is not a plain word.
XRAYKIT_API std::string shipped_model_path(const std::string& name = "pneumonia");

/// Number of trainable parameters of an architecture (for auto-selection and docs).
XRAYKIT_API std::int64_t resnet_parameter_count(const std::string& arch, int channels, int classes);

}  // namespace xraykit
