#include "agent/root_share.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include <string>
#include <vector>

#include "common/io.h"
#include "common/procfs.h"
#include "transfer/in_root.h"

namespace runvm::agent {
namespace {

#ifndef FUSE_SUPER_MAGIC
constexpr long FUSE_SUPER_MAGIC = 0x65735546;
#endif

struct Identity {
  uint64_t mount = 0;
  dev_t dev = 0;
  ino_t ino = 0;
};

Result<Identity> identity(int fd) {
  struct statx sx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &sx) < 0) return fail_errno("statx");
  if (!(sx.stx_mask & STATX_MNT_ID)) return fail("the kernel gives no mount IDs");
  return Identity{sx.stx_mnt_id, makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_ino};
}

// Whether the directory `dir` (on the root mount) is the mount point of
// `m` or one of its ancestors: walk up from the mount point's parent
// directory, in the root mount, to the root.
Result<bool> contains(int root_fd, const Identity& root, const Identity& dir, const procfs::MountInfo& m) {
  std::vector<std::string> parts = transfer::clean_components(m.mount_point);
  if (parts.empty()) return false;  // the root mount itself
  parts.pop_back();
  UniqueFd at = TRY(transfer::open_in_root(root_fd, transfer::join_components(parts, parts.size()),
                                           O_PATH | O_DIRECTORY | O_NOFOLLOW));
  for (int depth = 0; depth < 256; ++depth) {
    Identity here = TRY(identity(at.get()));
    if (here.dev == dir.dev && here.ino == dir.ino) return true;
    if (here.dev == root.dev && here.ino == root.ino) return false;
    int up = ::openat(at.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0) return fail_errno("open ..");
    at = UniqueFd(up);
  }
  return true;  // too deep to tell: say yes, the safe answer
}

}  // namespace

Result<bool> on_root_share(pid_t init_pid, const std::string& path, bool follow_link) {
  std::string base = "/proc/" + std::to_string(init_pid);
  UniqueFd root_fd = TRY(io::open_file(base + "/root", O_PATH | O_DIRECTORY));
  UniqueFd target = TRY(transfer::open_in_root(root_fd.get(), path, O_PATH | (follow_link ? 0 : O_NOFOLLOW)));
  Identity root = TRY(identity(root_fd.get())), at = TRY(identity(target.get()));
  if (at.mount != root.mount) return false;  // on another mount (a tmpfs, a bind, a volume)
  struct statfs fs {};
  if (::fstatfs(target.get(), &fs) < 0) return fail_errno("statfs " + path);
  if (fs.f_type != static_cast<decltype(fs.f_type)>(FUSE_SUPER_MAGIC) || (fs.f_flags & ST_RDONLY)) return false;
  struct stat st {};
  if (::fstatat(target.get(), "", &st, AT_EMPTY_PATH) < 0) return fail_errno("stat " + path);
  if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode);
  std::string mountinfo = TRY(io::read_file(base + "/mountinfo"));
  for (const procfs::MountInfo& m : procfs::parse_mountinfo(mountinfo)) {
    if (m.parent != root.mount) continue;  // deeper mounts hang below these
    Result<bool> below = contains(root_fd.get(), root, at, m);
    if (!below || *below) return false;
  }
  return true;
}

}  // namespace runvm::agent
