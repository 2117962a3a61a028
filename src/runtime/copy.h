// runvm cp: copies files and directories between a container and the host,
// or a tar stream in or out ("-"), with docker cp's path semantics
// (copy_plan.h). A running container's side of the copy is made in the
// guest; a paused one's on the host's view of its rootfs (copy_side.h).
// Host files are read and written with the same transfer functions, each
// extraction confined to its destination directory.
#pragma once

#include <string>

#include "common/result.h"

namespace runvm::runtime {

struct CopyOptions {
  std::string root = "/run/runvm";
  std::string src;   // operands as given: PATH, ID:PATH or "-"
  std::string dest;
  bool archive = false;      // -a: keep the source's uid/gid
  bool follow_link = false;  // -L: follow a symlink SRC
  bool quiet = false;        // -q: no progress line
};

Status copy_files(const CopyOptions& options);

}  // namespace runvm::runtime
