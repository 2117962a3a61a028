#include "runtime/console.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <utility>

#include "common/io.h"
#include "host/unix_socket.h"

namespace runvm::runtime {

Result<Pty> open_pty() {
  Pty pty;
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return fail_errno("open /dev/ptmx");
  pty.master.reset(master);
  if (::grantpt(master) < 0 || ::unlockpt(master) < 0) return fail_errno("unlock the pty");
  char name[128];
  if (::ptsname_r(master, name, sizeof name) != 0) return fail_errno("ptsname");
  int slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return fail_errno(std::string("open ") + name);
  pty.slave.reset(slave);
  return pty;
}

Status send_console(const std::string& path, int master) {
  host::UnixAddress a = TRY(host::unix_address(path));
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail_errno("socket");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&a.addr), sizeof a.addr) < 0)
    return fail_errno("connect to console socket " + path);
  // runc sends the name of the pty it opened, /dev/ptmx.
  TRY_CTX(io::send_fd(sock.get(), master, "/dev/ptmx"), "send the terminal to console socket " + path);
  return ok();
}

Result<int> host_console(UniqueFd& opened) {
  for (int fd : {2, 1, 0})
    if (::isatty(fd)) return fd;
  int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    std::string text = std::strerror(errno);
    if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return fail("open /dev/tty: " + text);
  }
  opened.reset(fd);
  return fd;
}

Result<RawMode> RawMode::enable(int fd, bool keep_output) {
  RawMode mode;
  if (::tcgetattr(fd, &mode.saved_) < 0) return fail_errno("tcgetattr");
  termios raw = mode.saved_;
  ::cfmakeraw(&raw);
  if (keep_output) raw.c_oflag |= mode.saved_.c_oflag & OPOST;
  if (::tcsetattr(fd, TCSANOW, &raw) < 0) return fail_errno("set the terminal to raw mode");
  mode.fd_ = fd;
  return mode;
}

RawMode::RawMode(RawMode&& o) noexcept : fd_(std::exchange(o.fd_, -1)), saved_(o.saved_) {}

RawMode::~RawMode() {
  if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace runvm::runtime
