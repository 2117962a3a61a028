#include "agent/confinement.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "common/log.h"
#include "oci/seccomp.h"
#include "oci/spec.h"

namespace runvm::agent {
namespace {

Status make_readonly(const std::string& path) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    if (errno == ENOENT) return ok();
    return fail_errno("make " + path + " read-only: bind it onto itself");
  }
  struct statfs fs = {};
  if (::statfs(path.c_str(), &fs) < 0) return fail_errno("make " + path + " read-only: statfs");
  // ST_NOSUID, ST_NODEV, ST_NOEXEC have the values of the MS_ flags.
  unsigned long kept = static_cast<unsigned long>(fs.f_flags) & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (::mount(path.c_str(), path.c_str(), nullptr, kept | MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0)
    return fail_errno("make " + path + " read-only: remount");
  return ok();
}

Status mask(const std::string& path) {
  struct stat st = {};
  if (::stat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return ok();
    return fail_errno("mask " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, nullptr) < 0)
      return fail_errno("mask " + path + ": mount an empty read-only tmpfs");
    return ok();
  }
  // Unlike runc, a missing /dev/null is an error, not a mask silently left out.
  if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) < 0)
    return fail_errno("mask " + path + ": bind /dev/null over it");
  return ok();
}

}  // namespace

Result<Confinement> confinement_of(const msg::Create& request) {
  Confinement out;
  out.masked_paths = request.masked_paths;
  out.readonly_paths = request.readonly_paths;
  if (request.seccomp) {
    out.seccomp = TRY_CTX(compile_seccomp(*request.seccomp), "seccomp");
    if (out.seccomp->skipped_names > 0)
      log::info("seccomp: " + std::to_string(out.seccomp->skipped_names) +
                " syscall names unknown to libseccomp were skipped");
  }
  return out;
}

// runc's order: read-only paths first, then masks.
Status apply_path_confinement(const Confinement& confinement) {
  for (const auto& path : confinement.readonly_paths) TRY(make_readonly(path));
  for (const auto& path : confinement.masked_paths) TRY(mask(path));
  return ok();
}

}  // namespace runvm::agent
