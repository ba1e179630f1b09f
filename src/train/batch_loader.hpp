#pragma once
// Prefetching batch producer for training: worker threads augment and normalise batches
// ahead of the training thread, in a bounded window. Each sample's augmentation seed
// depends only on (epoch seed, sample id), so batches are identical whatever the number of
// workers. Internal header.
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "xraykit/augment.hpp"
#include "xraykit/dataset.hpp"

namespace xraykit {

class BatchLoader {
 public:
  /// order: positions in `data`, in the order they are served.
  BatchLoader(const Dataset& data, const Augmenter& augmenter, const Normalization& norm,
              std::vector<std::size_t> order, int batch_size, std::uint64_t epoch_seed, int workers,
              int prefetch = 4);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  std::size_t batches() const { return slots_.size(); }
  /// The next batch in order; nullopt after the last.
  std::optional<Batch> next();

 private:
  void work(std::size_t first);
  Batch make(std::size_t b) const;

  const Dataset& data_;
  const Augmenter& augmenter_;
  Normalization norm_;
  std::vector<std::size_t> order_;
  std::size_t batch_size_;
  std::uint64_t seed_;
  std::size_t workers_;
  std::size_t prefetch_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::optional<Batch>> slots_;
  std::size_t consumed_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;  // first failure in a worker, rethrown by next()
  std::vector<std::thread> threads_;
};

}  // namespace xraykit
