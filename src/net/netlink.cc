#include "net/netlink.h"

#include <sys/socket.h>

#include <cerrno>
#include <set>

namespace runvm::net {
namespace {

// Far above anything rtnetlink sends in one datagram; a guard, not a limit
// the kernel could reach.
constexpr size_t kMaxDatagram = 1 << 20;
constexpr int kDumpAttempts = 5;

Failure refused(const std::string& what, const NetlinkAck& ack) {
  std::string message = ack.message.empty() ? what : what + ": " + ack.message;
  return Failure{Error(message, ack.error)};
}

}  // namespace

Result<NetlinkSocket> NetlinkSocket::open(int protocol) {
  int raw = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (raw < 0) return fail_errno(protocol == NETLINK_ROUTE ? "open rtnetlink socket" : "open netlink socket");
  UniqueFd fd(raw);
  // Extended acks carry the kernel's own explanation ("Cannot find
  // specified qdisc on specified device"); capped acks keep it from echoing
  // each request back. Both are optional: older kernels just say less.
  int on = 1;
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
    return fail_errno("bind rtnetlink socket");
  return NetlinkSocket(std::move(fd));
}

Status NetlinkSocket::send(NetlinkRequest& request, uint16_t flags, uint32_t seq) {
  Bytes bytes = request.finish(flags, seq);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                 reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("send to rtnetlink");
  if (static_cast<size_t>(n) != bytes.size()) return fail("short send to rtnetlink");
  return ok();
}

// Peeks first to learn the datagram's size, so a large dump reply is never
// cut short by a fixed buffer. Datagrams not from the kernel are dropped.
Result<std::vector<NetlinkMessage>> NetlinkSocket::receive() {
  for (;;) {
    ssize_t size;
    do {
      size = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
    } while (size < 0 && errno == EINTR);
    if (size < 0) return fail_errno("receive from rtnetlink");
    if (static_cast<size_t>(size) > kMaxDatagram)
      return fail("rtnetlink datagram of " + std::to_string(size) + " bytes");
    std::vector<uint8_t> buffer(static_cast<size_t>(size));
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    ssize_t n;
    do {
      n = ::recvfrom(fd_.get(), buffer.data(), buffer.size(), 0,
                     reinterpret_cast<sockaddr*>(&from), &from_len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno("receive from rtnetlink");
    if (from.nl_pid != 0) continue;
    buffer.resize(static_cast<size_t>(n));
    return split_messages(buffer);
  }
}

Status NetlinkSocket::execute(NetlinkRequest& request, const std::string& what) {
  uint32_t seq = ++seq_;
  TRY_CTX(send(request, NLM_F_ACK, seq), what);
  for (;;) {
    auto messages = TRY_CTX(receive(), what);
    for (const NetlinkMessage& m : messages) {
      // Replies to earlier requests of ours (none should be pending) and
      // anything else with another sequence number are not the answer.
      if (m.seq != seq || m.type != NLMSG_ERROR) continue;
      NetlinkAck ack = TRY_CTX(parse_ack(m), what);
      if (ack.error != 0) return refused(what, ack);
      return ok();
    }
  }
}

Status NetlinkSocket::execute_batch(std::vector<NetlinkRequest>& batch, const std::string& what) {
  if (batch.size() < 3) return fail(what + ": a batch needs its markers and a request");
  std::vector<uint8_t> datagram;
  std::set<uint32_t> waiting;
  for (size_t i = 0; i < batch.size(); ++i) {
    bool marker = i == 0 || i + 1 == batch.size();
    uint32_t seq = ++seq_;
    Bytes bytes = batch[i].finish(marker ? 0 : NLM_F_ACK, seq);
    datagram.insert(datagram.end(), bytes.begin(), bytes.end());
    if (!marker) waiting.insert(seq);
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(what + ": send to netlink");
  if (static_cast<size_t>(n) != datagram.size()) return fail(what + ": short send to netlink");
  while (!waiting.empty()) {
    auto messages = TRY_CTX(receive(), what);
    for (const NetlinkMessage& m : messages) {
      if (m.type != NLMSG_ERROR || !waiting.count(m.seq)) continue;
      NetlinkAck ack = TRY_CTX(parse_ack(m), what);
      if (ack.error != 0) return refused(what, ack);
      waiting.erase(m.seq);
    }
  }
  return ok();
}

Result<std::vector<NetlinkMessage>> NetlinkSocket::dump_once(NetlinkRequest& request,
                                                             const std::string& what,
                                                             bool& interrupted) {
  uint32_t seq = ++seq_;
  TRY_CTX(send(request, NLM_F_DUMP, seq), what);
  std::vector<NetlinkMessage> out;
  for (;;) {
    auto messages = TRY_CTX(receive(), what);
    for (NetlinkMessage& m : messages) {
      if (m.seq != seq) continue;
      if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
      if (m.type == NLMSG_ERROR) {
        NetlinkAck ack = TRY_CTX(parse_ack(m), what);
        if (ack.error != 0) return refused(what, ack);
        continue;
      }
      if (m.type == NLMSG_DONE) {
        // A dump that failed part-way says so in DONE's payload.
        auto status = read_struct<int>(m.payload);
        if (status && *status < 0)
          return Failure{Error(what + ": dump failed part-way", -*status)};
        return out;
      }
      out.push_back(std::move(m));
    }
  }
}

Result<std::vector<NetlinkMessage>> NetlinkSocket::dump(NetlinkRequest& request,
                                                        const std::string& what) {
  for (int attempt = 1;; ++attempt) {
    bool interrupted = false;
    auto messages = TRY(dump_once(request, what, interrupted));
    if (!interrupted) return messages;
    if (attempt == kDumpAttempts)
      return fail(what + ": the kernel's tables kept changing during the dump");
  }
}

}  // namespace runvm::net

namespace runvm::net {

Result<NetlinkWatch> NetlinkWatch::open(uint32_t groups) {
  int raw = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (raw < 0) return fail_errno("open rtnetlink socket");
  UniqueFd fd(raw);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = groups;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
    return fail_errno("listen for network changes");
  return NetlinkWatch(std::move(fd));
}

bool NetlinkWatch::drain() {
  bool changed = false;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_TRUNC);
    if (n > 0 || (n < 0 && errno == ENOBUFS)) {
      changed = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return changed;
  }
}

}  // namespace runvm::net
