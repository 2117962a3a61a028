#include "common/io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

namespace runvm::io {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail_errno("open " + path);
  return UniqueFd(fd);
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<std::string> read_file(const std::string& path) { return read_file_at(AT_FDCWD, path); }

Result<std::string> read_file_at(int dir, const std::string& path) {
  int raw;
  do {
    raw = ::openat(dir, path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) return fail_errno("open " + path);
  UniqueFd fd(raw);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status write_file_atomic(const std::string& path, std::string_view data,
                         mode_t mode) {
  return write_file_atomic_at(AT_FDCWD, path, data, mode);
}

Status write_file_atomic_at(int dir, const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp";
  {
    int raw = ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (raw < 0) return fail_errno("open " + tmp);
    UniqueFd fd(raw);
    TRY_CTX(write_all(fd.get(), data), "write " + tmp);
    if (::fsync(fd.get()) < 0) return fail_errno("fsync " + tmp);
  }
  if (::renameat(dir, tmp.c_str(), dir, path.c_str()) < 0) {
    int saved = errno;
    ::unlinkat(dir, tmp.c_str(), 0);
    return Failure{Error("rename " + tmp + " to " + path, saved)};
  }
  return ok();
}

Status set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    return fail_errno("fcntl O_NONBLOCK");
  return ok();
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return fail_errno("pipe2");
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

namespace {

// The mount a descriptor lies on (statx's mount ID; 0 if unknown).
uint64_t mount_id(int fd) {
  struct statx st {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &st) < 0 || !(st.stx_mask & STATX_MNT_ID))
    return 0;
  return st.stx_mnt_id;
}

Status remove_children(int dirfd, const std::string& path) {
  int dup_fd = ::dup(dirfd);
  if (dup_fd < 0) return fail_errno("dup");
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    ::close(dup_fd);
    return fail_errno("opendir " + path);
  }
  Status status;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    // ENOENT: removed meanwhile (a concurrent delete, the monitor's own
    // cleanup), which is what was wanted.
    if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR && errno != EPERM) {
      status = fail_errno("unlink " + path + "/" + name);
      break;
    }
    int child = ::openat(dirfd, name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) {
      if (errno == ENOENT) continue;
      status = fail_errno("open " + path + "/" + name);
      break;
    }
    // Never into what is mounted below the tree (a container's rootfs bound
    // into a pod share, say): that is not the tree's to delete.
    if (uint64_t inner = mount_id(child); inner != 0 && inner != mount_id(dirfd)) {
      ::close(child);
      status = fail("remove " + path + "/" + name + ": something is mounted there");
      break;
    }
    status = remove_children(child, path + "/" + name);
    ::close(child);
    if (!status) break;
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
      status = fail_errno("rmdir " + path + "/" + name);
      break;
    }
  }
  ::closedir(dir);
  return status;
}

}  // namespace

Status remove_tree(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ok();
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno("unlink " + path);
      return ok();
    }
    return fail_errno("open " + path);
  }
  Status status = remove_children(fd, path);
  ::close(fd);
  if (!status) return status;
  if (::rmdir(path.c_str()) < 0 && errno != ENOENT)
    return fail_errno("rmdir " + path);
  return ok();
}

Status send_fd(int socket, int fd, std::string_view data) {
  iovec iov = {const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("send a descriptor");
  return ok();
}

Result<UniqueFd> receive_fd(int socket) {
  char byte;
  iovec iov = {&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
    return fail_errno("receive a descriptor");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return fail("receive a descriptor: none came");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

std::string read_to_end(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace runvm::io
