#pragma once
// Admission control for predictions: at most `workers` run at once and at most `queue`
// more wait; beyond that a request is turned away at once (503) instead of piling up.
// A Ticket holds a place from admission until it goes out of scope, whatever happens in
// between. Thread safety: every member may be called from any thread.
#include <condition_variable>
#include <mutex>
#include <optional>

namespace xraykit::web {

class Gate {
 public:
  class Ticket {
   public:
    explicit Ticket(Gate& gate) : gate_(&gate) {}
    Ticket(Ticket&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket() {
      if (gate_) gate_->leave();
    }

   private:
    Gate* gate_;
  };

  Gate(int workers, int queue) : workers_(workers), limit_(workers + queue) {}

  /// Waits for a worker's turn; nullopt at once when `workers + queue` are already admitted.
  std::optional<Ticket> enter() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (admitted_ >= limit_) return std::nullopt;
    ++admitted_;
    cv_.wait(lock, [&] { return running_ < workers_; });
    ++running_;
    return std::optional<Ticket>(std::in_place, *this);
  }

  /// Requests admitted now (running and waiting).
  int admitted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return admitted_;
  }

 private:
  void leave() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --running_;
      --admitted_;
    }
    cv_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  int workers_, limit_, admitted_ = 0, running_ = 0;
};

}  // namespace xraykit::web
