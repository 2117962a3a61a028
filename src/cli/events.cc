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

nlohmann::json stats_event(const std::string& id, const nlohmann::json& s) {
  auto cpu = s.value("cpu", nlohmann::json::object());
  auto memory = s.value("memory", nlohmann::json::object());
  auto pids = s.value("pids", nlohmann::json::object());
  return {{"type", "stats"},
          {"id", id},
          {"data",
           {{"cpu", {{"usage", {{"total", cpu.value("usage_ns", 0ULL)},
                                 {"kernel", cpu.value("system_ns", 0ULL)},
                                 {"user", cpu.value("user_ns", 0ULL)}}}}},
            {"memory", {{"cache", memory.value("cache", 0ULL)},
                        {"usage", {{"usage", memory.value("usage", 0ULL)},
                                   {"limit", memory.value("limit", 0ULL)}}}}},
            {"pids", {{"current", pids.value("current", 0ULL)}, {"limit", pids.value("limit", 0ULL)}}}}}};
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
        auto answer = runtime::query_container(g.root, *id, {{"op", "stats"}});
        if (!answer) return report_failure("events", answer.error().describe());
        std::printf("%s\n", stats_event(*id, *answer).dump().c_str());
        std::fflush(stdout);
        if (*stats) return 0;
        std::this_thread::sleep_for(std::chrono::seconds(*interval));
      }
    };
  });
}

}  // namespace runvm::cli
