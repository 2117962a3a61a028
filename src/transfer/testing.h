// Test helpers for the transfer tests: temporary trees, in-memory streams,
// crafted archives and tree descriptions to compare.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/unique_fd.h"
#include "transfer/stream.h"
#include "transfer/tar_codec.h"

namespace runvm::transfer::testing {

// A directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& data, mode_t mode = 0644);
std::string read_file(const std::string& path);
void make_dirs(const std::string& path);
bool exists(const std::string& path);  // lstat succeeds
UniqueFd open_dir(const std::string& path);

class StringSink : public ByteSink {
 public:
  Status write(std::string_view data) override {
    data_.append(data);
    return ok();
  }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

// Serves `data` in chunks of at most `chunk` bytes; `before_read(pos)` runs
// before each read, with the number of bytes served so far.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t chunk = 64 * 1024,
                        std::function<void(size_t)> before_read = {})
      : data_(std::move(data)), chunk_(chunk), before_read_(std::move(before_read)) {}
  Result<size_t> read(char* buf, size_t size) override;

 private:
  std::string data_;
  size_t chunk_;
  std::function<void(size_t)> before_read_;
  size_t pos_ = 0;
};

// Archives crafted entry by entry with libarchive's pax writer; offsets()
// says where each entry's header starts in the result.
class ArchiveBuilder {
 public:
  ArchiveBuilder();
  ArchiveBuilder& file(const std::string& name, const std::string& data, mode_t mode = 0644);
  ArchiveBuilder& dir(const std::string& name, mode_t mode = 0755);
  ArchiveBuilder& symlink(const std::string& name, const std::string& target);
  ArchiveBuilder& hardlink(const std::string& name, const std::string& target);
  ArchiveBuilder& node(const std::string& name, mode_t type, dev_t rdev = 0);
  std::string finish();

 private:
  ArchiveBuilder& add(archive_entry* e, const std::string& data);
  StringSink sink_;
  std::optional<TarWriter> writer_;
};

// One line per object under `path` (itself as "."), keyed by relative
// name: type, mode, owner, size, mtime, content or target, user.* xattrs,
// and for hardlinks the first name of the inode. Equal trees, equal maps.
std::map<std::string, std::string> describe_tree(const std::string& path, bool with_mtime = true);

}  // namespace runvm::transfer::testing
