#pragma once
// Training progress for people: a live one-line bar on a terminal, plain lines otherwise.
// Also turns Ctrl-C into a clean stop: the first SIGINT asks training to stop, a second one
// kills the process as usual.
#include <string>

#include "xraykit/classifier.hpp"

namespace xraykit::cli {

class ProgressPrinter {
 public:
  ProgressPrinter();
  /// The callback for fit(): prints, and returns false once Ctrl-C was pressed.
  bool operator()(const Progress& p);

 private:
  bool tty_;
  double last_print_ = -1;
};

void install_interrupt_handler();
bool interrupted();
/// The exit status of a run stopped by a signal: 128 + its number (130 Ctrl-C, 143 SIGTERM).
int interrupted_exit_status();

std::string format_seconds(double s);

}  // namespace xraykit::cli
