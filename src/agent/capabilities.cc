#include "agent/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "oci/capabilities.h"

namespace runvm::agent {
namespace {

// Linux's numbering (oci/capabilities.h).
constexpr const auto& kNames = oci::kCapabilityNames;

// The highest capability this kernel knows: prctl(PR_CAPBSET_READ) fails
// with EINVAL past it.
int last_capability() {
  int last = 0;
  while (last < 63 && ::prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) ++last;
  return last;
}

}  // namespace

std::optional<int> capability_number(const std::string& name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (name == kNames[i]) return static_cast<int>(i);
  return std::nullopt;
}

uint64_t capability_mask(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const auto& name : names)
    if (auto n = capability_number(name)) mask |= uint64_t{1} << *n;
  return mask;
}

Status drop_bounding_set(const oci::Capabilities& caps) {
  uint64_t keep = capability_mask(caps.bounding);
  int last = last_capability();
  for (int cap = 0; cap <= last; ++cap) {
    if (keep & (uint64_t{1} << cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return fail_errno("drop capability " + std::to_string(cap) + " from the bounding set");
  }
  return ok();
}

Status apply_capability_sets(const oci::Capabilities& caps) {
  uint64_t effective = capability_mask(caps.effective);
  uint64_t permitted = capability_mask(caps.permitted);
  uint64_t inheritable = capability_mask(caps.inheritable);
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data) < 0) return fail_errno("capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return fail_errno("clear ambient capabilities");
  for (const auto& name : caps.ambient) {
    auto n = capability_number(name);
    // As runc: an ambient capability that is not permitted and inheritable
    // cannot be raised; that is skipped, not fatal.
    if (n) (void)::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, *n, 0, 0);
  }
  return ok();
}

}  // namespace runvm::agent
