#include "runtime/console.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

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
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail("console socket path " + path + " is too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail_errno("socket");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return fail_errno("connect to console socket " + path);
  static const char kName[] = "/dev/ptmx";
  iovec iov{const_cast<char*>(kName), sizeof kName - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (::sendmsg(sock.get(), &msg, MSG_NOSIGNAL) < 0)
    return fail_errno("send the terminal to console socket " + path);
  return ok();
}

Result<RawMode> RawMode::enable(int fd) {
  RawMode mode;
  if (::tcgetattr(fd, &mode.saved_) < 0) return fail_errno("tcgetattr");
  termios raw = mode.saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) < 0) return fail_errno("set the terminal to raw mode");
  mode.fd_ = fd;
  return mode;
}

RawMode::RawMode(RawMode&& o) noexcept : fd_(std::exchange(o.fd_, -1)), saved_(o.saved_) {}

RawMode::~RawMode() {
  if (fd_ >= 0) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace runvm::runtime
