// runvm: an OCI runtime that runs each container in its own microVM, with
// runc's command line.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/log.h"

using namespace runvm;

namespace {

vm::AccelRequest accel_request = vm::AccelRequest::automatic;

std::string timestamp() {
  char buf[64];
  std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

// --log/--log-format as runc: JSON lines {"level","msg","time"} that
// containerd's shim reads for the last error. Errors also go to stderr.
void configure_logging(const cli::GlobalOptions& g, bool use_stderr = true) {
  // The log file gets info and up (the accelerator choice, say); stderr
  // only warnings and errors unless --debug.
  bool to_file = !g.log_file.empty();
  log::set_min_level(g.debug ? log::Level::debug : to_file ? log::Level::info : log::Level::warn);
  std::shared_ptr<FILE> file;
  if (!g.log_file.empty()) {
    FILE* f = std::fopen(g.log_file.c_str(), "ae");
    if (f) file.reset(f, std::fclose);
    else std::fprintf(stderr, "runvm: cannot open log file %s\n", g.log_file.c_str());
  }
  bool json = g.log_format == "json";
  log::set_sink([file, json, use_stderr](log::Level level, const std::string& message) {
    if (file) {
      std::string line = json ? nlohmann::json{{"level", log::level_name(level)},
                                               {"msg", message},
                                               {"time", timestamp()}}
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                              : timestamp() + " " + log::level_name(level) + ": " + message;
      std::fprintf(file.get(), "%s\n", line.c_str());
      std::fflush(file.get());
    }
    bool to_stderr = use_stderr && (level == log::Level::error ||
                                    (!file && level >= log::Level::warn) ||
                                    log::enabled(log::Level::debug));
    if (to_stderr)
      std::fprintf(stderr, level == log::Level::error ? "%s\n" : "runvm: %s\n", message.c_str());
  });
}

}  // namespace

void cli::log_to_file_only(const GlobalOptions& g) { configure_logging(g, false); }

runtime::CreateOptions cli::create_options(const GlobalOptions& g) {
  runtime::CreateOptions o;
  o.root = g.root;
  o.accel = accel_request;
  o.systemd_cgroup = g.systemd_cgroup;
  o.artifacts = {g.kernel, g.initramfs};
  if (g.vcpus) o.size.vcpus = g.vcpus;
  if (g.memory_mib) o.size.memory_mib = g.memory_mib;
  o.boot_timeout = std::chrono::seconds(g.boot_timeout_s);
  o.daemonize_logging = [&g] { log_to_file_only(g); };
  return o;
}

int cli::report_failure(const std::string& command, const std::string& message) {
  log::error("runvm " + command + " failed: " + message);
  return 1;
}

int main(int argc, char** argv) {
  CLI::App app{"runvm: an OCI runtime that runs each container in its own microVM"};
  app.set_version_flag("--version,-v",
                       std::string("runvm version ") + RUNVM_VERSION + "\nspec: 1.0.2-dev");
  app.require_subcommand(1);
  cli::GlobalOptions g;
  app.add_option("--root", g.root, "root directory for container state")->capture_default_str();
  app.add_option("--log", g.log_file, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "enable debug logging");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup, "accepted for runc compatibility");
  app.add_option("--accel", g.accel, "accelerator: kvm, tcg or auto")
      ->envname("RUNVM_ACCEL")->capture_default_str();
  app.add_option("--kernel", g.kernel, "guest kernel (default: <data dir>/vmlinuz)")
      ->envname("RUNVM_KERNEL");
  app.add_option("--initramfs", g.initramfs, "guest initramfs (default: <data dir>/initramfs.img)")
      ->envname("RUNVM_INITRAMFS");
  app.add_option("--boot-timeout", g.boot_timeout_s, "seconds to wait for the guest agent")
      ->envname("RUNVM_BOOT_TIMEOUT")->capture_default_str();
  app.add_option("--vm-vcpus", g.vcpus, "vCPUs per VM (default: from the spec, else 1)")
      ->envname("RUNVM_VCPUS");
  app.add_option("--vm-memory", g.memory_mib, "MiB of memory per VM (default: from the spec, else 512)")
      ->envname("RUNVM_MEMORY_MIB");

  cli::CommandRunner selected;
#define RUNVM_ADD(name) cli::add_##name##_command(app, g, selected);
  RUNVM_COMMANDS(RUNVM_ADD)
#undef RUNVM_ADD
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  configure_logging(g);
  auto accel = vm::parse_accel_request(g.accel);
  if (!accel) return cli::report_failure(app.get_subcommands().front()->get_name(), accel.error().describe());
  accel_request = *accel;
  // A reader that goes away is an EPIPE to handle, not a reason to die.
  ::signal(SIGPIPE, SIG_IGN);
  // The last resort: an exception that escapes a command (a bug) is
  // reported as a failure; unwinding on the way runs every owner's cleanup
  // (a half-created container's state directory goes with its StateDir).
  try {
    return selected ? selected() : 1;
  } catch (const std::exception& e) {
    return cli::report_failure(app.get_subcommands().front()->get_name(), std::string("internal error: ") + e.what());
  }
}
