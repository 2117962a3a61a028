// runvm run [--bundle DIR] [--detach] ID: create and start; in the
// foreground, wait for the process and delete the container.
#include "cli/create_flags.h"

namespace runvm::cli {

void add_run_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto f = std::make_shared<CreateFlags>();
  auto detach = std::make_shared<bool>(false);
  auto keep = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("run", "create and run a container in its own VM");
  add_create_flags(cmd, *f);
  cmd->add_flag("--detach,-d", *detach, "detach from the container's process");
  cmd->add_flag("--keep", *keep, "do not delete the container after it exits");
  cmd->callback([&g, &selected, f, detach, keep] {
    selected = [&g, f, detach, keep]() -> int {
      if (f->preserve_fds > 0)
        return report_failure("run", "--preserve-fds is not supported: descriptors cannot be passed into a VM");
      runtime::CreateOptions o = create_options(g, *f);
      o.start = true;
      o.detach = *detach;
      o.keep = *keep;
      auto status = runtime::create_container(o);
      if (!status) return report_failure("run", status.error().describe());
      return *status;
    };
  });
}

}  // namespace runvm::cli
