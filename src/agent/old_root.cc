#include "agent/old_root.h"

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>

#include "common/io.h"
#include "common/procfs.h"
#include "transfer/in_root.h"

namespace runvm::agent {
namespace {

bool is_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

std::vector<std::string> mounts_outside(const std::string& mountinfo, const std::string& root) {
  const auto root_parts = transfer::clean_components(root);
  std::vector<std::pair<size_t, std::string>> found;
  for (const procfs::MountInfo& m : procfs::parse_mountinfo(mountinfo)) {
    auto parts = transfer::clean_components(m.mount_point);
    // An ancestor of the root (or the root itself) holds it up; below the
    // root is the container's own.
    if (is_prefix(parts, root_parts) || is_prefix(root_parts, parts)) continue;
    found.emplace_back(parts.size(), "/" + transfer::join_components(parts, parts.size()));
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& [depth, where] : found) out.push_back(std::move(where));
  return out;
}

Status detach_outside(const std::string& root) {
  std::string mountinfo = TRY_CTX(io::read_file("/proc/self/mountinfo"), "read the mount table");
  for (const std::string& where : mounts_outside(mountinfo, root))
    // EINVAL/ENOENT: already gone with a mount detached before it.
    if (::umount2(where.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
      return fail_errno("detach the guest's mount " + where + " from the container");
  return ok();
}

}  // namespace runvm::agent
