// runvm checkpoint / restore: runc's commands, answered with a clear "not
// supported" until a container's VM can be snapshotted (whatever flags and
// arguments runc's callers pass, so the message is the one they see).
#include "cli/commands.h"

namespace runvm::cli {
namespace {

void add_unsupported(CLI::App& app, CommandRunner& selected, const std::string& name, const std::string& what) {
  CLI::App* cmd = app.add_subcommand(name, what + " (not supported by runvm)");
  cmd->allow_extras();
  cmd->callback([&selected, name] {
    selected = [name]() -> int {
      return report_failure(name, name + " is not supported by runvm: a container's VM cannot be snapshotted yet");
    };
  });
}

}  // namespace

void add_checkpoint_command(CLI::App& app, const GlobalOptions&, CommandRunner& selected) {
  add_unsupported(app, selected, "checkpoint", "checkpoint a running container");
}

void add_restore_command(CLI::App& app, const GlobalOptions&, CommandRunner& selected) {
  add_unsupported(app, selected, "restore", "restore a container from a checkpoint");
}

}  // namespace runvm::cli
