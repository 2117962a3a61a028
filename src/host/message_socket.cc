#include "host/message_socket.h"

#include "host/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace runvm::host {
namespace {

Result<UniqueFd> seqpacket_socket() {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("socket");
  return UniqueFd(fd);
}

}  // namespace

Result<UniqueFd> listen_messages(const std::string& path) {
  UnixAddress a = TRY(unix_address(path));
  UniqueFd fd = TRY(seqpacket_socket());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a.addr), sizeof a.addr) < 0)
    return fail_errno("bind " + path);
  if (::listen(fd.get(), 16) < 0) return fail_errno("listen on " + path);
  return fd;
}

Result<UniqueFd> connect_messages(const std::string& path) {
  UnixAddress a = TRY(unix_address(path));
  UniqueFd fd = TRY(seqpacket_socket());
  int r;
  do r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a.addr), sizeof a.addr);
  while (r < 0 && errno == EINTR);
  if (r < 0) return fail_errno("connect to " + path);
  return fd;
}

Result<UniqueFd> accept_messages(int listen_fd) {
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return UniqueFd();
    return fail_errno("accept");
  }
  return UniqueFd(fd);
}

Status send_message(int fd, const nlohmann::json& body, const std::vector<int>& fds) {
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxMessageBytes) return fail("message of " + std::to_string(text.size()) + " bytes is too large");
  if (fds.size() > kMaxMessageFds) return fail("too many descriptors in one message");
  iovec iov{text.data(), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMessageFds)] = {};
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("send a message");
  return ok();
}

Result<std::optional<Message>> receive_message(int fd) {
  std::string buf(kMaxMessageBytes, '\0');
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMessageFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("receive a message");
  Message out;
  // Take ownership of every descriptor first, so none leaks on an error.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      out.fds.emplace_back(received);
    }
  }
  if (n == 0 && out.fds.empty()) return std::optional<Message>();
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) return fail("message truncated");
  out.body = nlohmann::json::parse(buf.data(), buf.data() + n, nullptr, false);
  if (out.body.is_discarded() || !out.body.is_object()) return fail("malformed message");
  return std::optional<Message>(std::move(out));
}

}  // namespace runvm::host
