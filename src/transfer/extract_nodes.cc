// Directories, symlinks, hardlinks, device nodes and FIFOs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "transfer/extract.h"
#include "transfer/in_root.h"

namespace runvm::transfer::detail {
namespace {

constexpr int kCreateAttempts = 3;

// Runs `create` (a *at() call that fails with EEXIST when the name is
// taken) and, when the name is taken, clears it and tries again.
template <typename F>
Status create_replacing(const Place& at, const char* what, F create) {
  for (int attempt = 0;; ++attempt) {
    if (create() == 0) return ok();
    if (errno != EEXIST || attempt + 1 == kCreateAttempts) return fail_errno(what);
    TRY(make_room(at.parent.get(), at.name));
  }
}

bool is_directory_at(int parent, const std::string& name) {
  struct stat st;
  return ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Status extract_dir(ImportContext& ctx, archive_entry* e, const Place& at) {
  mode_t mode = final_mode(e, true, ctx.options);
  // An existing directory is merged into; anything else is replaced.
  if (!is_directory_at(at.parent.get(), at.name)) {
    TRY(create_replacing(at, "create directory", [&] {
      return ::mkdirat(at.parent.get(), at.name.c_str(), (mode | S_IRWXU) & 0777);
    }));
  }
  int raw = ::openat(at.parent.get(), at.name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) return fail_errno("open the directory");
  UniqueFd fd(raw);
  TRY(set_owner(fd.get(), e, ctx.options));
  set_xattrs(fd.get(), e, ctx);
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno("stat the directory");
  DeferredDir dir{at.path, st.st_dev, st.st_ino, mode, {}};
  entry_times(e, dir.times);
  ctx.dirs.push_back(std::move(dir));
  return ok();
}

Status extract_symlink(ImportContext& ctx, archive_entry* e, const Place& at) {
  const char* target = archive_entry_symlink(e);
  if (target == nullptr || *target == '\0') return fail("symlink without a target");
  TRY(create_replacing(at, "create symlink", [&] {
    return ::symlinkat(target, at.parent.get(), at.name.c_str());
  }));
  TRY(set_owner_at(at.parent.get(), at.name, e, ctx.options));
  return set_times_at(at.parent.get(), at.name, e, ctx.options);
}

// The target is a member name: resolved from the destination, inside the
// root, its last component not followed (a link to a symlink links the
// symlink, as tar does).
Status extract_hardlink(ImportContext& ctx, archive_entry* e, const Place& at) {
  std::vector<std::string> target = TRY(member_components(archive_entry_hardlink(e)));
  if (target.empty()) return fail("hardlink to the destination itself");
  if (!ctx.options.only_under.empty() && target.front() != ctx.options.only_under)
    return fail("hardlink target outside " + ctx.options.only_under + ", the path that was asked for");
  target.insert(target.begin(), ctx.dest.begin(), ctx.dest.end());
  UniqueFd target_dir = TRY_CTX(
      open_in_root(ctx.root_fd, join_components(target, target.size() - 1), O_PATH | O_DIRECTORY, 0,
                   ctx.options.no_symlinks),
      "hardlink target");
  const std::string& target_name = target.back();
  struct stat old_st, new_st;
  if (::fstatat(target_dir.get(), target_name.c_str(), &old_st, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("hardlink target " + join_components(target, target.size()));
  if (::fstatat(at.parent.get(), at.name.c_str(), &new_st, AT_SYMLINK_NOFOLLOW) == 0 &&
      new_st.st_dev == old_st.st_dev && new_st.st_ino == old_st.st_ino)
    return ok();  // already that file: removing it would lose the target
  return create_replacing(at, "create hardlink", [&] {
    return ::linkat(target_dir.get(), target_name.c_str(), at.parent.get(), at.name.c_str(), 0);
  });
}

Status extract_node(ImportContext& ctx, archive_entry* e, const Place& at) {
  mode_t type = archive_entry_filetype(e);
  bool allowed = ctx.options.allow_devices || (type == AE_IFIFO && ctx.options.allow_fifos);
  if (!allowed)
    return fail(type == AE_IFIFO ? "refusing to create a FIFO (devices are not allowed)"
                                 : "refusing to create a device node (devices are not allowed)");
  dev_t rdev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  TRY(create_replacing(at, "create node", [&] {
    return ::mknodat(at.parent.get(), at.name.c_str(), type | S_IRUSR | S_IWUSR, rdev);
  }));
  TRY(set_owner_at(at.parent.get(), at.name, e, ctx.options));
  // AT_SYMLINK_NOFOLLOW: if the container swapped a symlink in, this fails
  // instead of changing the mode of what it points to.
  if (::fchmodat(at.parent.get(), at.name.c_str(), final_mode(e, false, ctx.options),
                 AT_SYMLINK_NOFOLLOW) < 0)
    return fail_errno("set mode");
  return set_times_at(at.parent.get(), at.name, e, ctx.options);
}

}  // namespace runvm::transfer::detail
