// One function per runvm command, each in its own file (as crun does),
// registered on the CLI11 app by main.cc.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "runtime/create.h"

namespace runvm::cli {

struct GlobalOptions {
  std::string root = "/run/runvm";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string accel = "auto";
  std::string kernel;
  std::string initramfs;
  unsigned boot_timeout_s = 60;
  unsigned vcpus = 0;        // 0: from the spec or the default
  unsigned memory_mib = 0;
};

// What runs once parsing is done; a command's CLI11 callback sets it. It
// returns the process exit status.
using CommandRunner = std::function<int()>;

#define RUNVM_COMMANDS(X) \
  X(create) X(start) X(state) X(kill) X(delete) X(list) X(ps) X(pause) X(resume) \
  X(exec) X(update) X(events) X(features) X(run) X(spec) X(check) X(cp) X(checkpoint) X(restore)
#define RUNVM_DECLARE(name) \
  void add_##name##_command(CLI::App& app, const GlobalOptions& global, CommandRunner& selected);
RUNVM_COMMANDS(RUNVM_DECLARE)
#undef RUNVM_DECLARE

// Prints "runvm <command> failed: <error>" the way runc does, and returns 1.
int report_failure(const std::string& command, const std::string& message);

// A usage error as runc's: "Incorrect Usage: MESSAGE" and the command's
// help on stdout, MESSAGE on stderr; returns 1.
int usage_failure(const CLI::App* command, const std::string& message);

// Go's flag package's words for an unknown flag ARG ("--bogus=1"):
// "flag provided but not defined: -bogus".
std::string undefined_flag(const std::string& arg);

// Logging for a process that outlives the command (a container's monitor,
// an exec's stand-in): --log only, never the stderr it shares with the
// container.
void log_to_file_only(const GlobalOptions& global);

// create/run options from the global flags.
runtime::CreateOptions create_options(const GlobalOptions& global);

// Runs a Status-returning command: 0, or the failure reported.
template <typename F>
CommandRunner simple_command(const std::string& name, F body) {
  return [name, body]() -> int {
    auto status = body();
    if (!status) return report_failure(name, status.error().describe());
    return 0;
  };
}

}  // namespace runvm::cli
