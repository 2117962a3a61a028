// Loading file system objects for export, and their archive entries.
#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <cstring>

#include "transfer/export_node.h"
#include "transfer/in_root.h"

namespace runvm::transfer::detail {
namespace {

// O_NONBLOCK: if a FIFO or device is swapped in between stat and open,
// the open does not hang (and fstat then shows the change).
constexpr int kReadFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

bool needs_fd(mode_t mode) { return S_ISREG(mode) || S_ISDIR(mode); }

bool same_object(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
         (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT);
}

// Opens for reading the object that `path_fd` (O_PATH) pins, which was
// `expected` when looked up: through /proc/self/fd, so it is that inode and
// nothing the tree swapped in meanwhile. Opening by name again could open a
// device node put there after the stat, and a device's open can act on it
// (a watchdog arms, a tape rewinds): on the host that is the host's device.
// Without /proc (a container that mounts none), by name, checked after.
Result<UniqueFd> open_pinned(int path_fd, const struct stat& expected,
                             const std::function<Result<UniqueFd>()>& by_name) {
  struct stat now;
  if (::fstat(path_fd, &now) < 0) return fail_errno("stat");
  if (!same_object(expected, now) || !needs_fd(now.st_mode)) return fail("changed while being read");
  int fd = ::open(("/proc/self/fd/" + std::to_string(path_fd)).c_str(), kReadFlags);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT) return fail_errno("open");
  return by_name();
}

Result<std::string> read_link_at(int dir_fd, const std::string& name, size_t hint) {
  std::string target(std::max<size_t>(hint, 64) + 1, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    if (n < 0) return fail_errno("read symlink");
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

// Values are read after their names were listed: either may change under
// us (ERANGE), so each is tried a few times before giving up.
Status add_xattrs(int fd, archive_entry* e) {
  ssize_t size = ::flistxattr(fd, nullptr, 0);
  if (size < 0) return (errno == ENOTSUP || errno == EOPNOTSUPP) ? ok() : fail_errno("list xattrs");
  std::string names(static_cast<size_t>(size), '\0');
  size = ::flistxattr(fd, names.data(), names.size());
  if (size < 0) return fail_errno("list xattrs");
  names.resize(static_cast<size_t>(size));
  for (size_t pos = 0; pos < names.size(); pos += std::strlen(names.c_str() + pos) + 1) {
    const char* name = names.c_str() + pos;
    std::string value;
    ssize_t n = -1;
    for (int attempt = 0; attempt < 4; ++attempt) {
      ssize_t want = ::fgetxattr(fd, name, nullptr, 0);
      if (want < 0) break;
      value.resize(static_cast<size_t>(want));
      n = ::fgetxattr(fd, name, value.data(), value.size());
      if (n >= 0 || errno != ERANGE) break;
    }
    if (n < 0) {
      if (errno == ENODATA) continue;  // removed since it was listed
      return fail_errno(std::string("read xattr ") + name);
    }
    archive_entry_xattr_add_entry(e, name, value.data(), static_cast<size_t>(n));
  }
  return ok();
}

}  // namespace

Result<Node> load_at(int dir_fd, const std::string& name) {
  Node node;
  if (::fstatat(dir_fd, name.c_str(), &node.st, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("stat");
  if (S_ISLNK(node.st.st_mode)) {
    node.link = TRY(read_link_at(dir_fd, name, static_cast<size_t>(node.st.st_size)));
    return node;
  }
  if (!needs_fd(node.st.st_mode)) return node;
  int pinned = ::openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pinned < 0) return fail_errno("open");
  UniqueFd path_fd(pinned);
  node.fd = TRY(open_pinned(path_fd.get(), node.st, [&]() -> Result<UniqueFd> {
    int fd = ::openat(dir_fd, name.c_str(), kReadFlags | O_NOFOLLOW);
    if (fd < 0) return fail_errno("open");
    return UniqueFd(fd);
  }));
  struct stat now;
  if (::fstat(node.fd.get(), &now) < 0) return fail_errno("stat");
  if (!same_object(node.st, now)) return fail("changed while being read");
  node.st = now;
  return node;
}

Result<Node> load_in_root(int root_fd, const std::string& path) {
  Node node;
  UniqueFd where = TRY(open_in_root(root_fd, path, O_PATH));
  if (::fstat(where.get(), &node.st) < 0) return fail_errno("stat " + path);
  if (!needs_fd(node.st.st_mode)) return node;
  node.fd = TRY_CTX(open_pinned(where.get(), node.st, [&] { return open_in_root(root_fd, path, kReadFlags); }), path);
  struct stat now;
  if (::fstat(node.fd.get(), &now) < 0) return fail_errno("stat " + path);
  if (!same_object(node.st, now)) return fail(path + ": changed while being read");
  node.st = now;
  return node;
}

Result<std::vector<std::string>> list_directory(int dir_fd) {
  // fdopendir takes the descriptor it is given: give it its own.
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail_errno("duplicate directory fd");
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return fail_errno("open directory");
  }
  ::rewinddir(dir);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* d = ::readdir(dir)) {
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0)
      names.emplace_back(d->d_name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Failure{Error("read directory", err)};
  std::sort(names.begin(), names.end());
  return names;
}

Result<EntryPtr> make_entry(const Node& node, const std::string& name, bool xattrs) {
  EntryPtr e(archive_entry_new());
  if (!e) return fail("allocate an archive entry");
  const struct stat& st = node.st;
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), st.st_mode & S_IFMT);
  archive_entry_set_perm(e.get(), st.st_mode & 07777);
  archive_entry_set_uid(e.get(), st.st_uid);
  archive_entry_set_gid(e.get(), st.st_gid);
  archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_size(e.get(), S_ISREG(st.st_mode) ? st.st_size : 0);
  if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(e.get(), node.link.c_str());
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
    archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
  }
  if (xattrs && node.fd) TRY_CTX(add_xattrs(node.fd.get(), e.get()), name);
  return e;
}

}  // namespace runvm::transfer::detail
