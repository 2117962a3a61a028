// runvm update [--memory N] [--memory-reservation N] [--memory-swap N]
// [--cpu-quota N] [--cpu-period N] [--cpu-share N] [--cpuset-cpus LIST]
// [--cpuset-mems LIST] [--pids-limit N] [--blkio-weight N] [--resources FILE|-] ID:
// change the container's limits, as runc update does. They apply to the
// container's cgroup inside the guest, and CPU and block I/O to its host
// cgroup too (runtime/host_cgroup.h); the VM's own size (memory, vCPUs) is fixed at
// boot, and a limit beyond it is refused. --resources is checked as
// config.json's linux.resources is: what runvm cannot honour is refused.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>

#include "cli/commands.h"
#include "common/io.h"
#include "common/log.h"
#include "oci/spec.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {

void add_update_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  struct Flags {
    std::string id, resources;
    long long memory = -1, cpu_quota = 0, cpu_period = 0, pids_limit = 0, cpu_shares = 0, blkio_weight = 0;
    std::optional<long long> memory_reservation, memory_swap;
    std::optional<std::string> cpuset_cpus, cpuset_mems;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("update", "update the container's resource limits");
  cmd->add_option("container-id", f->id, "the container's ID")->required();
  cmd->add_option("--resources,-r", f->resources, "a JSON LinuxResources file, or - for stdin");
  cmd->add_option("--memory", f->memory, "memory limit in bytes");
  cmd->add_option("--memory-reservation", f->memory_reservation, "memory reservation (soft limit) in bytes");
  cmd->add_option("--memory-swap", f->memory_swap, "total memory usage (memory + swap) in bytes; -1 unlimited");
  cmd->add_option("--cpu-quota", f->cpu_quota, "CPU CFS quota (us)");
  cmd->add_option("--cpu-period", f->cpu_period, "CPU CFS period (us)");
  cmd->add_option("--cpu-share", f->cpu_shares, "CPU shares");
  cmd->add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs to use (0-3, 0,1), of the VM's vCPUs");
  cmd->add_option("--cpuset-mems", f->cpuset_mems, "memory nodes to use (the VM has one: 0)");
  cmd->add_option("--pids-limit", f->pids_limit, "maximum number of processes");
  cmd->add_option("--blkio-weight", f->blkio_weight, "block I/O weight (10-1000) of the VM on the host");
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
      if (f->memory_reservation) r["memory"]["reservation"] = *f->memory_reservation;
      if (f->memory_swap) r["memory"]["swap"] = *f->memory_swap;
      if (f->cpu_quota) r["cpu"]["quota"] = f->cpu_quota;
      if (f->cpu_period) r["cpu"]["period"] = f->cpu_period;
      if (f->cpu_shares) r["cpu"]["shares"] = f->cpu_shares;
      if (f->cpuset_cpus) r["cpu"]["cpus"] = *f->cpuset_cpus;
      if (f->cpuset_mems) r["cpu"]["mems"] = *f->cpuset_mems;
      if (f->pids_limit) r["pids"]["limit"] = f->pids_limit;
      if (f->blkio_weight) r["blockIO"]["weight"] = f->blkio_weight;
      // A swap limit given alone counts from the memory limit in force (the
      // guest knows it), so only the config.json check of a pair applies.
      oci::Resources spec = TRY(oci::resources_from_json(r, "--resources", /*update=*/true));
      if (spec.memory_swappiness || spec.disable_oom_killer)
        log::warn("memory.swappiness and memory.disableOOMKiller are ignored: cgroup v2 has neither (runc "
                  "ignores them too)");
      return runtime::update_container(g.root, f->id, spec);
    });
  });
}

}  // namespace runvm::cli
