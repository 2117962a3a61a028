// runvm create [--bundle DIR] [--pid-file F] [--console-socket S] ID: boot
// the container's VM and prepare its process; `start` runs it.
#include "cli/create_flags.h"

namespace runvm::cli {

void add_create_flags(CLI::App* cmd, CreateFlags& f) {
  cmd->add_option("container-id", f.id, "the container's ID")->required();
  cmd->add_option("--bundle,-b", f.bundle, "path to the bundle (config.json and rootfs)")
      ->capture_default_str();
  cmd->add_option("--pid-file", f.pid_file, "write the container's host PID here");
  cmd->add_option("--console-socket", f.console_socket,
                  "Unix socket that receives the terminal's master (process.terminal)");
  cmd->add_flag("--no-pivot", f.no_pivot, "accepted for runc compatibility (the guest never pivots)");
  cmd->add_flag("--no-new-keyring", f.no_new_keyring, "accepted for runc compatibility");
  cmd->add_option("--preserve-fds", f.preserve_fds,
                  "accepted for runc compatibility; only 0 is supported (fds cannot cross into a VM)");
}

runtime::CreateOptions create_options(const GlobalOptions& g, const CreateFlags& f) {
  runtime::CreateOptions o = create_options(g);
  o.id = f.id;
  o.bundle = f.bundle;
  o.pid_file = f.pid_file;
  o.console_socket = f.console_socket;
  return o;
}

void add_create_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto f = std::make_shared<CreateFlags>();
  CLI::App* cmd = app.add_subcommand("create", "create a container (its VM booted, its process not yet run)");
  add_create_flags(cmd, *f);
  cmd->callback([&g, &selected, f] {
    selected = [&g, f]() -> int {
      if (f->preserve_fds > 0)
        return report_failure("create", "--preserve-fds is not supported: descriptors cannot be passed into a VM");
      auto status = runtime::create_container(create_options(g, *f));
      if (!status) return report_failure("create", status.error().describe());
      return *status;
    };
  });
}

}  // namespace runvm::cli
