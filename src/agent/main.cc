// runvm-agent: PID 1 of every runvm guest. It readies the guest, opens the
// port to the host, serves the host's requests until the container's
// process has exited and been reported, and powers the VM off.
#include "agent/boot.h"
#include "agent/cgroup.h"
#include "agent/supervisor.h"
#include "common/log.h"

using namespace runvm;

namespace {

Status boot_and_serve() {
  TRY(agent::mount_guest_filesystems());
  agent::log_to_console();
  log::info("loading modules");
  TRY(agent::load_modules());
  log::info("mounting the container root");
  TRY(agent::mount_container_root());
  // Without a cgroup the container still runs, unlimited, and ps/stats fail.
  if (Status s = agent::set_up_guest_cgroup(); !s)
    log::warn("no guest cgroup: " + s.error().describe());
  UniqueFd port = TRY(agent::open_host_port());
  log::info("connected to the host");
  return agent::supervise(std::move(port));
}

}  // namespace

int main() {
  if (Status s = boot_and_serve(); !s)
    log::error(s.error().describe());  // the host sees the VM stop and reads the console log
  agent::power_off();
}
