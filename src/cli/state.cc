// runvm state ID: the OCI state of a container, as runc prints it.
#include <cstdio>

#include "cli/commands.h"
#include "common/json_bytes.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {

void add_state_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("state", "print a container's state (OCI state JSON)");
  cmd->add_option("container-id", *id, "the container's ID")->required();
  cmd->callback([&g, &selected, id] {
    selected = [&g, id]() -> int {
      auto s = runtime::find_container(g.root, *id);
      if (!s) return report_failure("state", s.error().describe());
      std::fputs(json_bytes::to_text(runtime::state_for_output(*s), 2).c_str(), stdout);
      return 0;
    };
  });
}

}  // namespace runvm::cli
