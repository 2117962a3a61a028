#include "transfer/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <deque>

namespace runvm::transfer {
namespace {

// The kernel answers EAGAIN when a rename or mount raced with a RESOLVE_IN_ROOT
// lookup of ".."; a retry is the documented response.
constexpr int kResolveRetries = 32;

// Symlinks followed in one resolution before it is ELOOP (the kernel's
// MAXSYMLINKS).
constexpr int kMaxLinks = 40;

// A path's components, without empty ones and ".".
std::deque<std::string> split_path(std::string_view path) {
  std::deque<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    pos = end + 1;
  }
  return parts;
}

UniqueFd duplicate(int fd) { return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 3)); }

}  // namespace

Result<InRoot> resolve_in_root(int root_fd, std::string_view path, MakeMissing make,
                               bool follow_last) {
  std::string shown = path.starts_with('/') ? std::string(path) : "/" + std::string(path);
  auto failed = [&](const std::string& what, int err) {
    return Failure{Error::from_errno("resolve " + shown + " in the container's root: " + what, err)};
  };
  UniqueFd root = duplicate(root_fd);
  if (!root) return failed("dup", errno);
  struct Dir {
    UniqueFd fd;
    std::string name;
  };
  std::vector<Dir> walked;  // the directories resolved so far, below the root
  auto here = [&] { return walked.empty() ? root.get() : walked.back().fd.get(); };
  auto where = [&](const std::string& name) {
    std::string out;
    for (const auto& d : walked) out += "/" + d.name;
    return out + "/" + name;
  };
  std::deque<std::string> todo = split_path(path);
  int links = 0;
  int retries = 0;  // a component that keeps changing under us
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == "..") {
      if (!walked.empty()) walked.pop_back();  // never above the root
      continue;
    }
    bool last = todo.empty();
    struct stat st;
    if (::fstatat(here(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) return failed(where(name), errno);
      if (!todo.empty() && todo.front() == "..") {  // "missing/..": lexical
        todo.pop_front();
        continue;
      }
      if (make == MakeMissing::nothing) return failed(where(name), ENOENT);
      if (++retries > kMaxLinks) return failed(where(name), EAGAIN);
      int made = last && make == MakeMissing::file
                     ? ::openat(here(), name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)
                     : ::mkdirat(here(), name.c_str(), 0755);
      if (made < 0 && errno != EEXIST) return failed("make " + where(name), errno);
      if (made >= 0 && last && make == MakeMissing::file) ::close(made);
      todo.push_front(std::move(name));  // look again at what is there now
      continue;
    }
    if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
      if (++links > kMaxLinks) return failed(where(name), ELOOP);
      char target[PATH_MAX];
      ssize_t n = ::readlinkat(here(), name.c_str(), target, sizeof target);
      if (n < 0) return failed("read the link " + where(name), errno);
      if (static_cast<size_t>(n) >= sizeof target) return failed(where(name), ENAMETOOLONG);
      std::string_view text(target, static_cast<size_t>(n));
      if (text.starts_with('/')) walked.clear();  // absolute: from the root
      auto parts = split_path(text);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    UniqueFd fd(::openat(here(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT && ++retries <= kMaxLinks) {  // removed meanwhile
        todo.push_front(std::move(name));
        continue;
      }
      return failed(where(name), errno);
    }
    if (::fstat(fd.get(), &st) < 0) return failed(where(name), errno);
    if (last) {
      InRoot out;
      out.parent = duplicate(here());
      if (!out.parent) return failed("dup", errno);
      out.path = where(name);
      out.name = std::move(name);
      out.fd = std::move(fd);
      return out;
    }
    if (S_ISLNK(st.st_mode) && ++retries <= kMaxLinks) {  // replaced by a link meanwhile
      todo.push_front(std::move(name));
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return failed(where(name), ENOTDIR);
    walked.push_back({std::move(fd), std::move(name)});
  }
  // The path ends in a directory walked to (after `..` or a link), or is
  // the root itself.
  InRoot out;
  if (walked.empty()) {
    out.fd = std::move(root);
    out.path = "/";
    return out;
  }
  Dir last = std::move(walked.back());
  walked.pop_back();
  out.parent = duplicate(here());
  if (!out.parent) return failed("dup", errno);
  out.path = where(last.name);
  out.name = std::move(last.name);
  out.fd = std::move(last.fd);
  return out;
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags, mode_t mode,
                              bool no_symlinks) {
  // glibc 2.36 has no openat2 wrapper.
  open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  // The kernel refuses a mode without O_CREAT or O_TMPFILE.
  if (flags & (O_CREAT | __O_TMPFILE)) how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
  const char* p = path.empty() ? "." : path.c_str();
  for (int i = 0;; ++i) {
    long fd = ::syscall(SYS_openat2, root_fd, p, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || (errno == EAGAIN && i < kResolveRetries)) continue;
    // Shown as the container sees it: from its root.
    return fail_errno("open " + (path.empty() || path[0] != '/' ? "/" + path : path));
  }
}

Result<std::vector<std::string>> member_components(std::string_view name, bool* stripped) {
  if (stripped) *stripped = !name.empty() && name.front() == '/';
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(pos, end - pos);
    if (part == "..") return fail("member name contains '..': " + std::string(name));
    if (!part.empty() && part != ".") parts.emplace_back(part);
    pos = end + 1;
  }
  return parts;
}

std::vector<std::string> clean_components(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    pos = end + 1;
  }
  return parts;
}

std::string join_components(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

}  // namespace runvm::transfer
