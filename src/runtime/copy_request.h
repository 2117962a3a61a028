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

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/stdio_relay.h"

namespace runvm::runtime {

struct GuestCopy {
  HostStdio io;
  nlohmann::json message;  // copy_in/copy_out without id and stdio
};

// Checks a copy_in/copy_out request and its two descriptors.
Result<GuestCopy> guest_copy(const nlohmann::json& request, std::vector<UniqueFd> fds);

// The guest query (without its request number) for a stat_path request.
nlohmann::json stat_path_query(const nlohmann::json& request);

}  // namespace runvm::runtime
