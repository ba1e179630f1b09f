// ResNetClassifier: construction, weights in and out.
#include "model/classifier_impl.hpp"

#include <cmath>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include <c10/core/impl/LocalDispatchKeySet.h>

#include "model/torch_pickle.hpp"
#include "util/threads.hpp"
#include "xraykit/error.hpp"
#include "xraykit/model_card.hpp"

namespace xraykit {

namespace {
std::once_flag threads_defaulted;

std::int64_t count_parameters(const torch::nn::Module& net) {
  std::int64_t n = 0;
  for (const auto& p : net.parameters()) n += p.numel();
  return n;
}
}  // namespace

void set_num_threads(int n) {
  std::call_once(threads_defaulted, [] {});  // an explicit choice wins over the default
  torch::set_num_threads(threads_or_default(n));
}

int num_threads() { return torch::get_num_threads(); }

ResNetClassifier::Impl::Impl(const std::string& arch_, std::vector<std::string> classes_, const ClassifierOptions& options_,
                             bool initialise)
    : arch(arch_), classes(std::move(classes_)), options(options_) {
  if (classes.size() < 2) throw InvalidArgument(fmt::format("a classifier needs at least two classes, got {}", classes.size()));
  if (options.channels != 1 && options.channels != 3)
    throw InvalidArgument(fmt::format("channels must be 1 or 3, not {}", options.channels));
  if (options.image_size < 32 || options.image_size > 1024)
    throw InvalidArgument(fmt::format("image_size must be in [32, 1024], not {}", options.image_size));
  const auto& n = options.normalization;
  for (const auto* values : {&n.mean, &n.stddev})
    if (values->size() != 1 && values->size() != static_cast<std::size_t>(options.channels))
      throw InvalidArgument(fmt::format("normalisation needs 1 or {} values per statistic, not {}", options.channels, values->size()));
  for (float m : n.mean)
    if (!std::isfinite(m)) throw InvalidArgument("normalisation mean is not a finite number");
  for (float sd : n.stddev)
    if (!(sd > 0) || !std::isfinite(sd)) throw InvalidArgument(fmt::format("normalisation std must be positive, not {}", sd));
  const int depth = resnet_depth(arch);
  std::call_once(threads_defaulted, [] {
    torch::set_num_threads(default_threads());
  });
  torch::manual_seed(options.seed);
  net = ResNet(depth, options.channels, static_cast<int64_t>(classes.size()), initialise);
  net->eval();
}

torch::Tensor as_tensor(Batch& b) {
  return torch::from_blob(b.images.data(), {b.n, b.channels, b.height, b.width}, torch::kFloat32);
}

torch::Tensor ResNetClassifier::Impl::forward(const torch::Tensor& batch, Inference mode, torch::Tensor* pooled) const {
  torch::NoGradGuard no_grad;
  // Inside fit() autocast is on; predictions there (validation, the threshold) must come out
  // exactly as they will after training, so autocast stays out of inference.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
  std::shared_ptr<const InferenceNet> engine;
  if (mode == Inference::Fast) {
    std::lock_guard<std::mutex> lock(fast_mutex);
    if (!fast) fast = std::make_shared<const InferenceNet>(net, cpu_has_fast_bf16());
    engine = fast;
  }
  auto run = [&](const torch::Tensor& x) {
    if (engine) return engine->forward(x, pooled);
    const torch::Tensor f = torch::adaptive_avg_pool2d(net->features(x), {1, 1}).flatten(1).to(torch::kFloat32);
    if (pooled) *pooled = f;
    return net->fc(f).to(torch::kFloat32);
  };
  if (!engine && batch.size(0) == 1 && options.image_size < 200) {
    const torch::Tensor logits = run(torch::cat({batch, batch})).slice(0, 0, 1);
    if (pooled) *pooled = pooled->slice(0, 0, 1);
    return logits;
  }
  return run(batch);
}

void ResNetClassifier::Impl::weights_changed() {
  std::lock_guard<std::mutex> lock(fast_mutex);
  fast.reset();
  ood = OodCheck();  // fitted to features the old weights made
}

torch::Tensor ResNetClassifier::Impl::probabilities(const torch::Tensor& batch, torch::Tensor* pooled) const {
  return to_probabilities(forward(batch, inference, pooled));
}

torch::Tensor ResNetClassifier::Impl::to_probabilities(const torch::Tensor& logits) const {
  return torch::softmax(logits / temperature, 1).contiguous();
}

std::vector<std::vector<float>> rows_of(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat32).contiguous();
  std::vector<std::vector<float>> out;
  for (std::int64_t i = 0; i < c.size(0); ++i) out.emplace_back(c[i].data_ptr<float>(), c[i].data_ptr<float>() + c.size(1));
  return out;
}

Image ResNetClassifier::Impl::prepare(const Image& img, std::size_t index) const {
  const int c = options.channels;
  if (img.width <= 0 || img.height <= 0 || (img.channels != 1 && img.channels != 3) ||
      img.pixels.size() != static_cast<std::size_t>(img.width) * img.height * img.channels)
    throw InvalidArgument(fmt::format("image {}: size, channels (1 or 3) and pixel buffer disagree", index));
  if (img.channels == c) return fit_square(img, options.image_size, options.geometry);
  Image conv{img.width, img.height, c, {}};
  const std::size_t n = static_cast<std::size_t>(img.width) * img.height;
  conv.pixels.resize(n * c);
  for (std::size_t p = 0; p < n; ++p) {
    if (c == 1) {  // the same weights as stb_image's luminance
      const std::uint8_t* q = &img.pixels[p * 3];
      conv.pixels[p] = static_cast<std::uint8_t>((q[0] * 77 + q[1] * 150 + q[2] * 29) >> 8);
    } else {
      std::fill_n(&conv.pixels[p * 3], 3, img.pixels[p]);
    }
  }
  return fit_square(conv, options.image_size, options.geometry);
}

torch::Tensor ResNetClassifier::Impl::to_batch(const std::vector<Image>& squares) const {
  const int s = options.image_size, c = options.channels;
  const std::size_t per = static_cast<std::size_t>(s) * s * c;
  torch::Tensor out = torch::empty({static_cast<int64_t>(squares.size()), c, s, s});
  for (std::size_t i = 0; i < squares.size(); ++i)
    normalize_into(squares[i].data(), s, s, c, options.normalization, out.data_ptr<float>() + i * per);
  return out;
}

Prediction ResNetClassifier::Impl::make_prediction(const float* probs, float ood_score) const {
  Prediction p;
  p.ood_score = ood_score;
  p.probabilities.assign(probs, probs + classes.size());
  if (classes.size() == 2) p.label = p.probabilities[1] >= threshold ? 1 : 0;
  else p.label = static_cast<int>(std::max_element(p.probabilities.begin(), p.probabilities.end()) - p.probabilities.begin());
  p.class_name = classes[p.label];
  return p;
}

NamedTensors ResNetClassifier::Impl::named_state() const {
  // Module by module, parameters then buffers: the order of torchvision's state_dict().
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& m : net->named_modules()) {
    const std::string prefix = m.key().empty() ? "" : m.key() + ".";
    for (const auto& p : m.value()->named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : m.value()->named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  }
  return out;
}

void ResNetClassifier::Impl::copy_state(const NamedTensors& state) {
  std::map<std::string, torch::Tensor> given(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : named_state()) {
    const auto it = given.find(name);
    if (it == given.end()) throw ModelError(fmt::format("weights lack '{}'", name));
    if (it->second.sizes() != t.sizes())
      throw ModelError(fmt::format("weight '{}' has shape [{}], the model expects [{}]", name,
                                     fmt::join(it->second.sizes().vec(), ", "), fmt::join(t.sizes().vec(), ", ")));
    t.copy_(it->second);
    given.erase(it);
  }
  if (!given.empty()) throw ModelError(fmt::format("weights hold '{}', which this model does not have", given.begin()->first));
  weights_changed();
}

std::vector<std::uint8_t> tensors_to_bytes(const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t.detach().contiguous());
  const std::vector<char> bytes = torch::pickle_save(dict);
  return {bytes.begin(), bytes.end()};
}

NamedTensors tensors_from_bytes(ByteSpan bytes, const std::string& origin) {
  return read_torch_state_dict(bytes.begin(), bytes.size, origin);  // bounded: the bytes come from elsewhere
}

std::vector<std::uint8_t> ResNetClassifier::Impl::weights_bytes(Precision precision) const {
  NamedTensors state = named_state();
  if (precision == Precision::Float16)
    for (auto& [name, t] : state)
      if (t.dim() >= 2 && t.is_floating_point()) t = t.to(torch::kFloat16);  // conv and fc weights: 99.9% of the bytes
  return tensors_to_bytes(state);
}

void ResNetClassifier::Impl::load_weights_bytes(ByteSpan bytes, const std::string& origin) {
  const NamedTensors state = tensors_from_bytes(bytes, origin);
  try {
    copy_state(state);
  } catch (const ModelError& e) {
    throw ModelError(fmt::format("{}: {}", origin, e.what()));
  }
}

// ---------------------------------------------------------------------------------------

ResNetClassifier::ResNetClassifier(const std::string& arch, std::vector<std::string> classes, const ClassifierOptions& options)
    : impl_(std::make_unique<Impl>(arch, std::move(classes), options)) {}
ResNetClassifier::ResNetClassifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResNetClassifier::~ResNetClassifier() = default;
ResNetClassifier::ResNetClassifier(ResNetClassifier&&) noexcept = default;
ResNetClassifier& ResNetClassifier::operator=(ResNetClassifier&&) noexcept = default;

const std::string& ResNetClassifier::arch() const { return impl_->arch; }
const std::vector<std::string>& ResNetClassifier::classes() const { return impl_->classes; }
int ResNetClassifier::image_size() const { return impl_->options.image_size; }
int ResNetClassifier::channels() const { return impl_->options.channels; }
const Normalization& ResNetClassifier::normalization() const { return impl_->options.normalization; }
double ResNetClassifier::threshold() const { return impl_->threshold; }
const std::string& ResNetClassifier::provenance() const { return impl_->provenance; }

void ResNetClassifier::set_inference(Inference mode) {
  const auto lock = impl_->writing();
  impl_->inference = mode;
}
Inference ResNetClassifier::inference() const { return impl_->inference; }

void ResNetClassifier::Impl::set_threshold(double t) {
  if (!(t >= 0 && t <= 1)) throw InvalidArgument(fmt::format("threshold must be in [0, 1], not {}", t));
  threshold = t;
}

double ResNetClassifier::temperature() const { return impl_->temperature; }

void ResNetClassifier::set_temperature(double t) {
  if (!(t >= 0.01 && t <= 100)) throw InvalidArgument(fmt::format("temperature must be in [0.01, 100], not {}", t));
  const auto lock = impl_->writing();
  impl_->temperature = t;
}

void ResNetClassifier::set_threshold(double t) {
  const auto lock = impl_->writing();
  impl_->set_threshold(t);
}

void ResNetClassifier::set_provenance(const std::string& json) {
  ModelCard().parse_provenance(json);  // refuses what the card cannot read
  const auto lock = impl_->writing();
  impl_->provenance = json;
}

ModelCard ResNetClassifier::card() const {
  const auto lock = impl_->reading();
  ModelCard c;
  c.parse_provenance(impl_->provenance);
  c.arch = arch();
  c.parameters = count_parameters(*impl_->net);
  c.classes = classes();
  c.image_size = image_size();
  c.channels = channels();
  c.geometry = impl_->options.geometry;
  c.normalization = normalization();
  c.threshold = threshold();
  c.temperature = impl_->temperature;
  c.ood_check = impl_->ood.fitted();
  c.ood_quantile = impl_->ood.quantile();
  return c;
}

std::string ResNetClassifier::describe() const { return card().to_text(); }

std::string ResNetClassifier::load_torchvision(const std::string& path) {
  auto entries = read_torch_state_dict(path);
  const auto lock = impl_->writing();
  std::map<std::string, torch::Tensor> file(entries.begin(), entries.end());
  std::vector<std::string> notes, missing;
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (auto& [name, t] : impl_->named_state()) {
    auto it = file.find(name);
    if (it == file.end()) {
      missing.push_back(name);
      continue;
    }
    torch::Tensor w = it->second.to(t.dtype());
    if (name == "conv1.weight" && w.dim() == 4 && w.size(1) != t.size(1)) {
      if (w.size(1) == 3 && t.size(1) == 1) {
        w = w.sum(1, true);
        notes.push_back("conv1 summed over its 3 input channels for a grey model");
      } else if (w.size(1) == 1 && t.size(1) == 3) {
        w = w.repeat({1, 3, 1, 1}) / 3;
        notes.push_back("conv1 spread over 3 input channels");
      }
    }
    if ((name == "fc.weight" || name == "fc.bias") && w.sizes() != t.sizes()) {
      if (name == "fc.weight")
        notes.push_back(fmt::format("fc has {} outputs in the file, {} here: left freshly initialised", w.size(0), t.size(0)));
      state.emplace_back(name, t.detach().clone());
    } else {
      state.emplace_back(name, w);
    }
    file.erase(it);
  }
  if (!missing.empty() || !file.empty())
    throw ModelError(fmt::format("{}: weights are not those of a torchvision {} ({} missing, e.g. '{}'; {} unexpected, e.g. '{}')",
                                 path, arch(), missing.size(), missing.empty() ? "" : missing[0], file.size(),
                                 file.empty() ? "" : file.begin()->first));
  try {
    impl_->copy_state(state);
  } catch (const ModelError& e) {
    throw ModelError(fmt::format("{}: {}", path, e.what()));
  }
  return notes.empty() ? "all weights loaded unchanged" : fmt::format("{}", fmt::join(notes, "; "));
}

std::vector<TensorData> ResNetClassifier::state_dict() const {
  const auto lock = impl_->reading();
  std::vector<TensorData> out;
  for (const auto& [name, t] : impl_->named_state()) {
    const torch::Tensor c = t.detach().contiguous();
    TensorData d;
    d.name = name;
    d.shape.assign(c.sizes().begin(), c.sizes().end());
    d.dtype = c.scalar_type() == torch::kInt64 ? "int64" : "float32";
    const torch::Tensor typed = d.dtype == "int64" ? c : c.to(torch::kFloat32);
    const auto* p = static_cast<const std::uint8_t*>(typed.data_ptr());
    d.bytes.assign(p, p + typed.numel() * typed.element_size());
    out.push_back(std::move(d));
  }
  return out;
}

void ResNetClassifier::load_state_dict(const std::vector<TensorData>& tensors) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& d : tensors) {
    const torch::Dtype dt = d.dtype == "int64" ? torch::kInt64 : d.dtype == "float32" ? torch::kFloat32 : throw InvalidArgument(
        fmt::format("tensor '{}' has dtype '{}' (float32 or int64 expected)", d.name, d.dtype));
    int64_t n = 1;
    for (auto s : d.shape) n *= s;
    if (n < 0 || static_cast<std::size_t>(n) * torch::elementSize(dt) != d.bytes.size())
      throw InvalidArgument(fmt::format("tensor '{}': {} bytes do not fit its shape", d.name, d.bytes.size()));
    state.emplace_back(d.name, torch::from_blob(const_cast<std::uint8_t*>(d.bytes.data()), d.shape, dt).clone());
  }
  const auto lock = impl_->writing();
  impl_->copy_state(state);
}

std::int64_t resnet_parameter_count(const std::string& arch, int channels, int classes) {
  return count_parameters(*ResNet(resnet_depth(arch), channels, classes));
}

}  // namespace xraykit
