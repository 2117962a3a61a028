#include "host/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>

#include <cstring>

#include "common/io.h"

namespace runvm::host {

Result<UnixAddress> unix_address(const std::string& path) {
  UnixAddress a;
  a.addr.sun_family = AF_UNIX;
  std::string name = path;
  if (path.size() >= sizeof a.addr.sun_path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0)
      return fail("socket path " + path + " is too long for a Unix socket");
    a.dir = TRY(io::open_file(path.substr(0, slash), O_PATH | O_DIRECTORY));
    name = "/proc/self/fd/" + std::to_string(a.dir.get()) + path.substr(slash);
    if (name.size() >= sizeof a.addr.sun_path)
      return fail("socket name " + path.substr(slash + 1) + " is too long for a Unix socket");
  }
  std::memcpy(a.addr.sun_path, name.c_str(), name.size() + 1);
  return a;
}

Result<UniqueFd> listen_unix(const std::string& path) {
  UnixAddress a = TRY(unix_address(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a.addr), sizeof a.addr) < 0)
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
