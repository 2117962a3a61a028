#include "transfer/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace runvm::transfer {
namespace {

// The kernel answers EAGAIN when a rename or mount raced with a RESOLVE_IN_ROOT
// lookup of ".."; a retry is the documented response.
constexpr int kResolveRetries = 32;

}  // namespace

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
