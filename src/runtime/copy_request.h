// runvm cp's requests on a container's control socket, and how the monitor
// turns them into guest messages (docs/protocol.md, "Copies"):
//
//   {"op":"stat_path","path":P,"follow_link":B}
//       answered with the agent's stat_path answer;
//   {"op":"copy_in","dest":D,"options":{"same_owner":B}}       fds: [tar to read, stderr]
//   {"op":"copy_out","path":P,"options":{"name":N,...}}         fds: [tar to write, stderr]
//       answered {"started":true,"pid":N} (or {"error":...}), then, once the
//       transfer ended and its output is written, {"exit":N,"copied":{...}}.
//
// A copy is relayed like an exec: the tar goes through the descriptor the
// client passed, the guest's warnings to its stderr.
#pragma once

#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/stdio_relay.h"

namespace runvm::runtime {

// The stdio of a copy_in (the tar stream to read, stderr) or copy_out (the
// tar stream to write, stderr) from its two descriptors.
Result<HostStdio> copy_stdio(bool into_container, std::vector<UniqueFd> fds);

}  // namespace runvm::runtime
