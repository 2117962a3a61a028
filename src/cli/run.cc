// runvm run [--bundle DIR] ID: create and start in the foreground.
#include <thread>

#include "cli/commands.h"
#include "runtime/run.h"

namespace runvm::cli {

struct RunFlags {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  bool detach = false;
};

void add_run_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "create and run a container in its own VM");
  cmd->add_option("container-id", flags->id, "the container's ID")->required();
  cmd->add_option("--bundle,-b", flags->bundle, "path to the bundle (config.json and rootfs)")
      ->capture_default_str();
  cmd->add_flag("--detach,-d", flags->detach, "detach from the container's process");
  cmd->callback([&g, &selected, flags] {
    selected = [&g, flags]() -> int {
      if (flags->detach)
        return report_failure("run", "--detach is not supported yet: use create and start");
      runtime::RunOptions o;
      o.root = g.root;
      o.id = flags->id;
      o.bundle = flags->bundle;
      auto accel = vm::parse_accel_request(g.accel);
      if (!accel) return report_failure("run", accel.error().describe());
      o.accel = *accel;
      o.artifacts = {g.kernel, g.initramfs};
      if (g.vcpus) o.size.vcpus = g.vcpus;
      if (g.memory_mib) o.size.memory_mib = g.memory_mib;
      o.boot_timeout = std::chrono::seconds(g.boot_timeout_s);
      auto status = runtime::run_container(o);
      if (!status) return report_failure("run", status.error().describe());
      return *status;
    };
  });
}

}  // namespace runvm::cli
