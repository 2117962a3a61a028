// runvm pause ID / runvm resume ID: freeze and thaw the container's whole VM.
#include "cli/commands.h"
#include "runtime/lifecycle.h"

namespace runvm::cli {
namespace {

void add_freeze_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected, bool pause) {
  auto id = std::make_shared<std::string>();
  const char* name = pause ? "pause" : "resume";
  CLI::App* cmd = app.add_subcommand(name, pause ? "freeze the container's VM" : "thaw a paused container's VM");
  cmd->add_option("container-id", *id, "the container's ID")->required();
  cmd->callback([&g, &selected, id, pause, name] {
    selected = simple_command(name, [&g, id, pause] { return runtime::pause_container(g.root, *id, pause); });
  });
}

}  // namespace

void add_pause_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  add_freeze_command(app, g, selected, true);
}

void add_resume_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  add_freeze_command(app, g, selected, false);
}

}  // namespace runvm::cli
