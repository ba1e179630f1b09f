// The `xraykit` command-line tool: a thin shell over the library.
#include <malloc.h>

#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "commands.hpp"
#include "xraykit/error.hpp"
#include "xraykit/version.hpp"

namespace xraykit::cli {
std::vector<std::string>& command_line() {
  static std::vector<std::string> args;
  return args;
}

namespace {
// glibc hands every freed block over 128 KiB (with a moving threshold) back to the kernel and
// trims its heaps eagerly, so each training step or batch of predictions faults its
// activations' pages in afresh (14% of a bf16 training run in the kernel's page-fault path
// here). Keeping the memory is this process's choice to make (the library leaves its host's
// allocator alone): one 128 px bf16 epoch went from 70 to 103 images/s, `predict` on 500
// files 2.34 to 2.19 s. Not for `serve`, a service whose memory must stay flat.
void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
}  // namespace
}  // namespace xraykit::cli

int main(int argc, char** argv) {
  // Line by line even into a log file or a pipe: a service's log shows a run as it happens.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  xraykit::cli::command_line().assign(argv, argv + argc);
  CLI::App app{"xraykit: train, evaluate and deploy chest X-ray classifiers on the CPU"};
  app.set_version_flag("--version", std::string("xraykit ") + XRAYKIT_VERSION_STRING);
  app.require_subcommand(1);
  std::map<CLI::App*, xraykit::cli::Command> commands;
  auto add = [&](xraykit::cli::Command cmd) { commands[app.get_subcommands({}).back()] = std::move(cmd); };
  add(xraykit::cli::add_demo_command(app));
  add(xraykit::cli::add_train_command(app));
  add(xraykit::cli::add_evaluate_command(app));
  add(xraykit::cli::add_predict_command(app));
  add(xraykit::cli::add_info_command(app));
  add(xraykit::cli::add_serve_command(app));
  add(xraykit::cli::add_dataset_command(app));
  add(xraykit::cli::add_augment_command(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : commands) {
      if (!sub->parsed()) continue;
      if (sub->get_name() != "serve") xraykit::cli::keep_freed_memory();
      return run();
    }
  } catch (const xraykit::Error& e) {
    fmt::print(stderr, "xraykit: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "xraykit: unexpected error: {}\n", e.what());
    return 2;
  }
  return 0;
}
