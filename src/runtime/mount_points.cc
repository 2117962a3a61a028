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
  // The agent's order: its own kinds, then the binds.
  std::vector<const PlannedMount*> order;
  for (const auto& m : mounts)
    if (!m.bind) order.push_back(&m);
  for (const auto& m : mounts)
    if (m.bind) order.push_back(&m);
  std::vector<MountPoint> out;
  std::vector<std::vector<std::string>> mounted;  // destinations so far
  auto covered = [&](const std::vector<std::string>& path, bool or_equal) {
    for (const auto& m : mounted)
      if (at_or_below(path, m) && (or_equal || m.size() < path.size())) return true;
    return false;
  };
  for (const PlannedMount* m : order) {
    auto parts = transfer::clean_components(m->destination);
    if (!parts.empty() && !covered(parts, false))
      out.push_back({"/" + transfer::join_components(parts, parts.size()), m->file});
    mounted.push_back(std::move(parts));
  }
  auto parts = transfer::clean_components(cwd);
  if (!parts.empty() && !covered(parts, true))
    out.push_back({"/" + transfer::join_components(parts, parts.size()), false});
  return out;
}

Status make_mount_points(const std::string& rootfs, const std::vector<MountPoint>& points) {
  UniqueFd root = TRY_CTX(io::open_file(rootfs, O_PATH | O_DIRECTORY), "root.path");
  for (const auto& point : points) {
    auto parts = transfer::clean_components(point.path);
    for (size_t i = 0; i < parts.size(); ++i) {
      std::string prefix = transfer::join_components(parts, i);
      UniqueFd parent = TRY_CTX(transfer::open_in_root(root.get(), prefix, O_PATH | O_DIRECTORY),
                                "make the mount point " + point.path + " in the read-only root");
      bool last = i + 1 == parts.size();
      int made = last && point.file
                     ? ::openat(parent.get(), parts[i].c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)
                     : ::mkdirat(parent.get(), parts[i].c_str(), 0755);
      if (made < 0 && errno != EEXIST)
        return fail_errno("make the mount point " + point.path + " in the read-only root");
      if (last && point.file && made >= 0) ::close(made);
    }
  }
  return ok();
}

}  // namespace runvm::runtime
