// runvm ps [-f table|json] ID [PS-OPTIONS...]: the table lists the
// container's processes inside its VM (PIDs as the container sees them) in
// ps(1)'s format (-ef unless ps options follow the ID, runtime/ps_table.h);
// -f json gives the host PIDs that stand for them (the monitor, exec
// stand-ins), which is what runc's callers do with it: look the PIDs up on
// the host. A stopped container lists nothing, as runc's.
#include <ctime>
#include <cstdio>

#include "cli/commands.h"
#include "runtime/lifecycle.h"
#include "runtime/ps_table.h"

namespace runvm::cli {

void add_ps_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto format = std::make_shared<std::string>("table");
  CLI::App* cmd = app.add_subcommand("ps", "list the processes running in the container's VM");
  cmd->add_option("--format,-f", *format, "table or json")->capture_default_str();
  // The ID and then ps(1)'s options, flags included (-e -o pid,args), so
  // option parsing stops at the ID.
  cmd->prefix_command();
  cmd->footer("Usage: runvm ps [OPTIONS] CONTAINER-ID [-- PS-OPTIONS...]");
  cmd->callback([&g, &selected, format, cmd] {
    std::vector<std::string> rest = cmd->remaining();
    selected = [&g, format, rest]() -> int {
      if (rest.empty()) return report_failure("ps", "ps needs a container ID");
      std::string id = rest.front();
      std::vector<std::string> ps_args(rest.begin() + 1, rest.end());
      if (!ps_args.empty() && ps_args.front() == "--") ps_args.erase(ps_args.begin());
      if (*format != "table" && *format != "json") return report_failure("ps", "invalid format option");
      if (*format == "json") {
        if (!ps_args.empty()) return report_failure("ps", "ps options cannot be used with --format json");
        auto pids = runtime::container_host_pids(g.root, id);
        if (!pids) return report_failure("ps", pids.error().describe());
        std::printf("%s\n", nlohmann::json(*pids).dump().c_str());
        return 0;
      }
      auto table = runtime::parse_ps_args(ps_args);
      if (!table) return report_failure("ps", table.error().describe());
      auto answer = runtime::container_processes(g.root, id);
      if (!answer) return report_failure("ps", answer.error().describe());
      std::fputs(runtime::render_ps(*table, answer->processes, answer->uptime_ms, std::time(nullptr)).c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace runvm::cli
