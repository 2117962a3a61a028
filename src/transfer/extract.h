// Internal to import: creating one archive entry in the file system.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "transfer/import.h"
#include "transfer/tar_codec.h"

namespace runvm::transfer::detail {

// A directory whose mode and mtime are set after everything in it was
// written, as tar does, found again by path and checked by identity.
struct DeferredDir {
  std::string path;  // relative to the root
  dev_t dev;
  ino_t ino;
  mode_t mode;
  timespec times[2];
};

struct ImportContext {
  int root_fd;
  std::vector<std::string> dest;  // the destination's components
  const ImportOptions& options;
  TransferSummary& summary;
  std::vector<DeferredDir> dirs;
  bool stream_failed = false;  // the reader failed: no entry can follow
};

// Where an entry goes: a pinned parent directory and the name in it.
struct Place {
  UniqueFd parent;  // O_PATH | O_DIRECTORY, resolved inside the root
  std::string name;
  std::string path;  // relative to the root, for messages and deferred passes
};

// Opens (creating missing directories, as tar does) the parent of the
// root-relative path `parts`; with no_symlinks, never through a symlink.
Result<Place> place_for(int root_fd, const std::vector<std::string>& parts, bool no_symlinks);

// Removes what is at parent/name (file, symlink, empty directory) so that
// an entry can be created there; a non-empty directory is an error.
Status make_room(int parent, const std::string& name);

Status extract_file(ImportContext& ctx, TarReader& reader, archive_entry* e, const Place& at);
Status extract_dir(ImportContext& ctx, archive_entry* e, const Place& at);
Status extract_symlink(ImportContext& ctx, archive_entry* e, const Place& at);
Status extract_hardlink(ImportContext& ctx, archive_entry* e, const Place& at);
Status extract_node(ImportContext& ctx, archive_entry* e, const Place& at);

// Metadata, applied in the order the kernel needs: chown first (it clears
// set-id bits and file capabilities), then mode, xattrs, and times last.
mode_t final_mode(archive_entry* e, bool is_dir, const ImportOptions& options);
Status set_owner(int fd, archive_entry* e, const ImportOptions& options);
Status set_owner_at(int parent, const std::string& name, archive_entry* e,
                    const ImportOptions& options);
void set_xattrs(int fd, archive_entry* e, const ImportContext& ctx);
// atime (UTIME_OMIT when the archive has none) and mtime of the entry.
void entry_times(archive_entry* e, timespec out[2]);
Status set_times_at(int parent, const std::string& name, archive_entry* e,
                    const ImportOptions& options);

}  // namespace runvm::transfer::detail
