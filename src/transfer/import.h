// import_tar: unpacks a tar stream into a directory of the container's root.
//
// Safety: every path is resolved inside root_fd (see in_root.h); entries are
// created with *at() calls on a pinned parent directory and never follow a
// symlink at their last component, so neither the archive nor the container
// changing the tree during the copy can make a write land outside the root.
// Semantics, as docker cp and GNU tar:
//  - leading '/' are stripped from member names; names with ".." fail;
//  - a symlink from the archive (or the container) is followed when a later
//    entry goes through it, inside the root: a link to "/etc" makes
//    "link/x" land in the root's /etc, never the host's;
//  - hardlink targets are member names too: resolved the same way;
//  - what exists is replaced (a non-empty directory is not: an error), an
//    existing directory under a directory entry is kept and its metadata set;
//  - the destination itself ("." entries) is never modified.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/result.h"
#include "transfer/stream.h"
#include "transfer/summary.h"

namespace runvm::transfer {

struct ImportOptions {
  // chown to the archive's numeric uid/gid (tar --same-owner; false is
  // --no-same-owner: files belong to the caller).
  bool same_owner = true;
  // The archived mode as it is, setuid/setgid/sticky included (tar -p).
  // false (--no-same-permissions): mode & 0777 & ~umask. setuid/setgid on
  // files also need same_owner: a set-id file the archive does not own
  // would otherwise be set-id to whoever extracts it.
  bool same_permissions = true;
  mode_t umask = 022;
  bool touch = false;          // tar -m: leave mtimes at the time of extraction
  bool allow_devices = false;  // device nodes and FIFOs; refused otherwise
  // FIFOs alone (without device nodes): a FIFO names no device, so it is
  // safe to take from a container onto the host (runvm cp), a node is not.
  bool allow_fifos = false;
  bool xattrs = true;          // restore extended attributes where the fs keeps them
  // Go on with the next entry when one fails (GNU tar does, then exits 2);
  // otherwise the first failure ends the import and is returned.
  bool keep_going = false;
  // If set, every member (and hardlink target) must be this name or below
  // it: runvm cp asked the guest for one path, and an archive naming
  // anything else beside it in the destination directory is refused.
  std::string only_under;
  // Never go through a symlink below the root, not even one the archive
  // just made (tar follows those, inside the root): with an archive from
  // an untrusted side, a symlink entry could otherwise aim later entries
  // anywhere in the destination directory. What was asked for never goes
  // through one: an exporter does not follow symlinks below its top.
  bool no_symlinks = false;
  // As docker cp (its archive package's NoOverwriteDirNonDir): an entry
  // never replaces a directory with a non-directory or the other way round;
  // that is an error naming both. tar (false) replaces them.
  bool keep_kinds = false;
  std::function<void(const std::string& name)> on_entry;  // before each entry (tar -v)
  std::function<void(const Error& error)> on_error;       // each failed entry
  std::function<void(const std::string& message)> on_warning;
};

// Unpacks the tar stream `in` into `dest`, a directory given relative to
// root_fd (leading '/' and ".." allowed, cleaned lexically) that must exist. Fails on a stream or
// format error, and on the first failed entry unless keep_going is set.
Result<TransferSummary> import_tar(int root_fd, const std::string& dest, ByteSource& in,
                                   const ImportOptions& options);

}  // namespace runvm::transfer
