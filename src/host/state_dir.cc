#include "host/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "common/io.h"
#include "common/log.h"

namespace runvm::host {

Status validate_container_id(const std::string& id) {
  // runc's words, with the ID added so the user sees which.
  if (id.empty()) return fail("container id cannot be empty");
  if (id.size() > 1024) return fail("invalid container ID format: " + id.substr(0, 64) + "... (over 1024 bytes)");
  if (id == "." || id == "..") return fail("invalid container ID format: " + id);
  for (char c : id) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '+' || c == '-' || c == '.';
    if (!okc) return fail("invalid container ID format: " + id);
  }
  return ok();
}

StateDir::StateDir(StateDir&& o) noexcept
    : path_(std::move(o.path_)), lock_(std::move(o.lock_)), keep_(o.keep_) {
  o.path_.clear();
}

StateDir::~StateDir() {
  if (!path_.empty() && !keep_) {
    if (Status s = remove(); !s) log::warn("cleanup: " + s.error().describe());
  }
}

Result<StateDir> StateDir::create(const std::string& root, const std::string& id) {
  TRY(validate_container_id(id));
  // mkdir -p, as runc does: containerd's shim passes /run/containerd/runc/<ns>
  // before anything has made /run/containerd/runc.
  for (size_t slash = root.find('/', 1); ; slash = root.find('/', slash + 1)) {
    std::string part = root.substr(0, slash);
    if (::mkdir(part.c_str(), 0700) < 0 && errno != EEXIST)
      return fail_errno("create state root " + part);
    if (slash == std::string::npos) break;
  }
  StateDir dir;
  std::string path = root + "/" + id;
  if (::mkdir(path.c_str(), 0700) < 0) {
    if (errno == EEXIST) return fail("container with given ID already exists");
    return fail_errno("create state directory " + path);
  }
  dir.path_ = path;
  dir.lock_ = TRY(io::open_file(path + "/lock", O_RDWR | O_CREAT, 0600));
  if (::flock(dir.lock_.get(), LOCK_EX) < 0) return fail_errno("lock " + path);
  return dir;
}

Result<StateDir> StateDir::open(const std::string& root, const std::string& id) {
  TRY(validate_container_id(id));
  StateDir dir;
  std::string path = root + "/" + id;
  auto lock = io::open_file(path + "/lock", O_RDWR);
  if (!lock) {
    if (lock.error().errno_value() == ENOENT) return fail("container does not exist");
    return std::move(lock).error();
  }
  if (::flock(lock->get(), LOCK_EX) < 0) return fail_errno("lock " + path);
  dir.path_ = path;
  dir.lock_ = std::move(*lock);
  dir.keep_ = true;
  return dir;
}

Status StateDir::remove() {
  if (path_.empty()) return ok();
  std::string path = std::move(path_);
  path_.clear();
  lock_.reset();
  return io::remove_tree(path);
}

}  // namespace runvm::host
