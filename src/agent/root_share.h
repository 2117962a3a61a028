// Whether a path of the container can be copied on the host instead of in
// the guest (runvm cp's fast path; see ARCHITECTURE, "runvm cp on the
// host's view").
//
// The container's root is the virtio-fs share of the bundle's rootfs, so a
// path that lies on that share, with nothing mounted at or below it in the
// container, is the same file tree on the host: the host may unpack into it
// or pack it directly, at the speed of a host copy, instead of streaming
// every byte through the agent channel.
#pragma once

#include <sys/types.h>

#include "common/result.h"

namespace runvm::agent {

// `path` (followed at its last component only if `follow_link`) inside the
// root of the container whose init is `init_pid`: true if it is a directory
// or file on the container's root filesystem, that filesystem is the
// writable virtio-fs share, and no mount of the container's mount
// namespace is at or below it.
Result<bool> on_root_share(pid_t init_pid, const std::string& path, bool follow_link);

}  // namespace runvm::agent
