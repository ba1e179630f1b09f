#include "train/batch_loader.hpp"

#include <algorithm>

#include "util/rng.hpp"

namespace xraykit {

BatchLoader::BatchLoader(const Dataset& data, const Augmenter& augmenter, const Normalization& norm,
                         std::vector<std::size_t> order, int batch_size, std::uint64_t epoch_seed, int workers,
                         int prefetch)
    : data_(data),
      augmenter_(augmenter),
      norm_(norm),
      order_(std::move(order)),
      batch_size_(static_cast<std::size_t>(std::max(1, batch_size))),
      seed_(epoch_seed),
      workers_(static_cast<std::size_t>(std::max(1, workers))),
      prefetch_(static_cast<std::size_t>(std::max(1, prefetch))) {
  slots_.resize((order_.size() + batch_size_ - 1) / batch_size_);
  for (std::size_t w = 0; w < workers_; ++w) threads_.emplace_back([this, w] { work(w); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Batch BatchLoader::make(std::size_t b) const {
  const std::size_t begin = b * batch_size_, end = std::min(order_.size(), begin + batch_size_);
  const int s = data_.image_size(), c = data_.channels();
  const std::size_t pixels = static_cast<std::size_t>(s) * s * c;
  Batch batch;
  batch.n = static_cast<int>(end - begin);
  batch.channels = c;
  batch.height = batch.width = s;
  batch.images.resize(pixels * batch.n);
  std::vector<std::uint8_t> tmp(pixels);
  for (std::size_t k = begin; k < end; ++k) {
    const std::size_t pos = order_[k];
    augmenter_.apply(data_.pixels(pos), s, c, mix_seed(seed_, data_.id(pos)), tmp.data());
    normalize_into(tmp.data(), s, s, c, norm_, batch.images.data() + (k - begin) * pixels);
    batch.labels.push_back(data_.label(pos));
    batch.ids.push_back(data_.id(pos));
  }
  return batch;
}

void BatchLoader::work(std::size_t first) {
  for (std::size_t b = first; b < slots_.size(); b += workers_) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || b < consumed_ + prefetch_; });
      if (stop_) return;
    }
    try {
      Batch batch = make(b);
      std::lock_guard<std::mutex> lock(mutex_);
      slots_[b] = std::move(batch);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      stop_ = true;
    }
    cv_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (consumed_ >= slots_.size()) return std::nullopt;
  cv_.wait(lock, [&] { return error_ || slots_[consumed_].has_value(); });
  if (error_) std::rethrow_exception(error_);
  std::optional<Batch> out = std::move(slots_[consumed_]);
  slots_[consumed_].reset();
  ++consumed_;
  lock.unlock();
  cv_.notify_all();
  return out;
}

}  // namespace xraykit
