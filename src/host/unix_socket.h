// Unix stream sockets for the VMM's channels: runvm listens, QEMU and
// virtiofsd connect or are handed the listening socket.
#pragma once

#include <chrono>
#include <sys/un.h>

#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::host {

// The address of a Unix socket at `path`. A path longer than sun_path allows
// (Docker's state paths are) is reached through a descriptor of its
// directory, as /proc/self/fd/N/NAME; `dir` holds that descriptor and must
// live until bind() or connect() is done.
struct UnixAddress {
  sockaddr_un addr{};
  UniqueFd dir;
};
Result<UnixAddress> unix_address(const std::string& path);

// Binds and listens on path (which must not exist). Paths longer than
// sun_path allows get an error that says so and suggests a shorter --root.
Result<UniqueFd> listen_unix(const std::string& path);

// Accepts one connection, giving up at the deadline or when `watch_fd`
// (a pidfd, say) becomes readable. The connection is non-blocking.
Result<UniqueFd> accept_unix(int listen_fd, std::chrono::milliseconds timeout, int watch_fd,
                             const std::string& what);

}  // namespace runvm::host
