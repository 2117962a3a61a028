// stat_in_root: what a path names inside a root, for runvm cp's path
// semantics (is the destination a directory, a file, or missing?). Looked up
// like everything else in transfer: confined to the root (in_root.h), so
// the same function serves the host ("/"), a paused container's rootfs on
// the host and the agent (through /proc/<init>/root).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace runvm::transfer {

struct PathInfo {
  enum class Kind { kFile, kDirectory, kSymlink, kOther };
  Kind kind = Kind::kOther;
  mode_t mode = 0;        // st_mode, type bits included
  uint64_t size = 0;
  std::string link_target;  // kSymlink only
};

// `path` inside root_fd ('/' and ".." cleaned lexically, as in_root.h).
// With follow_link a symlink at the last component is followed (inside the
// root); without, it is reported as kSymlink. The error keeps errno
// (ENOENT, ENOTDIR), which is how callers tell "missing" from "broken".
Result<PathInfo> stat_in_root(int root_fd, const std::string& path, bool follow_link);

// The wire form (docs/protocol.md, "stat_path") and back.
nlohmann::json path_info_to_json(const PathInfo& info);
Result<PathInfo> path_info_from_json(const nlohmann::json& j);
const char* kind_name(PathInfo::Kind kind);

}  // namespace runvm::transfer
