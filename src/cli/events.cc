// runvm events [--stats] [--interval D] ID: resource usage of the container,
// measured in its guest cgroup, and an "oom" event whenever the guest
// kernel kills one of its processes for its memory limit, in runc's event
// shapes.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "runtime/duration.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {
namespace {

// runc's types.Stats: every key runc prints, filled from the guest cgroup
// where the VM has the figure (block I/O, huge pages, RDT and the host's
// interfaces it has not: empty, as runc leaves what a host lacks).
nlohmann::json stats_event(const std::string& id, const msg::StatsAnswer& s) {
  nlohmann::json raw = nlohmann::json::object();
  for (const auto& [key, value] : s.memory_raw) raw[key] = value;
  return {{"type", "stats"},
          {"id", id},
          {"data",
           {{"cpu",
             {{"usage", {{"total", s.cpu.usage_ns}, {"kernel", s.cpu.system_ns}, {"user", s.cpu.user_ns}}},
              {"throttling",
               {{"periods", s.throttling.periods},
                {"throttledPeriods", s.throttling.throttled_periods},
                {"throttledTime", s.throttling.throttled_ns}}}}},
            {"cpuset", nlohmann::json::object()},
            {"memory",
             {{"cache", s.memory.cache},
              {"usage", {{"usage", s.memory.usage}, {"limit", s.memory.limit}, {"failcnt", s.memory_failcnt}}},
              {"swap", {{"usage", s.swap.usage}, {"limit", s.swap.limit}, {"failcnt", 0}}},
              {"kernel", {{"limit", 0}, {"failcnt", 0}}},
              {"kernelTCP", {{"limit", 0}, {"failcnt", 0}}},
              {"raw", raw}}},
            {"pids", {{"current", s.pids.current}, {"limit", s.pids.limit}}},
            {"blkio", nlohmann::json::object()},
            {"hugetlb", nlohmann::json::object()},
            {"intel_rdt", nlohmann::json::object()},
            {"network_interfaces", nullptr}}}};
}

}  // namespace

void add_events_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto id = std::make_shared<std::string>();
  auto stats = std::make_shared<bool>(false);
  auto interval = std::make_shared<std::string>("5s");
  CLI::App* cmd = app.add_subcommand("events", "print the container's resource usage and OOM kills");
  cmd->add_option("container-id", *id, "the container's ID")->required();
  cmd->add_flag("--stats", *stats, "print one stats event and exit");
  cmd->add_option("--interval", *interval, "the time between stats events (Go duration: 500ms, 5s, 1m)")
      ->capture_default_str();
  cmd->callback([&g, &selected, id, stats, interval] {
    selected = [&g, id, stats, interval]() -> int {
      auto every = runtime::parse_go_duration(*interval);
      if (!every)
        return report_failure("events", "invalid value \"" + *interval + "\" for flag --interval: " +
                                            every.error().describe());
      if (every->count() <= 0) return report_failure("events", "duration interval must be greater than 0");
      // OOM kills are noticed within a second (or the interval, if
      // shorter); stats go out every interval.
      auto poll = std::min<std::chrono::nanoseconds>(*every, std::chrono::seconds(1));
      std::optional<uint64_t> oom_kills;
      auto next_stats = std::chrono::steady_clock::now();
      for (;;) {
        auto answer = runtime::query_container(g.root, *id, control::Stats{});
        if (!answer) return report_failure("events", answer.error().describe());
        if (!answer->stats) return report_failure("events", "the container's monitor sent no stats");
        const msg::StatsAnswer& s = *answer->stats;
        if (*stats) {
          std::printf("%s\n", stats_event(*id, s).dump().c_str());
          return 0;
        }
        if (oom_kills && s.oom_kills > *oom_kills)
          std::printf("%s\n", nlohmann::json{{"type", "oom"}, {"id", *id}}.dump().c_str());
        oom_kills = s.oom_kills;
        if (std::chrono::steady_clock::now() >= next_stats) {
          std::printf("%s\n", stats_event(*id, s).dump().c_str());
          next_stats += *every;
        }
        std::fflush(stdout);
        std::this_thread::sleep_for(poll);
      }
    };
  });
}

}  // namespace runvm::cli
