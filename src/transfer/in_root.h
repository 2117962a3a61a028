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

}  // namespace runvm::transfer
