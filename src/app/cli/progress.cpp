#include "progress.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>

#include <fmt/format.h>

namespace xraykit::cli {
namespace {

std::atomic<int> g_signal{0};

// Ctrl-C and SIGTERM (systemd, kill, a scheduler) stop training after the current step, with
// the last finished epoch in the checkpoint; a second signal ends the process at once.
void on_stop_signal(int sig) {
  g_signal = sig;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}
bool interrupted() { return g_signal != 0; }
int interrupted_exit_status() { return 128 + (g_signal != 0 ? g_signal.load() : SIGINT); }

std::string format_seconds(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

ProgressPrinter::ProgressPrinter() : tty_(::isatty(STDOUT_FILENO) != 0) {}

bool ProgressPrinter::operator()(const Progress& p) {
  if (p.epoch_end) {
    if (tty_) fmt::print("\r\033[K");
    fmt::print("epoch {}/{}  loss {:.4f}  val loss {:.4f}  val AUC {:.4f}  val acc {:.1f}%  {:.0f} img/s  {}  ETA {}\n",
               p.epoch, p.epochs, p.record.train_loss, p.record.val_loss, p.record.val_auc, 100 * p.record.val_accuracy,
               p.images_per_second, format_seconds(p.record.seconds), format_seconds(p.eta_seconds));
    std::fflush(stdout);
  } else if (tty_ && now() - last_print_ > 0.2) {
    last_print_ = now();
    const int width = 24;
    const int done = static_cast<int>(width * p.step / std::max<std::int64_t>(p.steps, 1));
    fmt::print("\r\033[Kepoch {}/{} [{}{}] {}/{}  loss {:.4f}  lr {:.2e}  {:.0f} img/s  ETA {}", p.epoch, p.epochs,
               std::string(done, '#'), std::string(width - done, '.'), p.step, p.steps, p.loss, p.learning_rate,
               p.images_per_second, format_seconds(p.eta_seconds));
    std::fflush(stdout);
  } else if (!tty_ && now() - last_print_ > 10) {
    // Logs, CI and services: a plain line now and then, flushed, so a reader sees progress
    // without waiting for the epoch to end.
    last_print_ = now();
    fmt::print("epoch {}/{}  step {}/{}  loss {:.4f}  lr {:.2e}  {:.0f} img/s  ETA {}\n", p.epoch, p.epochs, p.step,
               p.steps, p.loss, p.learning_rate, p.images_per_second, format_seconds(p.eta_seconds));
    std::fflush(stdout);
  }
  return g_signal == 0;
}

}  // namespace xraykit::cli
