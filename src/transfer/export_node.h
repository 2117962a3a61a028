// Internal to export: one file system object, opened without following
// symlinks, and how it becomes an archive entry.
#pragma once

#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "transfer/export.h"
#include "transfer/tar_codec.h"

namespace runvm::transfer::detail {

struct Node {
  struct stat st = {};
  UniqueFd fd;       // regular files and directories: open for reading
  std::string link;  // symlinks: the target
};

// dir_fd/name, never following a symlink at name. ENOENT passes through
// (the entry went away: a warning, not an error, for the walker).
Result<Node> load_at(int dir_fd, const std::string& name);
// The path inside the root, following symlinks inside the root.
Result<Node> load_in_root(int root_fd, const std::string& path);

// The names in a directory, sorted, so archives are reproducible.
Result<std::vector<std::string>> list_directory(int dir_fd);

// The entry for `node` named `name`, without data.
Result<EntryPtr> make_entry(const Node& node, const std::string& name, bool xattrs);

// Data regions of a sparse regular file ({offset, length}), or empty when
// it has no holes worth keeping; added to the entry as its sparse map.
std::vector<std::pair<off_t, off_t>> sparse_regions(const Node& node);

// Writes the file's st_size bytes of data: regions from the file, zeros
// between them (the pax writer leaves those out of the archive), zeros
// too where the file shrank while being read. Returns payload bytes.
Result<uint64_t> write_file_data(TarWriter& writer, const Node& node,
                                 const std::vector<std::pair<off_t, off_t>>& regions,
                                 const ExportOptions& options, const std::string& name);

}  // namespace runvm::transfer::detail
