// runvm start ID: run the created container's process.
#include "cli/commands.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {

void add_start_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("start", "start a created container's process");
  cmd->add_option("container-id", *id, "the container's ID")->required();
  cmd->callback([&g, &selected, id] {
    selected = simple_command("start", [&g, id] { return runtime::start_container(g.root, *id); });
  });
}

}  // namespace runvm::cli
