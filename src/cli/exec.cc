// runvm exec [flags] ID [COMMAND...]: run a process in a running container,
// inside its VM.
#include "cli/commands.h"
#include "runtime/exec.h"

namespace runvm::cli {

void add_exec_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto o = std::make_shared<runtime::ExecOptions>();
  auto preserve_fds = std::make_shared<int>(0);
  CLI::App* cmd = app.add_subcommand("exec", "run a process in a running container");
  cmd->add_option("--process,-p", o->process_file, "a JSON process (OCI spec) to run instead");
  cmd->add_flag("--tty,-t", o->tty, "allocate a terminal");
  cmd->add_option("--console-socket", o->console_socket, "Unix socket that receives the terminal's master");
  cmd->add_flag("--detach,-d", o->detach, "detach; a host process stands for it (see --pid-file)");
  cmd->add_option("--pid-file", o->pid_file, "write the host PID that stands for the process here");
  cmd->add_option("--cwd", o->cwd, "working directory in the container");
  // Repeatable, one value each (as runc's), so they cannot swallow the ID.
  cmd->add_option("--env,-e", o->env, "KEY=VALUE to set (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--user,-u", o->user, "uid[:gid]");
  cmd->add_option("--cap,-c", o->caps, "capability to add (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--no-new-privs", o->no_new_privs, "set no_new_privs");
  cmd->add_option("--additional-gids,-g", o->additional_gids, "an additional group ID (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--cgroup", o->cgroups,
                  "run in this existing sub-cgroup of the container's ([controller:]path; repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--ignore-paused", o->ignore_paused,
                "exec in a paused container: the process starts once it is resumed");
  // Accepted as runc accepts them; the guest has neither AppArmor nor
  // SELinux, so there is nothing to apply (runvm features says so).
  auto label = std::make_shared<std::string>();
  cmd->add_option("--process-label", *label, "accepted for runc compatibility (no SELinux in the guest)");
  cmd->add_option("--apparmor", *label, "accepted for runc compatibility (no AppArmor in the guest)");
  cmd->add_option("--preserve-fds", *preserve_fds, "only 0 is supported (fds cannot cross into a VM)");
  // Everything after the ID is the command, flags included (sh -c ...), so
  // option parsing stops there.
  cmd->prefix_command();
  cmd->footer("Usage: runvm exec [OPTIONS] CONTAINER-ID [COMMAND [ARG...]]");
  cmd->callback([&g, &selected, o, preserve_fds, cmd, label] {
    std::vector<std::string> rest = cmd->remaining();
    // As Go's flag package: flags end at the first argument that is not
    // one (or at "--"); an unknown flag before the ID is an error, never
    // taken for the ID. After the ID everything is the command's.
    if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
    else if (!rest.empty() && rest.front().size() > 1 && rest.front()[0] == '-') {
      std::string message = undefined_flag(rest.front());
      selected = [cmd, message] { return usage_failure(cmd, message); };
      return;
    }
    if (!rest.empty()) {
      o->id = rest.front();
      o->args.assign(rest.begin() + 1, rest.end());
    }
    selected = [&g, o, preserve_fds]() -> int {
      // runc's exec exits 255 when the process could not be run.
      auto failed = [](const std::string& message) {
        report_failure("exec", message);
        return 255;
      };
      if (o->id.empty()) return failed("exec needs a container ID");
      if (*preserve_fds > 0) return failed("--preserve-fds is not supported: descriptors cannot be passed into a VM");
      o->root = g.root;
      if (o->detach) log_to_file_only(g);
      auto status = runtime::exec_process(*o);
      if (!status) return failed(status.error().describe());
      return *status;
    };
  });
}

}  // namespace runvm::cli
