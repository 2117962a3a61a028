#include "proto/socket_bridge.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace runvm::proto {
namespace {

// A connected pair of stream sockets: `outer` is the application's end
// (a client on the host, a server in the guest), `inner` the bridge's.
struct SocketPair {
  UniqueFd outer, inner;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
    outer = UniqueFd(fds[0]);
    inner = UniqueFd(fds[1]);
  }
};

// The host end and the guest end of one connection, each with its bridge
// on stream "p1", and the two sessions connected back to back.
struct Link {
  Session host{"runvm"}, guest{"runvm-agent"};
  SocketPair client, server;
  std::optional<SocketBridge> host_bridge, guest_bridge;

  Link() {
    host.send_hello();
    guest.send_hello();
    move_bytes();
    EXPECT_TRUE(host.open("p1"));
    move_bytes();
    host_bridge.emplace("p1", std::move(client.inner));
    guest_bridge.emplace("p1", std::move(server.inner));
  }

  static void deliver(Session& from, Session& to, std::optional<SocketBridge>& bridge) {
    std::string bytes = std::move(from.outbox());
    from.outbox().clear();
    if (bytes.empty()) return;
    auto events = to.receive(bytes);
    ASSERT_TRUE(events) << events.error().message();
    for (Event& e : *events) {
      if (auto* d = std::get_if<event::Data>(&e)) bridge->on_data(std::move(d->bytes), to);
      if (std::get_if<event::Eof>(&e)) bridge->on_eof(to);
    }
  }
  void move_bytes() {
    deliver(host, guest, guest_bridge);
    deliver(guest, host, host_bridge);
  }
  // One round: both bridges' sockets polled without waiting, then frames
  // moved across.
  void step() {
    for (auto [bridge, session] : {std::pair{&host_bridge, &host}, std::pair{&guest_bridge, &guest}}) {
      pollfd p = (*bridge)->poll_entry(*session);
      if (p.fd >= 0 && ::poll(&p, 1, 0) > 0) (*bridge)->on_ready(p.revents, *session);
    }
    move_bytes();
  }
};

// Writes what the socket takes of `out` from `at` on; reads what there is
// into `in`; true once the socket's input has ended.
bool exchange(int fd, const std::string& out, size_t& at, std::string& in) {
  if (at < out.size()) {
    ssize_t n = ::write(fd, out.data() + at, out.size() - at);
    if (n > 0) at += static_cast<size_t>(n);
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) in.append(buf, static_cast<size_t>(n));
    else return n == 0;
  }
}

std::string pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 7 % 251);
  return s;
}

// Megabytes each way, many windows' worth, then each side's end passed on
// as a half-close: the client's EOF reaches the server while the server's
// answer still flows, and both bridges end.
TEST(SocketBridge, CarriesBothWaysWithinTheWindowAndPassesHalfCloses) {
  Link link;
  std::string request = pattern(3 << 20, 'a'), answer = pattern(5 << 20, 'z');
  std::string server_got, client_got;
  size_t request_at = 0, answer_at = 0;
  bool server_eof = false, client_eof = false, client_shut = false, server_shut = false;
  for (int round = 0; round < 200000 && !(server_eof && client_eof && link.host_bridge->done() &&
                                         link.guest_bridge->done());
       ++round) {
    client_eof = exchange(link.client.outer.get(), request, request_at, client_got) || client_eof;
    if (request_at == request.size() && !client_shut) {
      ::shutdown(link.client.outer.get(), SHUT_WR);
      client_shut = true;
    }
    server_eof = exchange(link.server.outer.get(), answer, answer_at, server_got) || server_eof;
    if (answer_at == answer.size() && !server_shut) {
      ::shutdown(link.server.outer.get(), SHUT_WR);
      server_shut = true;
    }
    link.step();
  }
  EXPECT_TRUE(server_eof);
  EXPECT_TRUE(client_eof);
  EXPECT_TRUE(server_got == request) << server_got.size() << " of " << request.size();
  EXPECT_TRUE(client_got == answer) << client_got.size() << " of " << answer.size();
  EXPECT_TRUE(link.host_bridge->done());
  EXPECT_TRUE(link.guest_bridge->done());
  EXPECT_FALSE(link.host.is_open("p1"));
  EXPECT_FALSE(link.guest.is_open("p1"));
}

// A reader that stops reading holds the data back at the window: the
// bridge never keeps more than the window's worth, and the sender's credit
// runs out instead.
TEST(SocketBridge, AStalledReaderStopsTheSenderAtTheWindow) {
  Link link;
  std::string big = pattern(8 << 20, 'q');
  size_t at = 0;
  std::string ignored;
  for (int round = 0; round < 2000; ++round) {
    exchange(link.client.outer.get(), big, at, ignored);
    link.step();
  }
  EXPECT_LT(at, big.size());
  EXPECT_EQ(link.host.send_credit("p1"), 0u);
}

// The application's end of the server closes while the client still sends:
// the guest bridge drops the rest (credit keeps coming, so nothing
// stalls), its EOF reaches the client, and both ends finish.
TEST(SocketBridge, AClosedServerDropsTheRestAndEndsTheClient) {
  Link link;
  link.server.outer.reset();
  std::string data = pattern(2 << 20, 'k'), got;
  size_t at = 0;
  bool client_eof = false;
  for (int round = 0; round < 20000 && !(client_eof && at == data.size()); ++round) {
    client_eof = exchange(link.client.outer.get(), data, at, got) || client_eof;
    link.step();
  }
  EXPECT_TRUE(client_eof);
  EXPECT_EQ(at, data.size()) << "the client was stalled";
  ::shutdown(link.client.outer.get(), SHUT_WR);
  for (int round = 0; round < 100; ++round) link.step();
  EXPECT_TRUE(link.host_bridge->done());
  EXPECT_TRUE(link.guest_bridge->done());
}

// abort() resets the connection and ends the stream from this side.
TEST(SocketBridge, AbortEndsTheStreamAndClosesTheSocket) {
  Link link;
  link.guest_bridge->abort(link.guest);
  for (int round = 0; round < 10; ++round) link.step();
  char c;
  EXPECT_EQ(::read(link.server.outer.get(), &c, 1), 0);  // closed
  std::string got;
  size_t at = 0;
  EXPECT_TRUE(exchange(link.client.outer.get(), "", at, got));  // the client sees the end
  ::shutdown(link.client.outer.get(), SHUT_WR);
  for (int round = 0; round < 10; ++round) link.step();
  EXPECT_TRUE(link.host_bridge->done());
  EXPECT_TRUE(link.guest_bridge->done());
}

}  // namespace
}  // namespace runvm::proto
