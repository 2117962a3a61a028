// Finding where an entry goes, and clearing the way for it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "transfer/extract.h"
#include "transfer/in_root.h"

namespace runvm::transfer::detail {
namespace {

constexpr int kDirFlags = O_PATH | O_DIRECTORY;

// Opens parts[0..count) inside the root, creating missing directories one
// level at a time. Each level is resolved again from the root, so a
// symlink met on the way is followed inside the root, never outside.
Result<UniqueFd> open_dir_creating(int root_fd, const std::vector<std::string>& parts,
                                   size_t count, bool no_symlinks) {
  auto open = [&](const std::string& path) {
    return open_in_root(root_fd, path, kDirFlags, 0, no_symlinks);
  };
  Result<UniqueFd> direct = open(join_components(parts, count));
  if (!direct && direct.error().errno_value() == ELOOP && no_symlinks)
    return fail("refusing to go through a symlink in " + join_components(parts, count));
  if (direct || direct.error().errno_value() != ENOENT) return direct;
  UniqueFd dir = TRY(open(""));
  for (size_t i = 0; i < count; ++i) {
    std::string prefix = join_components(parts, i + 1);
    Result<UniqueFd> next = open(prefix);
    if (!next && next.error().errno_value() == ENOENT) {
      // 0777: the process umask gives these the mode tar gives them.
      if (::mkdirat(dir.get(), parts[i].c_str(), 0777) < 0 && errno != EEXIST)
        return fail_errno("create directory " + prefix);
      next = open(prefix);
    }
    if (!next) return std::move(next).error();
    dir = std::move(*next);
  }
  return dir;
}

}  // namespace

Result<Place> place_for(int root_fd, const std::vector<std::string>& parts, bool no_symlinks) {
  Place place;
  place.parent = TRY(open_dir_creating(root_fd, parts, parts.size() - 1, no_symlinks));
  place.name = parts.back();
  place.path = join_components(parts, parts.size());
  return place;
}

Status make_room(int parent, const std::string& name) {
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return fail_errno("stat the existing " + name);
  }
  if (S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return ok();
    if (errno == ENOTEMPTY || errno == EEXIST)
      return fail("cannot replace non-empty directory " + name);
    return fail_errno("remove the existing directory " + name);
  }
  if (::unlinkat(parent, name.c_str(), 0) < 0 && errno != ENOENT)
    return fail_errno("remove the existing " + name);
  return ok();
}

}  // namespace runvm::transfer::detail
