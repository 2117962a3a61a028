// Detaching the guest's own mounts from a container's mount namespace.
//
// The container's mount namespace starts as a copy of the agent's, so it
// holds the guest's bare /proc and /sys, its cgroup2 and the shares. The
// container's root is moved over "/" and entered with chroot (the initramfs
// cannot be pivoted away: runc's --no-pivot path), which hides those mounts
// but leaves them in the namespace, where the kernel counts them: a bare
// /proc lets a user namespace inside the container mount a fresh, unmasked
// procfs (mnt_already_visible). So, as runc's --no-pivot does, every mount
// outside the container's root is detached before the root is entered.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace runvm::agent {

// The mount points of `mountinfo` (a /proc/PID/mountinfo text) that lie
// outside `root`, deepest first: neither `root`, nor below it, nor one of its
// ancestors (which hold it up). Mountinfo's octal escapes are decoded.
std::vector<std::string> mounts_outside(const std::string& mountinfo, const std::string& root);

// Detaches (MNT_DETACH) every mount of this mount namespace outside `root`.
Status detach_outside(const std::string& root);

}  // namespace runvm::agent
