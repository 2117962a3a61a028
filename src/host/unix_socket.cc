#include "host/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace runvm::host {

Result<UniqueFd> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return fail("socket path " + path + " is " + std::to_string(path.size()) +
                " bytes, over the " + std::to_string(sizeof addr.sun_path - 1) +
                "-byte limit of Unix sockets: use a shorter --root or container ID");
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return fail_errno("bind " + path);
  if (::listen(fd.get(), 1) < 0) return fail_errno("listen " + path);
  return fd;
}

Result<UniqueFd> accept_unix(int listen_fd, std::chrono::milliseconds timeout, int watch_fd,
                             const std::string& what) {
  pollfd fds[2] = {{listen_fd, POLLIN, 0}, {watch_fd, POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return fail("timed out waiting for " + what);
    int n = ::poll(fds, watch_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return fail_errno("poll");
    if (n <= 0) continue;
    if (fds[1].revents) return fail("exited before " + what + " connected");
    int conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn >= 0) return UniqueFd(conn);
    if (errno != EINTR && errno != EAGAIN) return fail_errno("accept " + what);
  }
}

}  // namespace runvm::host
