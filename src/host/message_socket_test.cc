#include "host/message_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/io.h"

namespace runvm::host {
namespace {

struct Pair {
  UniqueFd a, b;
};

Pair socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

TEST(MessageSocket, CarriesJsonAndDescriptors) {
  Pair p = socket_pair();
  auto [r, w] = *io::make_pipe();
  ASSERT_TRUE(send_message(p.a.get(), {{"op", "exec"}, {"n", 3}}, {w.get()}));
  w.reset();
  auto m = receive_message(p.b.get());
  ASSERT_TRUE(m && *m);
  EXPECT_EQ((*m)->body["op"], "exec");
  ASSERT_EQ((*m)->fds.size(), 1u);
  ASSERT_EQ(::write((*m)->fds[0].get(), "x", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(r.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST(MessageSocket, ClosedPeerIsNullopt) {
  Pair p = socket_pair();
  p.a.reset();
  auto m = receive_message(p.b.get());
  ASSERT_TRUE(m);
  EXPECT_FALSE(*m);
}

TEST(MessageSocket, GarbageAndNonObjectsAreErrors) {
  Pair p = socket_pair();
  ASSERT_EQ(::write(p.a.get(), "{not json", 9), 9);
  EXPECT_FALSE(receive_message(p.b.get()));
  ASSERT_EQ(::write(p.a.get(), "[1,2]", 5), 5);
  EXPECT_FALSE(receive_message(p.b.get()));
}

TEST(MessageSocket, TooManyDescriptorsAreRefusedBeforeSending) {
  Pair p = socket_pair();
  std::vector<int> many(kMaxMessageFds + 1, 0);
  EXPECT_FALSE(send_message(p.a.get(), {{"op", "x"}}, many));
}

TEST(MessageSocket, OverlongSocketPathsSayWhatToDo) {
  auto r = listen_messages("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().describe().find("shorter --root"), std::string::npos);
}

}  // namespace
}  // namespace runvm::host
