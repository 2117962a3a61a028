// Message sockets: Unix SOCK_SEQPACKET connections that carry one JSON
// object per packet, optionally with file descriptors (SCM_RIGHTS). runvm's
// commands talk to a container's monitor this way (docs/ARCHITECTURE.md,
// "The monitor"); packets keep message boundaries, so there is no framing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::host {

// The most a message may hold; larger ones are refused by both ends. A
// packet cannot exceed the socket's send buffer (net.core.wmem_max, about
// 208 KiB by default), so a message above kInlineMessageBytes travels in a
// sealed memfd sent with it: the packet holds only {"body_in_fd": SIZE}.
// That lets `exec` carry what runc's does (8 arguments of 128 KiB).
constexpr size_t kMaxMessageBytes = 16 << 20;
constexpr size_t kInlineMessageBytes = 64 * 1024;
constexpr size_t kMaxMessageFds = 4;

struct Message {
  nlohmann::json body;
  std::vector<UniqueFd> fds;
};

Result<UniqueFd> listen_messages(const std::string& path);
Result<UniqueFd> connect_messages(const std::string& path);
// Accepts one pending connection (the listener is non-blocking): an invalid
// fd if none is pending.
Result<UniqueFd> accept_messages(int listen_fd);

Status send_message(int fd, const nlohmann::json& body, const std::vector<int>& fds = {});
// One message; nullopt when the peer has closed the connection. Blocks
// unless the fd is non-blocking (then EAGAIN is an error the caller avoids
// by polling first).
Result<std::optional<Message>> receive_message(int fd);

}  // namespace runvm::host
