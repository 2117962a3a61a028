#include "runtime/guest_artifacts.h"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>

namespace runvm::runtime {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Result<std::string> existing(const std::string& path, const std::string& what,
                             const std::string& source) {
  if (::access(path.c_str(), R_OK) == 0) return path;
  return fail(what + " not found at " + path + " (" + source +
              "): run scripts/setup.sh to build the guest, or point " +
              (what == "guest kernel" ? "--kernel or RUNVM_KERNEL" : "--initramfs or RUNVM_INITRAMFS") +
              " at one");
}

}  // namespace

std::string default_data_dir() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "/usr/local/share/runvm";
  std::string path(exe, static_cast<size_t>(n));
  std::string bin_dir = path.substr(0, path.rfind('/'));
  return bin_dir.substr(0, bin_dir.rfind('/')) + "/share/runvm";
}

Result<GuestArtifacts> locate_guest_artifacts(const ArtifactOverrides& o) {
  std::string data_dir = env_or("RUNVM_DATA_DIR", default_data_dir());
  auto pick = [&](const std::string& flag, const char* env, const std::string& file,
                  const std::string& what) -> Result<std::string> {
    if (!flag.empty()) return existing(flag, what, "given by flag");
    if (const char* v = std::getenv(env); v && *v) return existing(v, what, std::string("from ") + env);
    return existing(data_dir + "/" + file, what, "the data directory");
  };
  GuestArtifacts a;
  a.kernel = TRY(pick(o.kernel, "RUNVM_KERNEL", "vmlinuz", "guest kernel"));
  a.initramfs = TRY(pick(o.initramfs, "RUNVM_INITRAMFS", "initramfs.img", "guest initramfs"));
  return a;
}

}  // namespace runvm::runtime
