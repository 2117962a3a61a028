// Path handling confined to a root directory: the container's root.
//
// Every path the transfer code follows is resolved by the kernel with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): `..`, absolute paths and
// symlinks (absolute or relative) are resolved as if root_fd were "/", so
// no name from an archive and no symlink the container plants can lead
// outside it, even if the container changes the tree while we work.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::transfer {

// openat2(root_fd, path, flags | O_CLOEXEC, mode) resolved inside root_fd. An
// empty path is the root itself. With no_symlinks, a symlink anywhere on the
// path fails it (ELOOP) instead of being followed (RESOLVE_NO_SYMLINKS).
Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags,
                              mode_t mode = 0, bool no_symlinks = false);

// The components of a member name from an archive. Leading '/' are removed
// (as GNU tar and docker cp do: the name is then relative to the
// destination), "." and empty components dropped; a ".." component is an
// error, so no name can climb above the destination even lexically.
// `stripped` (optional) is set when a leading '/' was removed.
Result<std::vector<std::string>> member_components(std::string_view name,
                                                   bool* stripped = nullptr);

// The components of a path given by our caller (not an archive): "." and
// empty components dropped, ".." removing the one before it (never above
// the root), as Go's filepath.Clean does for docker cp.
std::vector<std::string> clean_components(std::string_view path);

// Components joined with '/'; "" for none.
std::string join_components(const std::vector<std::string>& parts, size_t count);

// What resolve_in_root makes where a path's components are missing.
enum class MakeMissing {
  nothing,    // a missing component is an error (ENOENT)
  directory,  // mkdir -p: every missing component a directory (0755)
  file,       // the parents as directories, the last an empty file (0644)
};

// A path resolved inside a root: where a mount goes.
struct InRoot {
  UniqueFd fd;         // O_PATH of what the path names, inside the root
  UniqueFd parent;     // O_PATH of its directory; invalid for the root itself
  std::string name;    // its entry in `parent` ("" for the root itself)
  std::string path;    // where it is, from the root: "/etc/stack"
};

// Resolves `path` inside root_fd as runc's securejoin does for a mount
// destination (ARCHITECTURE, "What the guest enforces"): one component at a
// time, never letting the kernel follow a link. A symlink is read and its
// target walked in its place, an absolute one from the root; `..` goes up
// from where the walk is, never above the root; so whatever the tree holds
// (absolute links, `..` climbing, links to links), the result is inside the
// root. Missing components are made as `make` says, through a dangling link
// too (its target is made, inside the root), as runc's MkdirAll after
// securejoin makes them; a missing component followed by `..` is passed over
// lexically, as securejoin does. More than 40 links is ELOOP, a component
// that is not a directory where one is needed ENOTDIR. With follow_last
// false, a last component that is a symlink is not followed: `fd` is the
// link itself. Errors name the path as the container sees it.
Result<InRoot> resolve_in_root(int root_fd, std::string_view path, MakeMissing make,
                               bool follow_last = true);

}  // namespace runvm::transfer
