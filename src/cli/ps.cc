// runvm ps [-f table|json] ID: the table lists the container's processes
// inside its VM (PIDs as the container sees them); -f json gives the host
// PIDs that stand for them (the monitor, exec stand-ins), which is what
// runc's callers do with it: look the PIDs up on the host.
#include <cstdio>

#include "cli/commands.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {
namespace {

std::string cpu_time(long long ms) {
  long long s = ms / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

}  // namespace

void add_ps_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto id = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("table");
  CLI::App* cmd = app.add_subcommand("ps", "list the processes running in the container's VM");
  cmd->add_option("container-id", *id, "the container's ID")->required();
  cmd->add_option("--format,-f", *format, "table or json")->capture_default_str();
  cmd->callback([&g, &selected, id, format] {
    selected = [&g, id, format]() -> int {
      if (*format != "table" && *format != "json") return report_failure("ps", "invalid format option");
      if (*format == "json") {
        // Host PIDs, as runc gives and as Docker's `top` and containerd use
        // them: the host processes that stand for the container's.
        auto answer = runtime::query_container(g.root, *id, control::HostPids{});
        if (!answer) return report_failure("ps", answer.error().describe());
        if (!answer->pids) return report_failure("ps", "the container's monitor did not list its processes");
        std::printf("%s\n", nlohmann::json(*answer->pids).dump().c_str());
        return 0;
      }
      auto answer = runtime::query_container(g.root, *id, control::Ps{});
      if (!answer) return report_failure("ps", answer.error().describe());
      if (!answer->ps) return report_failure("ps", "the container's monitor did not list its processes");
      std::printf("%-8s %7s %7s %-8s %8s %s\n", "UID", "PID", "PPID", "TTY", "TIME", "CMD");
      for (const auto& p : answer->ps->processes)
        std::printf("%-8u %7lld %7lld %-8s %8s %s\n", p.uid, static_cast<long long>(p.pid),
                    static_cast<long long>(p.ppid), p.tty.empty() ? "?" : p.tty.c_str(),
                    cpu_time(static_cast<long long>(p.time_ms)).c_str(), p.cmd.c_str());
      return 0;
    };
  });
}

}  // namespace runvm::cli
