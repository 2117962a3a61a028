// runvm-agent: PID 1 of every runvm guest. It readies the guest, opens the
// port to the host, serves the host's requests until the container's
// process has exited and been reported, and powers the VM off.
#include "agent/boot.h"
#include "agent/cgroup.h"
#include "agent/supervisor.h"
#include "agent/watchdog.h"
#include "common/log.h"

using namespace runvm;

namespace {

Status boot_and_serve() {
  TRY(agent::mount_guest_filesystems());
  agent::log_to_console();
  // The host gives up on a step after 60 s (boot, create): report earlier.
  agent::Watchdog watchdog = agent::Watchdog::start(std::chrono::seconds(20));
  log::info("loading modules");
  watchdog.begin("load modules");
  TRY(agent::load_modules());
  log::info("mounting the container root");
  watchdog.begin("mount the container root");
  TRY(agent::mount_container_root());
  // Without a cgroup the container still runs, unlimited, and ps/stats fail.
  watchdog.begin("set up the guest cgroup");
  if (Status s = agent::set_up_guest_cgroup(); !s)
    log::warn("no guest cgroup: " + s.error().describe());
  watchdog.begin("open the port to the host");
  UniqueFd port = TRY(agent::open_host_port());
  watchdog.end();
  log::info("connected to the host");
  return agent::supervise(std::move(port), watchdog);
}

}  // namespace

int main() {
  if (Status s = boot_and_serve(); !s)
    log::error(s.error().describe());  // the host sees the VM stop and reads the console log
  agent::power_off();
}
