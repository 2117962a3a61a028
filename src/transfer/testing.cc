#include "transfer/testing.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/io.h"

namespace runvm::transfer::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/runvm-transfer-XXXXXX";
  char* p = ::mkdtemp(tmpl);
  if (p == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  path_ = p ? p : "/nonexistent";
}

TempDir::~TempDir() {
  // The tests make read-only and sticky directories: as root, removal works.
  (void)io::remove_tree(path_);
}

void write_file(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  UniqueFd owned(fd);
  ASSERT_TRUE(io::write_all(fd, data));
  ASSERT_EQ(::fchmod(fd, mode), 0);
}

std::string read_file(const std::string& path) {
  auto r = io::read_file(path);
  EXPECT_TRUE(r) << path;
  return r ? *r : "";
}

void make_dirs(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos == path.size() || path[pos] == '/') ::mkdir(path.substr(0, pos).c_str(), 0755);
  }
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

UniqueFd open_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
  return UniqueFd(fd);
}

Result<size_t> StringSource::read(char* buf, size_t size) {
  if (before_read_) before_read_(pos_);
  size_t n = std::min({size, chunk_, data_.size() - pos_});
  std::memcpy(buf, data_.data() + pos_, n);
  pos_ += n;
  return n;
}

ArchiveBuilder::ArchiveBuilder() {
  auto w = TarWriter::open(sink_);
  EXPECT_TRUE(w);
  if (w) writer_.emplace(std::move(*w));
}

ArchiveBuilder& ArchiveBuilder::add(archive_entry* e, const std::string& data) {
  EntryPtr owned(e);
  archive_entry_set_mtime(e, 1600000000, 0);
  Status s = writer_->write_header(e);
  EXPECT_TRUE(s) << s.error().describe();
  if (!data.empty()) {
    EXPECT_TRUE(writer_->write_data(data.data(), data.size()));
  }
  return *this;
}

ArchiveBuilder& ArchiveBuilder::file(const std::string& name, const std::string& data, mode_t mode) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, mode);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  return add(e, data);
}

ArchiveBuilder& ArchiveBuilder::dir(const std::string& name, mode_t mode) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, mode);
  return add(e, "");
}

ArchiveBuilder& ArchiveBuilder::symlink(const std::string& name, const std::string& target) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFLNK);
  archive_entry_set_perm(e, 0777);
  archive_entry_set_symlink(e, target.c_str());
  return add(e, "");
}

ArchiveBuilder& ArchiveBuilder::hardlink(const std::string& name, const std::string& target) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_hardlink(e, target.c_str());
  return add(e, "");
}

ArchiveBuilder& ArchiveBuilder::node(const std::string& name, mode_t type, dev_t rdev) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_rdev(e, rdev);
  return add(e, "");
}

std::string ArchiveBuilder::finish() {
  EXPECT_TRUE(writer_->finish());
  return sink_.data();
}

namespace {

std::string user_xattrs(const std::string& path) {
  char names[4096];
  ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  std::vector<std::string> out;
  for (ssize_t pos = 0; pos < n; pos += static_cast<ssize_t>(std::strlen(names + pos)) + 1) {
    std::string name = names + pos;
    if (name.rfind("user.", 0) != 0) continue;
    char value[4096];
    ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    out.push_back(name + "=" + std::string(value, len > 0 ? static_cast<size_t>(len) : 0));
  }
  std::sort(out.begin(), out.end());
  std::string joined;
  for (const auto& x : out) joined += " " + x;
  return joined;
}

void describe_into(const std::string& root, const std::string& rel,
                   std::map<std::string, std::string>& out,
                   std::map<std::pair<dev_t, ino_t>, std::string>& inodes, bool with_mtime) {
  std::string path = rel == "." ? root : root + "/" + rel;
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) return;
  std::string d = "mode=" + std::to_string(st.st_mode) + " owner=" + std::to_string(st.st_uid) +
                  ":" + std::to_string(st.st_gid) + " nlink=" + std::to_string(st.st_nlink);
  if (with_mtime)
    d += " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  if (!S_ISDIR(st.st_mode)) {
    auto [it, first] = inodes.try_emplace({st.st_dev, st.st_ino}, rel);
    if (!first) d += " same-inode-as=" + it->second;
  }
  if (S_ISREG(st.st_mode)) {
    d += " size=" + std::to_string(st.st_size) +
         " hash=" + std::to_string(std::hash<std::string>{}(read_file(path)));
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    d += " target=" + std::string(target, n > 0 ? static_cast<size_t>(n) : 0);
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    d += " rdev=" + std::to_string(st.st_rdev);
  }
  if (!S_ISLNK(st.st_mode)) d += user_xattrs(path);
  out[rel] = d;
  if (!S_ISDIR(st.st_mode)) return;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir))
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names)
    describe_into(root, rel == "." ? name : rel + "/" + name, out, inodes, with_mtime);
}

}  // namespace

std::map<std::string, std::string> describe_tree(const std::string& path, bool with_mtime) {
  std::map<std::string, std::string> out;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  describe_into(path, ".", out, inodes, with_mtime);
  return out;
}

}  // namespace runvm::transfer::testing
