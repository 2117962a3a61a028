// export_tar: writes a file or tree of the container's root as a tar stream.
//
// The walk opens every entry relative to its parent directory's fd with
// O_NOFOLLOW and never follows a symlink (a symlink is archived as one), so
// the container cannot make the export read a file outside its root. Only
// the top path is looked up by name, inside the root (in_root.h), and is
// followed when it is a symlink only with follow_link (docker cp -L).
//
// The archive is pax: numeric uid/gid, mode, mtime with nanoseconds,
// xattrs, hardlinks (by device and inode), sparse files with their maps,
// long and non-UTF-8 names. Names follow docker cp: the top entry is the
// basename of the path, its contents below it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "common/result.h"
#include "transfer/stream.h"
#include "transfer/summary.h"
#include "transfer/tar_codec.h"

namespace runvm::transfer {

struct ExportOptions {
  // The top entry's name in the archive; empty: the basename of the path
  // ("." for the root itself).
  std::string name;
  // For a directory, only what is in it, named relative to it (docker cp
  // "dir/."): the directory's own entry is not written.
  bool contents_only = false;
  // Follow the path itself if it is a symlink, inside the root (docker cp
  // -L). Symlinks below it are never followed.
  bool follow_link = false;
  bool xattrs = true;
  // Go on past an entry that cannot be read (GNU tar does, then exits 2);
  // otherwise the first one ends the export.
  bool keep_going = false;
  std::function<void(const std::string& name)> on_entry;  // each entry written (tar -v)
  std::function<void(const Error& error)> on_error;       // each failed entry
  std::function<void(const std::string& message)> on_warning;  // sockets skipped, files that shrank
};

// Several paths into one archive (tar cf - a b), hardlinks shared among them.
class TarExporter {
 public:
  static Result<TarExporter> open(ByteSink& out);

  // Adds `path` (relative to root_fd; leading '/' and ".." cleaned
  // lexically) and everything below it.
  Status add(int root_fd, const std::string& path, const ExportOptions& options);
  // Ends the archive.
  Result<TransferSummary> finish();

 private:
  explicit TarExporter(TarWriter writer);

  TarWriter writer_;
  TransferSummary summary_;
  // First archive name of each inode with more than one link.
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  friend struct ExportWalk;
};

Result<TransferSummary> export_tar(int root_fd, const std::string& path, ByteSink& out,
                                   const ExportOptions& options);

}  // namespace runvm::transfer
