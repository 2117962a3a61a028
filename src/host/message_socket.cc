#include "host/message_socket.h"

#include "host/unix_socket.h"

#include "common/io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

constexpr const char* kBodyInFd = "body_in_fd";

// The body of a large message, in a sealed memfd (nothing can change it
// once sent).
Result<UniqueFd> body_memfd(const std::string& text) {
  int fd = ::memfd_create("runvm-message", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return fail_errno("memfd_create");
  UniqueFd out(fd);
  TRY_CTX(io::write_all(fd, text), "write a message body");
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return fail_errno("seal a message body");
  return out;
}

// Reads the body a {"body_in_fd": SIZE} packet announced: exactly SIZE
// bytes, at most kMaxMessageBytes, from a sealed memfd.
Result<std::string> read_body(int fd, const nlohmann::json& size_field) {
  if (!size_field.is_number_unsigned() || size_field.get<uint64_t>() > kMaxMessageBytes)
    return fail("malformed message: bad body size");
  size_t size = size_field.get<size_t>();
  int seals = ::fcntl(fd, F_GET_SEALS);
  struct stat st {};
  if (seals < 0 || !(seals & F_SEAL_WRITE) || !(seals & F_SEAL_SHRINK) || ::fstat(fd, &st) < 0 ||
      static_cast<uint64_t>(st.st_size) != size)
    return fail("malformed message: its body is not a sealed memfd of the size announced");
  std::string text(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, text.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("read a message body");
    done += static_cast<size_t>(n);
  }
  return text;
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

static Status send_packet(int fd, const std::string& text, const std::vector<int>& fds);

Status send_message(int fd, const nlohmann::json& body, const std::vector<int>& fds) {
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxMessageBytes)
    return fail("message of " + std::to_string(text.size()) + " bytes is too large (at most " +
                std::to_string(kMaxMessageBytes >> 20) + " MiB)");
  if (fds.size() > kMaxMessageFds) return fail("too many descriptors in one message");
  if (text.size() > kInlineMessageBytes) {
    UniqueFd body = TRY(body_memfd(text));
    std::vector<int> with_body(fds);
    with_body.push_back(body.get());
    text = nlohmann::json{{kBodyInFd, text.size()}}.dump();
    return send_packet(fd, text, with_body);
  }
  return send_packet(fd, text, fds);
}

static Status send_packet(int fd, const std::string& text, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (kMaxMessageFds + 1))] = {};
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
  std::string buf(kInlineMessageBytes + 1, '\0');
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (kMaxMessageFds + 1))];
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
  if (static_cast<size_t>(n) > kInlineMessageBytes) return fail("message truncated");
  out.body = nlohmann::json::parse(buf.data(), buf.data() + n, nullptr, false);
  if (out.body.is_discarded() || !out.body.is_object()) return fail("malformed message");
  if (out.body.size() == 1 && out.body.contains(kBodyInFd)) {
    if (out.fds.empty()) return fail("malformed message: its body's descriptor is missing");
    UniqueFd body = std::move(out.fds.back());
    out.fds.pop_back();
    std::string text = TRY(read_body(body.get(), out.body[kBodyInFd]));
    out.body = nlohmann::json::parse(text, nullptr, false);
    if (out.body.is_discarded() || !out.body.is_object()) return fail("malformed message");
  }
  return std::optional<Message>(std::move(out));
}

}  // namespace runvm::host
