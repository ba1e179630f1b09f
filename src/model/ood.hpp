#pragma once
// OodCheck: is an image like the X-rays the model was trained on? Internal; stored in the
// model file, surfaced as Prediction::ood_score.
//
// Why this method: a softmax is confident about anything, a photo or a blank film included.
// The network's pooled last-stage features of the training images, summarised as one mean per
// class and one shared covariance, give a Mahalanobis distance from an image to the nearest
// class (Lee et al. 2018, "A simple unified framework for detecting out-of-distribution
// samples and adversarial attacks"); images unlike any training X-ray land far from both.
// The limit is a high quantile of the distances of in-distribution images; scores are
// distance / limit, so 1 is the limit whatever the network.
// Thread safety: immutable once fitted or loaded; scores() may run from many threads at once.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>


namespace xraykit {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// Copies that own their storage (named_state() returns the network's own tensors).
inline NamedTensors clone_tensors(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().clone());
  return out;
}

class OodCheck {
 public:
  /// features: N x D pooled features of in-distribution images; labels in [0, classes).
  /// InvalidArgument unless every class has at least two images. The limit is unset (0).
  static OodCheck fit(const torch::Tensor& features, const std::vector<std::int64_t>& labels, int classes);

  bool fitted() const { return means_.defined() && limit_ > 0; }
  /// Mahalanobis distance of each row to the nearest class mean (N values, float64).
  torch::Tensor distances(const torch::Tensor& features) const;
  /// The limit: the `quantile` (in (0, 1]) of in-distribution distances.
  void set_limit(const torch::Tensor& distances, double quantile);
  double limit() const { return limit_; }
  double quantile() const { return quantile_; }
  /// distances / limit (N values, float32); NaN for every row when not fitted.
  std::vector<float> scores(const torch::Tensor& features) const;

  /// For the model file: "means" (K x D), "precision" (D x D), "limit" and "quantile".
  NamedTensors to_tensors() const;
  /// ModelError naming `origin` unless the tensors have the shapes of `classes` x `dims`
  /// features and finite values with a positive limit.
  static OodCheck from_tensors(const NamedTensors& tensors, int classes, std::int64_t dims, const std::string& origin);

 private:
  torch::Tensor means_;      // K x D, float64
  torch::Tensor precision_;  // D x D, float64: the inverse of the shrunk shared covariance
  double limit_ = 0;
  double quantile_ = 0;
};

}  // namespace xraykit
