// One function per runvm command, each in its own file (as crun does),
// registered on the CLI11 app by main.cc.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

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

void add_run_command(CLI::App& app, const GlobalOptions& global, CommandRunner& selected);
void add_check_command(CLI::App& app, const GlobalOptions& global, CommandRunner& selected);
void add_spec_command(CLI::App& app, const GlobalOptions& global, CommandRunner& selected);

// Prints "runvm <command> failed: <error>" the way runc does, and returns 1.
int report_failure(const std::string& command, const std::string& message);

}  // namespace runvm::cli
