#include "runtime/mount_points.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io.h"
#include "common/unique_fd.h"
#include "transfer/in_root.h"

namespace runvm::runtime {
namespace {

// Whether `inner` is `outer` or below it (both cleaned components).
bool at_or_below(const std::vector<std::string>& inner, const std::vector<std::string>& outer) {
  if (outer.size() > inner.size()) return false;
  for (size_t i = 0; i < outer.size(); ++i)
    if (inner[i] != outer[i]) return false;
  return true;
}

}  // namespace

std::vector<MountPoint> mount_points_in_rootfs(const std::vector<PlannedMount>& mounts,
                                               const std::string& cwd) {
  std::vector<MountPoint> out;
  std::vector<std::vector<std::string>> mounted;  // destinations so far
  auto covered = [&](const std::vector<std::string>& path, bool or_equal) {
    for (const auto& m : mounted)
      if (at_or_below(path, m) && (or_equal || m.size() < path.size())) return true;
    return false;
  };
  for (const PlannedMount& m : mounts) {  // the agent's order: the spec's
    auto parts = transfer::clean_components(m.destination);
    if (!parts.empty() && !covered(parts, false))
      out.push_back({"/" + transfer::join_components(parts, parts.size()), m.file});
    mounted.push_back(std::move(parts));
  }
  auto parts = transfer::clean_components(cwd);
  if (!parts.empty() && !covered(parts, true))
    out.push_back({"/" + transfer::join_components(parts, parts.size()), false});
  return out;
}

Status make_mount_points(const std::string& rootfs, const std::vector<MountPoint>& points) {
  UniqueFd root = TRY_CTX(io::open_file(rootfs, O_PATH | O_DIRECTORY), "root.path");
  // Resolved as the agent resolves a destination (runc's securejoin), so the
  // point is made where the mount will go.
  for (const auto& point : points)
    TRY_CTX(transfer::resolve_in_root(root.get(), point.path,
                                      point.file ? transfer::MakeMissing::file
                                                 : transfer::MakeMissing::directory),
            "make the mount point " + point.path + " in the read-only root");
  return ok();
}

}  // namespace runvm::runtime
