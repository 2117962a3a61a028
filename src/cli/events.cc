// runvm events [--stats] [--interval D] ID: resource usage of the container,
// measured in its guest cgroup, in runc's event shape.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {
namespace {

nlohmann::json stats_event(const std::string& id, const msg::StatsAnswer& s) {
  return {{"type", "stats"},
          {"id", id},
          {"data",
           {{"cpu", {{"usage", {{"total", s.cpu.usage_ns}, {"kernel", s.cpu.system_ns}, {"user", s.cpu.user_ns}}}}},
            {"memory", {{"cache", s.memory.cache}, {"usage", {{"usage", s.memory.usage}, {"limit", s.memory.limit}}}}},
            {"pids", {{"current", s.pids.current}, {"limit", s.pids.limit}}}}}};
}

}  // namespace

void add_events_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto id = std::make_shared<std::string>();
  auto stats = std::make_shared<bool>(false);
  auto interval = std::make_shared<unsigned>(5);
  CLI::App* cmd = app.add_subcommand("events", "print the container's resource usage");
  cmd->add_option("container-id", *id, "the container's ID")->required();
  cmd->add_flag("--stats", *stats, "print one stats event and exit");
  cmd->add_option("--interval", *interval, "seconds between stats events")->capture_default_str();
  cmd->callback([&g, &selected, id, stats, interval] {
    selected = [&g, id, stats, interval]() -> int {
      for (;;) {
        auto answer = runtime::query_container(g.root, *id, control::Stats{});
        if (!answer) return report_failure("events", answer.error().describe());
        if (!answer->stats) return report_failure("events", "the container's monitor sent no stats");
        std::printf("%s\n", stats_event(*id, *answer->stats).dump().c_str());
        std::fflush(stdout);
        if (*stats) return 0;
        std::this_thread::sleep_for(std::chrono::seconds(*interval));
      }
    };
  });
}

}  // namespace runvm::cli
