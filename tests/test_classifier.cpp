// ResNetClassifier: torchvision parity, model files, prediction, weights in and out.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "support.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/error.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/shift.hpp"

using namespace xraykit;
using namespace testsupport;

namespace {

std::vector<float> read_floats(const fs::path& p) {
  const auto bytes = read_bytes(p);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// Runs the Python reference (Debian's torchvision) once per architecture.
fs::path reference(const std::string& arch, int classes, int size) {
  static TempDir dir;
  const fs::path pth = dir / (arch + ".pth");
  if (!fs::exists(pth)) {
    const std::string cmd = "/usr/bin/python3 " XRAYKIT_SOURCE_DIR "/tests/python_ref/torchvision_reference.py " +
                            dir.path().string() + " " + arch + " " + std::to_string(classes) + " " + std::to_string(size);
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "python reference failed: " << cmd);
  }
  return dir.path() / arch;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
  return m;
}

// The largest difference relative to the size of the wanted logits (at least 1): the order of
// float additions differs between kernels (and LibTorch picks kernels by thread count), and
// ResNet-50's random-weight logits run into the tens.
double relative_diff(const std::vector<float>& got, const std::vector<float>& want) {
  double scale = 1;
  for (float v : want) scale = std::max(scale, static_cast<double>(std::abs(v)));
  return max_abs_diff(got, want) / scale;
}

ClassifierOptions small(int channels = 1, int size = 64) {
  ClassifierOptions o;
  o.channels = channels;
  o.image_size = size;
  return o;
}

}  // namespace

TEST_CASE("torchvision parity: resnet18 and resnet50 state_dicts give the same logits") {
  for (const std::string arch : {"resnet18", "resnet50"}) {
    CAPTURE(arch);
    const fs::path ref = reference(arch, 10, 64);
    std::vector<std::string> classes;
    for (int i = 0; i < 10; ++i) classes.push_back("c" + std::to_string(i));
    ResNetClassifier rgb(arch, classes, small(3));
    CHECK(rgb.load_torchvision(ref.string() + ".pth") == "all weights loaded unchanged");
    CHECK(relative_diff(rgb.logits(read_floats(ref.string() + ".input"), 2), read_floats(ref.string() + ".output")) < 1e-4);

    // A grey model takes the same weights with conv1 summed over its input channels.
    ResNetClassifier grey(arch, classes, small(1));
    CHECK(grey.load_torchvision(ref.string() + ".pth").find("conv1 summed") != std::string::npos);
    CHECK(relative_diff(grey.logits(read_floats(ref.string() + ".grey_in"), 2), read_floats(ref.string() + ".grey_out")) < 1e-4);
  }
}

TEST_CASE("torchvision weights: new fc for another class count, errors for another architecture") {
  const fs::path ref = reference("resnet18", 10, 64);
  ResNetClassifier two("resnet18", {"NORMAL", "PNEUMONIA"}, small(1));
  const auto fc_before = two.state_dict().back();
  CHECK(two.load_torchvision(ref.string() + ".pth").find("fc has 10 outputs in the file, 2 here") != std::string::npos);

  ResNetClassifier r34("resnet34", {"a", "b"}, small(1));
  CHECK_THROWS_WITH_AS(r34.load_torchvision(ref.string() + ".pth"), doctest::Contains("not those of a torchvision resnet34"),
                       ModelError);
  TempDir dir;
  write_bytes(dir / "junk.pth", {'n', 'o', 'p', 'e'});
  CHECK_THROWS_WITH_AS(two.load_torchvision((dir / "junk.pth").string()), doctest::Contains("not a PyTorch zip archive"),
                       ModelError);
  CHECK_THROWS_AS(two.load_torchvision((dir / "missing.pth").string()), ModelError);
}

TEST_CASE("unknown architecture and bad options are refused") {
  CHECK_THROWS_WITH_AS(ResNetClassifier("resnet19", {"a", "b"}), doctest::Contains("unknown architecture 'resnet19'"),
                       InvalidArgument);
  CHECK_THROWS_AS(ResNetClassifier("resnet18", {"only"}), InvalidArgument);
  CHECK_THROWS_AS(ResNetClassifier("resnet18", {"a", "b"}, small(2)), InvalidArgument);
}

TEST_CASE("model file: round trip, self-description, and refusals") {
  TempDir dir;
  ResNetClassifier m("resnet18", {"NORMAL", "PNEUMONIA"}, small(1, 64));
  m.set_threshold(0.3);
  m.set_provenance(R"({"note": "test"})");
  const std::string path = (dir / "m.xrk").string();
  m.save(path);
  const ResNetClassifier back = ResNetClassifier::load(path);
  CHECK(back.arch() == "resnet18");
  CHECK(back.classes() == m.classes());
  CHECK(back.image_size() == 64);
  CHECK(back.threshold() == doctest::Approx(0.3));
  CHECK(back.provenance().find("test") != std::string::npos);
  const Image img = pattern_image(100, 80, 1, 3);
  CHECK(back.predict(img).probabilities == m.predict(img).probabilities);
  CHECK(back.describe().find("resnet18") != std::string::npos);

  SUBCASE("float16 weights: about half the file, the same predictions") {
    const std::string half = (dir / "half.xrk").string();
    m.save(half, ResNetClassifier::Precision::Float16);
    CHECK(fs::file_size(half) < 0.55 * fs::file_size(path));
    const ResNetClassifier h = ResNetClassifier::load(half);
    CHECK(h.state_dict()[0].dtype == "float32");  // converted back on loading
    for (int seed = 0; seed < 4; ++seed) {
      const Image x = pattern_image(90, 70, 1, seed);
      const auto a = m.predict(x).probabilities, b = h.predict(x).probabilities;
      CHECK(std::abs(a[1] - b[1]) < 2e-3);
    }
  }
  SUBCASE("truncated") {
    auto bytes = read_bytes(path);
    bytes.resize(bytes.size() / 2);
    write_bytes(dir / "cut.xrk", bytes);
    CHECK_THROWS_WITH_AS(ResNetClassifier::load((dir / "cut.xrk").string()), doctest::Contains("truncated or damaged"),
                         ModelError);
  }
  SUBCASE("one flipped byte") {
    auto bytes = read_bytes(path);
    bytes[bytes.size() / 2] ^= 0x40;
    write_bytes(dir / "flip.xrk", bytes);
    CHECK_THROWS_WITH_AS(ResNetClassifier::load((dir / "flip.xrk").string()), doctest::Contains("damaged"), ModelError);
  }
  SUBCASE("another program's file") {
    write_png(dir / "x.png", pattern_image(8, 8, 1));
    CHECK_THROWS_WITH_AS(ResNetClassifier::load((dir / "x.png").string()), doctest::Contains("not an xraykit model file"),
                         ModelError);
  }
  SUBCASE("missing file and unwritable path") {
    CHECK_THROWS_AS(ResNetClassifier::load((dir / "none.xrk").string()), IoError);
    CHECK_THROWS_AS(m.save((dir / "no/such/dir/m.xrk").string()), IoError);
  }
  SUBCASE("a version-1 file (FNV-1a checksum) still loads") {
    auto bytes = read_bytes(path);
    bytes[8] = 1;  // the u32 version after the 8-byte magic
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i + 8 < bytes.size(); ++i) h = (h ^ bytes[i]) * 0x100000001b3ULL;
    for (int i = 0; i < 8; ++i) bytes[bytes.size() - 8 + i] = static_cast<std::uint8_t>(h >> (8 * i));
    write_bytes(dir / "v1.xrk", bytes);
    CHECK(ResNetClassifier::load((dir / "v1.xrk").string()).predict(img).probabilities == m.predict(img).probabilities);
    bytes[8] = 9;
    write_bytes(dir / "v9.xrk", bytes);
    CHECK_THROWS_WITH_AS(ResNetClassifier::load((dir / "v9.xrk").string()), doctest::Contains("format 9 is not supported"),
                         ModelError);
  }
}

TEST_CASE("shipped models are found through XRAYKIT_MODELS, and a missing one says where it looked") {
  TempDir dir;
  ResNetClassifier("resnet18", {"a", "b"}, small(1, 32)).save((dir / "mine.xrk").string());
  ::setenv("XRAYKIT_MODELS", dir.path().c_str(), 1);
  CHECK(shipped_model_path("mine") == (dir / "mine.xrk").string());
  CHECK(ResNetClassifier::load(shipped_model_path("mine")).classes() == std::vector<std::string>{"a", "b"});
  CHECK_THROWS_WITH_AS(shipped_model_path("nothere"), doctest::Contains((dir / "nothere.xrk").string().c_str()), IoError);
  CHECK_THROWS_WITH_AS(shipped_model_path("nothere"), doctest::Contains("set XRAYKIT_MODELS"), IoError);
  CHECK_THROWS_AS(shipped_model_path("../mine"), InvalidArgument);
  CHECK_THROWS_AS(shipped_model_path(""), InvalidArgument);
  ::unsetenv("XRAYKIT_MODELS");
}

TEST_CASE("predict_files: batches across files, reports unreadable ones in place, and keeps input order") {
  TempDir dir;
  ResNetClassifier m("resnet18", {"NORMAL", "PNEUMONIA"}, small(1, 64));
  std::vector<std::string> paths;
  const std::size_t n = ResNetClassifier::kPredictBatch + 7;  // two batches
  for (std::size_t i = 0; i < n; ++i) {
    const fs::path p = dir / ("img" + std::to_string(i) + ".png");
    write_png(p, pattern_image(80 + static_cast<int>(i), 70, 1, static_cast<int>(i)));
    paths.push_back(p.string());
  }
  write_bytes(dir / "broken.jpeg", {0xFF, 0xD8, 0xFF, 0xE0, 0x00});
  paths.insert(paths.begin() + 3, (dir / "broken.jpeg").string());
  paths.insert(paths.begin() + 35, (dir / "missing.png").string());
  std::vector<std::string> seen;
  const auto results = m.predict_files(paths, false, [&](const FilePrediction& r) { seen.push_back(r.path); });
  REQUIRE(results.size() == paths.size());
  CHECK(seen == paths);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    CHECK(results[i].path == paths[i]);
    if (paths[i].find("broken") != std::string::npos || paths[i].find("missing") != std::string::npos) {
      CHECK_FALSE(results[i].ok);
      CHECK(results[i].error.find(fs::path(paths[i]).filename().string()) != std::string::npos);
    } else {
      REQUIRE(results[i].ok);
      const Prediction one = m.predict_file(paths[i]);
      for (std::size_t c = 0; c < 2; ++c)
        CHECK(results[i].prediction.probabilities[c] == doctest::Approx(one.probabilities[c]).epsilon(1e-3));
    }
  }
  CHECK(m.predict_files({}).empty());
}

TEST_CASE("prediction takes any size and channel count and the threshold decides binary labels") {
  ResNetClassifier m("resnet18", {"NORMAL", "PNEUMONIA"}, small(1, 64));
  const Prediction grey = m.predict(pattern_image(300, 200, 1, 1));
  CHECK(grey.probabilities.size() == 2);
  CHECK(grey.probabilities[0] + grey.probabilities[1] == doctest::Approx(1.0));
  const Prediction rgb = m.predict(pattern_image(64, 64, 3, 1));
  CHECK(rgb.probabilities.size() == 2);
  m.set_threshold(0.0);
  CHECK(m.predict(pattern_image(64, 64, 1)).class_name == "PNEUMONIA");
  m.set_threshold(1.0);
  CHECK(m.predict(pattern_image(64, 64, 1)).label == (m.predict(pattern_image(64, 64, 1)).probabilities[1] >= 1.0f ? 1 : 0));
  const auto batch = m.predict(std::vector<Image>{pattern_image(64, 64, 1, 1), pattern_image(70, 90, 1, 2)}, true);
  CHECK(batch.size() == 2);
  CHECK_THROWS_AS(m.predict(Image{10, 10, 1, {1, 2, 3}}), InvalidArgument);
  CHECK_THROWS_AS(m.set_threshold(1.5), InvalidArgument);
  TempDir dir;
  write_png(dir / "a.png", pattern_image(128, 128, 1));
  CHECK(m.predict_file((dir / "a.png").string()).probabilities.size() == 2);
  CHECK_THROWS_AS(m.predict_file((dir / "none.png").string()), IoError);
}

TEST_CASE("test-time augmentation: the mean over the image and four light copies, the same in predict, predict_proba, evaluate and the shift benchmark") {
  const Dataset data = blob_dataset(12, 5);
  const ResNetClassifier m("resnet18", data.classes(), tiny());
  std::vector<Image> images;
  for (std::size_t i = 0; i < data.size(); ++i) images.push_back(data.image(i));
  const auto plain = m.predict_proba(data);
  const auto tta = m.predict_proba(data, 64, true);
  const auto predicted = m.predict(images, true);
  const Augmenter light("light");
  float largest_change = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::vector<Image> copies{images[i]};
    for (std::uint64_t k = 1; k <= 4; ++k) copies.push_back(light.apply(images[i], k));
    float mean = 0;
    for (const auto& p : m.predict(copies)) mean += p.probabilities[1] / 5;
    CHECK(tta[i][1] == doctest::Approx(mean).epsilon(1e-4));
    CHECK(predicted[i].probabilities[1] == doctest::Approx(tta[i][1]).epsilon(1e-4));
    largest_change = std::max(largest_change, std::abs(tta[i][1] - plain[i][1]));
  }
  CHECK(largest_change > 1e-4f);  // the copies do change what the network sees

  EvalOptions o;
  o.bootstrap = 0;
  const Evaluation with = m.evaluate(data, o, true), without = m.evaluate(data, o);
  // The calibration error depends on the probabilities' values, not only on their order.
  auto ece_of = [&](const std::vector<std::vector<float>>& probs) {
    Evaluator ev(data.classes(), o);
    for (std::size_t i = 0; i < data.size(); ++i) ev.add(probs[i], data.label(i), data.patient(i));
    return ev.evaluate().ece;
  };
  REQUIRE(std::abs(ece_of(tta) - ece_of(plain)) > 1e-5);
  CHECK(with.ece == doctest::Approx(ece_of(tta)).epsilon(1e-6));
  CHECK(without.ece == doctest::Approx(ece_of(plain)).epsilon(1e-6));
  const auto none = std::vector<ImageShift>{standard_shifts().front()};
  CHECK(shift_benchmark(m, data, none, o, true)[0].evaluation.ece == doctest::Approx(with.ece).epsilon(1e-6));
  CHECK(shift_benchmark(m, data, none, o)[0].evaluation.ece == doctest::Approx(without.ece).epsilon(1e-6));
}

TEST_CASE("state_dict out and in") {
  ResNetClassifier a("resnet18", {"a", "b"}, small(1, 64));
  ClassifierOptions other = small(1, 64);
  other.seed = 99;
  ResNetClassifier b("resnet18", {"a", "b"}, other);
  const Image img = pattern_image(64, 64, 1, 5);
  CHECK(a.predict(img).probabilities != b.predict(img).probabilities);
  const auto sd = a.state_dict();
  CHECK(sd.front().name == "conv1.weight");
  CHECK(sd.front().shape == std::vector<std::int64_t>{64, 1, 7, 7});
  b.load_state_dict(sd);
  CHECK(a.predict(img).probabilities == b.predict(img).probabilities);
  auto broken = sd;
  broken.pop_back();
  CHECK_THROWS_AS(b.load_state_dict(broken), ModelError);
}

TEST_CASE("fast inference agrees with the exact network, and follows weight changes") {
  for (const char* arch : {"resnet18", "resnet50"}) {
    INFO(arch);
    ClassifierOptions o;
    o.image_size = 64;
    ResNetClassifier m(arch, {"a", "b", "c"}, o);
    // Batch-norm statistics and affine weights far from their initial 0/1, so that folding
    // them into the convolutions is actually exercised.
    auto state = m.state_dict();
    int k = 0;
    for (auto& t : state) {
      const bool bn = t.name.find("bn") != std::string::npos || t.name.find("downsample.1") != std::string::npos;
      if (!bn || t.dtype != "float32") continue;
      auto* f = reinterpret_cast<float*>(t.bytes.data());
      for (std::size_t i = 0; i < t.bytes.size() / 4; ++i, ++k) {
        const float wave = std::sin(0.37f * k);
        if (t.name.find("running_var") != std::string::npos) f[i] = 0.5f + 0.4f * wave;
        else if (t.name.find("running_mean") != std::string::npos) f[i] = 0.2f * wave;
        else if (t.name.find("weight") != std::string::npos) f[i] = 1.0f + 0.3f * wave;
        else f[i] = 0.1f * wave;
      }
    }
    m.load_state_dict(state);
    std::vector<Image> imgs;
    for (int i = 0; i < 5; ++i) imgs.push_back(pattern_image(64, 64, 1, i));
    CHECK(m.inference() == Inference::Fast);
    const auto fast = m.predict(imgs);
    m.set_inference(Inference::Exact);
    const auto exact = m.predict(imgs);
    // These made-up batch-norm statistics amplify bf16 rounding far more than trained ones
    // (test_real_training checks fast against exact on a trained model and real images).
    const double tolerance = cpu_has_fast_bf16() ? 0.1 : 1e-4;
    double worst = 0;
    for (std::size_t i = 0; i < imgs.size(); ++i)
      for (std::size_t c = 0; c < 3; ++c)
        worst = std::max(worst, static_cast<double>(std::abs(fast[i].probabilities[c] - exact[i].probabilities[c])));
    CHECK(worst < tolerance);
    // The fast copy is rebuilt after the weights change: a zero fc with bias (0, 1, 2) gives
    // softmax(0, 1, 2) for every image.
    m.set_inference(Inference::Fast);
    state = m.state_dict();
    for (auto& t : state) {
      auto* f = reinterpret_cast<float*>(t.bytes.data());
      if (t.name == "fc.weight") std::fill(f, f + t.bytes.size() / 4, 0.0f);
      if (t.name == "fc.bias") f[0] = 0, f[1] = 1, f[2] = 2;
    }
    m.load_state_dict(state);
    const auto moved = m.predict(imgs);
    CHECK(moved[0].probabilities[2] == doctest::Approx(0.6652).epsilon(1e-3));
    CHECK(moved[0].probabilities[0] == doctest::Approx(0.0900).epsilon(1e-3));
  }
}

TEST_CASE("the default thread count follows OMP_NUM_THREADS when it holds a number, else the cores") {
  const char* old = std::getenv("OMP_NUM_THREADS");
  const std::string saved = old ? old : "";
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ::setenv("OMP_NUM_THREADS", "3", 1);
  set_num_threads(0);
  CHECK(num_threads() == 3);
  for (const char* ignored : {"abc", "0", "-2", "4x", "100000"}) {
    ::setenv("OMP_NUM_THREADS", ignored, 1);
    set_num_threads(0);
    CHECK_MESSAGE(num_threads() == cores, "OMP_NUM_THREADS=" << ignored);
  }
  set_num_threads(5);  // an explicit count wins
  CHECK(num_threads() == 5);
  if (old)
    ::setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  else
    ::unsetenv("OMP_NUM_THREADS");
  set_num_threads(0);
}
