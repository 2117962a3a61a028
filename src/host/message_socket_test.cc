#include "host/message_socket.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

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

// runc's exec takes 8 arguments of 128 KiB; one packet cannot hold them
// (net.core.wmem_max), so the body travels in a sealed memfd.
TEST(MessageSocket, AMessageLargerThanAPacketArrivesWholeWithItsDescriptors) {
  Pair p = socket_pair();
  auto [r, w] = *io::make_pipe();
  nlohmann::json args = nlohmann::json::array();
  for (int i = 0; i < 8; ++i) args.push_back(std::string(131071, static_cast<char>('a' + i)));
  ASSERT_TRUE(send_message(p.a.get(), {{"op", "exec"}, {"args", args}}, {w.get()}));
  auto m = receive_message(p.b.get());
  ASSERT_TRUE(m) << m.error().describe();
  ASSERT_TRUE(*m);
  EXPECT_EQ((*m)->body["args"], args);
  ASSERT_EQ((*m)->fds.size(), 1u);  // the body's memfd is not handed on
  ASSERT_EQ(::write((*m)->fds[0].get(), "x", 1), 1);
  EXPECT_FALSE(send_message(p.a.get(), {{"big", std::string(kMaxMessageBytes, 'x')}}));
}

// A peer that announces a body must send a sealed memfd of that size.
TEST(MessageSocket, AForgedBodyDescriptorIsRefused) {
  Pair p = socket_pair();
  // One packet, with one descriptor unless fd is -1.
  auto send_raw = [&](const std::string& text, int fd) {
    if (fd >= 0) ASSERT_TRUE(io::send_fd(p.a.get(), fd, text));
    else ASSERT_EQ(::write(p.a.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  };

  auto [r, w] = *io::make_pipe();
  send_raw(R"({"body_in_fd": 2})", r.get());  // a pipe, not a sealed memfd
  EXPECT_FALSE(receive_message(p.b.get()));
  send_raw(R"({"body_in_fd": 2})", -1);  // no descriptor at all
  EXPECT_FALSE(receive_message(p.b.get()));
  int unsealed = ::memfd_create("x", MFD_CLOEXEC);
  ASSERT_EQ(::write(unsealed, "{}", 2), 2);
  send_raw(R"({"body_in_fd": 2})", unsealed);  // writable after sending
  EXPECT_FALSE(receive_message(p.b.get()));
  ::close(unsealed);
  send_raw(R"({"body_in_fd": 99999999999})", r.get());
  EXPECT_FALSE(receive_message(p.b.get()));
}

TEST(MessageSocket, PathsLongerThanASocketAddressStillWork) {
  char tmpl[] = "/tmp/msgsock-XXXXXX";
  std::string dir = std::string(::mkdtemp(tmpl)) + "/" + std::string(100, 'd');
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::string path = dir + "/control.sock";
  ASSERT_GT(path.size(), 108u);
  auto listener = listen_messages(path);
  ASSERT_TRUE(listener) << listener.error().describe();
  auto conn = connect_messages(path);
  ASSERT_TRUE(conn) << conn.error().describe();
  auto name_too_long = listen_messages(dir + "/" + std::string(120, 'n'));
  ASSERT_FALSE(name_too_long);
  EXPECT_NE(name_too_long.error().describe().find("too long"), std::string::npos);
  std::system(("rm -rf " + std::string(tmpl)).c_str());
}

}  // namespace
}  // namespace runvm::host
