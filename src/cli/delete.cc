// runvm delete [--force] ID: remove a stopped container (with --force, any).
#include "cli/commands.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {

void add_delete_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("delete", "delete a container and everything runvm kept for it");
  cmd->add_option("container-id", *id, "the container's ID")->required();
  cmd->add_flag("--force,-f", *force, "kill the container first if it still runs");
  cmd->callback([&g, &selected, id, force] {
    selected = simple_command("delete", [&g, id, force] { return runtime::delete_container(g.root, *id, *force); });
  });
}

}  // namespace runvm::cli
