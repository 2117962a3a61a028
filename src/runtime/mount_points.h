// Mount points for a read-only root. A root with `root.readonly` is served
// read-only by the host (virtiofsd sees a read-only bind of it), so the
// agent cannot make a missing mount point in it, as it does in a writable
// one. runc makes them in the rootfs on the host before it remounts the
// root read-only; runvm does the same before the VM boots, confined to the
// rootfs as the agent resolves a destination (transfer::resolve_in_root,
// runc's securejoin: no symlink in it leads out).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace runvm::runtime {

// A mount of the spec, in the spec's order (the agent's order).
struct PlannedMount {
  std::string destination;
  bool bind = false;
  bool file = false;  // a bind of a file: its mount point is a file
};

struct MountPoint {
  std::string path;  // absolute, in the container's root
  bool file = false;
};

// What must exist in the rootfs itself: every mount's destination and the
// process's cwd, except those that land inside an earlier mount (/dev/pts
// inside the /dev tmpfs), which the agent makes there.
std::vector<MountPoint> mount_points_in_rootfs(const std::vector<PlannedMount>& mounts,
                                               const std::string& cwd);

// Makes each missing mount point in `rootfs`, directories as with mkdir -p
// (mode 0755) and files empty (0644). What exists, of whatever kind, is left
// as it is.
Status make_mount_points(const std::string& rootfs, const std::vector<MountPoint>& points);

}  // namespace runvm::runtime
