// runvm update [--memory N] [--cpu-quota N] [--cpu-period N] [--pids-limit
// N] [--resources FILE|-] ID: change the container's limits. They apply to
// the container's cgroup inside the guest; the VM's own size (memory,
// vCPUs) is fixed at boot, and a limit beyond it is refused.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "common/io.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {

void add_update_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  struct Flags {
    std::string id, resources;
    long long memory = -1, cpu_quota = 0, cpu_period = 0, pids_limit = 0, cpu_shares = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("update", "update the container's resource limits");
  cmd->add_option("container-id", f->id, "the container's ID")->required();
  cmd->add_option("--resources,-r", f->resources, "a JSON LinuxResources file, or - for stdin");
  cmd->add_option("--memory", f->memory, "memory limit in bytes");
  cmd->add_option("--cpu-quota", f->cpu_quota, "CPU CFS quota (us)");
  cmd->add_option("--cpu-period", f->cpu_period, "CPU CFS period (us)");
  cmd->add_option("--cpu-share", f->cpu_shares, "CPU shares");
  cmd->add_option("--pids-limit", f->pids_limit, "maximum number of processes");
  cmd->callback([&g, &selected, f] {
    selected = simple_command("update", [&g, f]() -> Status {
      nlohmann::json r = nlohmann::json::object();
      if (!f->resources.empty()) {
        std::string text;
        if (f->resources == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
        else text = TRY(io::read_file(f->resources));
        r = nlohmann::json::parse(text, nullptr, false);
        if (r.is_discarded() || !r.is_object()) return fail("--resources: invalid JSON");
      }
      if (f->memory >= 0) r["memory"]["limit"] = f->memory;
      if (f->cpu_quota) r["cpu"]["quota"] = f->cpu_quota;
      if (f->cpu_period) r["cpu"]["period"] = f->cpu_period;
      if (f->cpu_shares) r["cpu"]["shares"] = f->cpu_shares;
      if (f->pids_limit) r["pids"]["limit"] = f->pids_limit;
      msg::Resources resources = TRY_CTX(msg::Resources::parse(r), "--resources");
      return runtime::update_container(g.root, f->id, resources);
    });
  });
}

}  // namespace runvm::cli
