// Owner, mode, extended attributes and times of extracted entries.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "transfer/extract.h"

namespace runvm::transfer::detail {
namespace {

// (uid_t)-1 means "leave unchanged" to chown, so it is not a valid owner.
constexpr int64_t kMaxId = 0xfffffffe;

Result<std::pair<uid_t, gid_t>> entry_owner(archive_entry* e) {
  int64_t uid = archive_entry_uid(e);
  int64_t gid = archive_entry_gid(e);
  if (uid < 0 || uid > kMaxId || gid < 0 || gid > kMaxId)
    return fail("owner " + std::to_string(uid) + ":" + std::to_string(gid) + " is out of range");
  return std::pair<uid_t, gid_t>(static_cast<uid_t>(uid), static_cast<gid_t>(gid));
}

}  // namespace

mode_t final_mode(archive_entry* e, bool is_dir, const ImportOptions& options) {
  mode_t mode = archive_entry_perm(e) & 07777;
  if (!options.same_permissions) return mode & 0777 & ~options.umask;
  if (!options.same_owner && !is_dir) mode &= ~(S_ISUID | S_ISGID);
  return mode;
}

Status set_owner(int fd, archive_entry* e, const ImportOptions& options) {
  if (!options.same_owner) return ok();
  auto [uid, gid] = TRY(entry_owner(e));
  if (::fchown(fd, uid, gid) < 0) return fail_errno("change owner");
  return ok();
}

Status set_owner_at(int parent, const std::string& name, archive_entry* e,
                    const ImportOptions& options) {
  if (!options.same_owner) return ok();
  auto [uid, gid] = TRY(entry_owner(e));
  if (::fchownat(parent, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("change owner");
  return ok();
}

// A file system without (these) xattrs is not the archive's fault, and GNU
// tar only warns when one cannot be set: so do we.
void set_xattrs(int fd, archive_entry* e, const ImportContext& ctx) {
  if (!ctx.options.xattrs) return;
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (::fsetxattr(fd, name, value, size, 0) == 0) continue;
    if (errno == ENOTSUP || errno == EOPNOTSUPP) continue;
    if (ctx.options.on_warning)
      ctx.options.on_warning(std::string(archive_entry_pathname(e)) +
                             ": cannot set extended attribute " + name + ": " +
                             std::strerror(errno));
  }
}

void entry_times(archive_entry* e, timespec out[2]) {
  out[0] = {0, UTIME_OMIT};
  out[1] = {0, UTIME_OMIT};
  if (archive_entry_atime_is_set(e))
    out[0] = {static_cast<time_t>(archive_entry_atime(e)), archive_entry_atime_nsec(e)};
  if (archive_entry_mtime_is_set(e))
    out[1] = {static_cast<time_t>(archive_entry_mtime(e)), archive_entry_mtime_nsec(e)};
}

Status set_times_at(int parent, const std::string& name, archive_entry* e,
                    const ImportOptions& options) {
  if (options.touch) return ok();
  timespec times[2];
  entry_times(e, times);
  if (::utimensat(parent, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("set times");
  return ok();
}

}  // namespace runvm::transfer::detail
