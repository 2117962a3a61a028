// runvm check: what this host offers runvm (accelerator, guest artifacts,
// QEMU and virtiofsd), so a user can see the choices runvm will make.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "runtime/guest_artifacts.h"
#include "vm/accel.h"
#include "vm/qemu.h"

namespace runvm::cli {

void add_check_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  CLI::App* cmd = app.add_subcommand("check", "show the accelerator and guest runvm would use");
  cmd->callback([&g, &selected] {
    selected = [&g]() -> int {
      nlohmann::json out;
      bool healthy = true;
      vm::HostFacts facts = vm::probe_host();
      out["host"] = {{"cpuVirtualization", facts.cpu_has_virtualization},
                     {"kvmUsable", facts.kvm_usable},
                     {"kvmProblem", facts.kvm_problem}};
      auto request = vm::parse_accel_request(g.accel);
      auto accel = request ? vm::decide_accel(*request, facts) : Result<vm::AccelDecision>(request.error());
      if (accel) {
        out["accelerator"] = {{"name", vm::accel_name(accel->accel)}, {"reason", accel->reason}};
      } else {
        out["accelerator"] = {{"error", accel.error().describe()}};
        healthy = false;
      }
      auto guest = runtime::locate_guest_artifacts({g.kernel, g.initramfs});
      if (guest) out["guest"] = {{"kernel", guest->kernel}, {"initramfs", guest->initramfs}};
      else out["guest"] = {{"error", guest.error().describe()}}, healthy = false;
      auto qemu = vm::find_qemu();
      if (qemu) out["vmm"] = {{"name", "qemu"}, {"qemu", qemu->qemu}, {"virtiofsd", qemu->virtiofsd}};
      else out["vmm"] = {{"error", qemu.error().describe()}}, healthy = false;
      std::cout << out.dump(2) << std::endl;
      return healthy ? 0 : 1;
    };
  });
}

}  // namespace runvm::cli
