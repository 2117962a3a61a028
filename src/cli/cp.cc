// runvm cp [-a] [-L] [-q] SRC ID:DEST | ID:SRC DEST: copy files between a
// container and the host with docker cp's path semantics ("-" for a tar
// stream on stdin or stdout). Exit status 0, or 1 with the reason.
#include "cli/commands.h"
#include "runtime/copy.h"

namespace runvm::cli {

void add_cp_command(CLI::App& app, const GlobalOptions& g, CommandRunner& selected) {
  auto o = std::make_shared<runtime::CopyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "cp", "copy files between a container and the host (SRC ID:DEST, ID:SRC DEST, '-' for a tar stream)");
  cmd->add_flag("--archive,-a", o->archive, "keep the source's uid/gid (otherwise the receiving side's user owns the copy)");
  cmd->add_flag("--follow-link,-L", o->follow_link, "follow a symlink SRC");
  cmd->add_flag("--quiet,-q", o->quiet, "no progress output on a terminal");
  cmd->add_option("src", o->src, "SRC: a host path, ID:PATH, or - (a tar stream on stdin)")->required();
  cmd->add_option("dest", o->dest, "DEST: a host path, ID:PATH, or - (a tar stream on stdout)")->required();
  cmd->footer("Usage: runvm cp [OPTIONS] ID:SRC DEST|-\n       runvm cp [OPTIONS] SRC|- ID:DEST");
  cmd->callback([&g, &selected, o] {
    selected = simple_command("cp", [&g, o] {
      o->root = g.root;
      return runtime::copy_files(*o);
    });
  });
}

}  // namespace runvm::cli
