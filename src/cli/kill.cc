// runvm kill [--all] ID [SIGNAL]: signal the container's process in its VM.
#include "cli/commands.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {

void add_kill_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  struct Flags {
    std::string id, signal = "SIGTERM";
    bool all = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("kill", "send a signal (default SIGTERM) to the container's process");
  cmd->add_option("container-id", f->id, "the container's ID")->required();
  cmd->add_option("signal", f->signal, "a name (TERM, SIGKILL) or a number")->capture_default_str();
  cmd->add_flag("--all,-a", f->all, "signal every process of the container");
  cmd->callback([&g, &selected, f] {
    selected = simple_command("kill", [&g, f] { return runtime::kill_container(g.root, f->id, f->signal, f->all); });
  });
}

}  // namespace runvm::cli
