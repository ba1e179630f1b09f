#pragma once
// The model the classify page and the API answer with now. Publishing a model swaps it in
// one step: a request keeps the model it took (shared ownership) until it ends and later
// requests get the new one, so a swap interrupts nothing and needs no restart.
// Thread safety: every member may be called from any thread.
#include <memory>
#include <mutex>
#include <utility>

#include "xraykit/classifier.hpp"

namespace xraykit::web {

class ModelSlot {
 public:
  explicit ModelSlot(std::shared_ptr<const ResNetClassifier> model) : model_(std::move(model)) {}

  std::shared_ptr<const ResNetClassifier> current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return model_;
  }

  void publish(std::shared_ptr<const ResNetClassifier> model) {
    std::lock_guard<std::mutex> lock(mutex_);
    model_ = std::move(model);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ResNetClassifier> model_;
};

}  // namespace xraykit::web
