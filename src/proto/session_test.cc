#include "proto/session.h"

#include <gtest/gtest.h>

#include <utility>

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

namespace runvm::proto {
namespace {

// Two Sessions connected back to back: the host end `a` and the guest end
// `b`. pump() moves each outbox into the other's receive() until both are
// empty and collects the events each end saw.
struct Pair {
  Session a{"runvm"};
  Session b{"runvm-agent"};
  std::vector<Event> a_events;
  std::vector<Event> b_events;

  // Moves bytes both ways until quiet. Fails the test on a protocol error.
  void pump() {
    while (!a.outbox().empty() || !b.outbox().empty()) {
      deliver(a, b, b_events);
      deliver(b, a, a_events);
    }
  }

  static void deliver(Session& from, Session& to, std::vector<Event>& events) {
    std::string bytes = std::move(from.outbox());
    from.outbox().clear();
    if (bytes.empty()) return;
    auto r = to.receive(bytes);
    ASSERT_TRUE(r) << r.error().message();
    for (Event& e : *r) events.push_back(std::move(e));
  }

  void handshake() {
    a.send_hello();
    b.send_hello();
    pump();
    ASSERT_TRUE(a.handshake_done());
    ASSERT_TRUE(b.handshake_done());
    a_events.clear();
    b_events.clear();
  }
};

// The error from feeding frames straight into a session.
std::string receive_error(Session& s, const std::string& bytes) {
  auto r = s.receive(bytes);
  if (r) return "(no error)";
  return r.error().message();
}

std::string frame(FrameType type, std::string stream, std::string payload = "") {
  return encode_frame(Frame{type, std::move(stream), std::move(payload)});
}

std::string hello(int version = static_cast<int>(kProtocolVersion)) {
  return frame(FrameType::hello, "",
               R"({"version":)" + std::to_string(version) + R"(,"name":"test"})");
}

// A session that has seen the peer's HELLO (and sent its own).
Session greeted() {
  Session s("runvm");
  s.send_hello();
  auto r = s.receive(hello());
  EXPECT_TRUE(r);
  s.outbox().clear();
  return s;
}

// Decodes everything in an outbox.
std::vector<Frame> frames_in(const std::string& bytes) {
  FrameDecoder d;
  d.feed(bytes);
  std::vector<Frame> out;
  for (;;) {
    auto r = d.next();
    EXPECT_TRUE(r);
    if (!r || !*r) break;
    out.push_back(std::move(**r));
  }
  EXPECT_TRUE(d.finish());
  return out;
}

// Events rendered as one line each, for order-sensitive comparisons.
std::vector<std::string> describe(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) {
    if (auto* h = std::get_if<event::Hello>(&e)) out.push_back("hello " + h->body.dump());
    if (auto* o = std::get_if<event::Opened>(&e)) out.push_back("opened " + o->stream);
    if (auto* d = std::get_if<event::Data>(&e)) out.push_back("data " + d->stream + " " + d->bytes);
    if (auto* f = std::get_if<event::Eof>(&e)) out.push_back("eof " + f->stream);
    if (auto* m = std::get_if<event::Message>(&e))
      out.push_back("message " + m->stream + " " + m->body.dump());
    if (auto* p = std::get_if<event::PeerError>(&e)) out.push_back("error " + p->message);
  }
  return out;
}

using Lines = std::vector<std::string>;

// ---- handshake -------------------------------------------------------------

TEST(Session, Handshake) {
  Pair p;
  EXPECT_FALSE(p.a.handshake_done());
  p.a.send_hello();
  EXPECT_FALSE(p.a.handshake_done());
  p.b.send_hello();
  p.pump();
  EXPECT_TRUE(p.a.handshake_done());
  EXPECT_TRUE(p.b.handshake_done());
  EXPECT_EQ(describe(p.a_events), (Lines{R"(hello {"name":"runvm-agent","version":)" +
                                           std::to_string(kProtocolVersion) + "}"}));
  EXPECT_EQ(describe(p.b_events), (Lines{R"(hello {"name":"runvm","version":)" +
                                           std::to_string(kProtocolVersion) + "}"}));
  EXPECT_TRUE(p.a.is_open("control"));
  EXPECT_TRUE(p.b.is_open("control"));
}

TEST(Session, HelloWireFormat) {
  Session s("runvm");
  s.send_hello();
  std::vector<Frame> frames = frames_in(s.outbox());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::hello);
  EXPECT_EQ(frames[0].stream, "");
  auto body = nlohmann::json::parse(frames[0].payload);
  EXPECT_EQ(body["version"], kProtocolVersion);
  EXPECT_EQ(body["name"], "runvm");
}

TEST(Session, HandshakeNeedsBothHellos) {
  Session s("runvm");
  auto r = s.receive(hello());
  ASSERT_TRUE(r);
  EXPECT_FALSE(s.handshake_done());  // we have not sent ours
  s.send_hello();
  EXPECT_TRUE(s.handshake_done());
}

TEST(Session, FramesBeforeHelloRejected) {
  for (FrameType t : {FrameType::open, FrameType::data, FrameType::eof,
                      FrameType::window, FrameType::message}) {
    Session s("runvm");
    s.send_hello();
    std::string payload = t == FrameType::window ? encode_u32(1) : "";
    EXPECT_EQ(receive_error(s, frame(t, "control", payload)),
              std::string("expected HELLO first, got ") + frame_type_name(t));
  }
}

TEST(Session, VersionMismatchNamesBothVersions) {
  Session s("runvm");
  s.send_hello();
  int other = static_cast<int>(kProtocolVersion) + 1;
  std::string msg = receive_error(s, hello(other));
  EXPECT_NE(msg.find("version mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("peer speaks " + std::to_string(other)), std::string::npos) << msg;
  EXPECT_NE(msg.find("this end speaks " + std::to_string(kProtocolVersion)), std::string::npos) << msg;
  EXPECT_FALSE(s.handshake_done());
}

TEST(Session, VersionMismatchBetweenSessions) {
  // The usual flow: the end that sees the mismatch sends ERROR and closes;
  // the other end sees it as a PeerError.
  Session host("runvm");
  host.send_hello();
  std::string msg = receive_error(host, hello(7));
  host.send_error(msg);
  Session guest("runvm-agent");
  guest.send_hello();
  auto r = guest.receive(host.outbox());
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_TRUE(std::holds_alternative<event::Hello>((*r)[0]));
  ASSERT_TRUE(std::holds_alternative<event::PeerError>((*r)[1]));
  EXPECT_EQ(std::get<event::PeerError>((*r)[1]).message, msg);
}

TEST(Session, MalformedHello) {
  for (std::string payload : {"", "not json", "[1]", "{}", R"({"version":"1"})",
                              R"({"version":-1})", R"({"version":1.5})"}) {
    Session s("runvm");
    EXPECT_EQ(receive_error(s, frame(FrameType::hello, "", payload)),
              "malformed HELLO: no version")
        << payload;
  }
}

TEST(Session, DuplicateHello) {
  Pair p;
  p.handshake();
  EXPECT_EQ(receive_error(p.b, hello()), "duplicate HELLO");
}

// ---- stream lifecycle ------------------------------------------------------

TEST(Session, OpenDataEofLifecycle) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("stdout"));
  ASSERT_TRUE(p.a.send_data("stdout", "hello "));
  ASSERT_TRUE(p.a.send_message("stdout", {{"k", "v"}}));
  ASSERT_TRUE(p.a.send_data("stdout", "world"));
  ASSERT_TRUE(p.a.send_data("stdout", ""));  // nothing to send: no event
  ASSERT_TRUE(p.a.send_eof("stdout"));
  p.pump();
  EXPECT_EQ(describe(p.b_events), (Lines{"opened stdout", "data stdout hello ",
                                         R"(message stdout {"k":"v"})",
                                         "data stdout world", "eof stdout"}));
  EXPECT_TRUE(p.a_events.empty());
}

TEST(Session, OpenWireFormat) {
  Session s = greeted();
  ASSERT_TRUE(s.open("stdin"));
  std::vector<Frame> frames = frames_in(s.outbox());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::open);
  EXPECT_EQ(frames[0].stream, "stdin");
  EXPECT_EQ(frames[0].payload, "");
}

TEST(Session, OpenValidatesId) {
  Session s = greeted();
  EXPECT_FALSE(s.open(""));
  EXPECT_FALSE(s.open(std::string(256, 'x')));
  EXPECT_TRUE(s.open(std::string(255, 'x')));
  EXPECT_FALSE(s.open(std::string(255, 'x')));  // already open
  EXPECT_FALSE(s.open("control"));
  EXPECT_TRUE(s.outbox().size() == kHeaderSize + 255);  // only the valid OPEN
}

TEST(Session, OpenControlBeforeHandshakeRejected) {
  Session s("runvm");
  s.send_hello();
  s.outbox().clear();
  EXPECT_FALSE(s.open("control"));
  EXPECT_TRUE(s.outbox().empty());
}

TEST(Session, StreamsBothWaysAndControl) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("stdin"));
  ASSERT_TRUE(p.b.open("x"));
  ASSERT_TRUE(p.a.send_message("control", {{"type", "run"}}));
  ASSERT_TRUE(p.b.send_message("control", {{"type", "started"}, {"pid", 42}}));
  p.pump();
  EXPECT_EQ(describe(p.b_events),
            (Lines{"opened stdin", R"(message control {"type":"run"})"}));
  EXPECT_EQ(describe(p.a_events),
            (Lines{"opened x", R"(message control {"pid":42,"type":"started"})"}));
}

TEST(Session, HalfClose) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("s"));
  ASSERT_TRUE(p.a.send_data("s", "ping"));
  ASSERT_TRUE(p.a.send_eof("s"));
  p.pump();
  EXPECT_EQ(describe(p.b_events), (Lines{"opened s", "data s ping", "eof s"}));
  // a can send no more; b still can, and a still receives.
  EXPECT_FALSE(p.a.send_data("s", "more"));
  EXPECT_FALSE(p.a.send_eof("s"));
  EXPECT_EQ(p.a.send_credit("s"), 0u);
  EXPECT_TRUE(p.a.is_open("s"));
  EXPECT_TRUE(p.b.is_open("s"));
  EXPECT_EQ(p.b.send_credit("s"), kInitialWindow);
  ASSERT_TRUE(p.b.send_data("s", "pong"));
  ASSERT_TRUE(p.b.send_data("s", "!"));
  ASSERT_TRUE(p.b.send_eof("s"));
  EXPECT_FALSE(p.b.is_open("s"));  // both directions ended at b
  p.pump();
  EXPECT_EQ(describe(p.a_events), (Lines{"data s pong", "data s !", "eof s"}));
  EXPECT_FALSE(p.a.is_open("s"));
  EXPECT_FALSE(p.b.is_open("s"));

  // Forgotten at both ends: the ID can be opened again, by either end.
  p.a_events.clear();
  p.b_events.clear();
  ASSERT_TRUE(p.b.open("s"));
  ASSERT_TRUE(p.b.send_data("s", "again"));
  p.pump();
  EXPECT_EQ(describe(p.a_events), (Lines{"opened s", "data s again"}));
  EXPECT_EQ(p.a.send_credit("s"), kInitialWindow);
}

TEST(Session, SimultaneousEof) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("s"));
  p.pump();
  ASSERT_TRUE(p.a.send_eof("s"));
  ASSERT_TRUE(p.b.send_eof("s"));
  p.pump();
  EXPECT_FALSE(p.a.is_open("s"));
  EXPECT_FALSE(p.b.is_open("s"));
  EXPECT_EQ(describe(p.a_events), (Lines{"eof s"}));
  EXPECT_EQ(describe(p.b_events), (Lines{"opened s", "eof s"}));
}

TEST(Session, DuplicateOpenIsError) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("s"));
  p.pump();
  EXPECT_EQ(receive_error(p.b, frame(FrameType::open, "s")),
            "OPEN of stream \"s\", which is already open");
}

TEST(Session, OpenOfControlIsError) {
  Session s = greeted();
  EXPECT_EQ(receive_error(s, frame(FrameType::open, "control")),
            "OPEN of stream \"control\", which is already open");
}

TEST(Session, OpenWithEmptyIdIsError) {
  Session s = greeted();
  EXPECT_EQ(receive_error(s, frame(FrameType::open, "")), "OPEN with an empty stream ID");
}

TEST(Session, UnknownStreamIsErrorNamingIt) {
  for (FrameType t : {FrameType::data, FrameType::eof, FrameType::message}) {
    Session s = greeted();
    std::string payload = t == FrameType::message ? "{}" : "x";
    EXPECT_EQ(receive_error(s, frame(t, "nosuch", payload)),
              std::string(frame_type_name(t)) + " on unknown stream \"nosuch\"");
  }
}

TEST(Session, DataAfterEofIsError) {
  Session s = greeted();
  ASSERT_TRUE(s.receive(frame(FrameType::open, "s") + frame(FrameType::eof, "s")));
  EXPECT_EQ(receive_error(s, frame(FrameType::data, "s", "late")),
            "DATA on stream \"s\" after its EOF");
}

TEST(Session, MessageAfterEofIsError) {
  Session s = greeted();
  ASSERT_TRUE(s.receive(frame(FrameType::open, "s") + frame(FrameType::eof, "s")));
  EXPECT_EQ(receive_error(s, frame(FrameType::message, "s", "{}")),
            "MESSAGE on stream \"s\" after its EOF");
}

TEST(Session, SendMessageAfterOwnEofFails) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("s"));
  ASSERT_TRUE(p.a.send_eof("s"));
  EXPECT_FALSE(p.a.send_message("s", {{"type", "x"}}));
  EXPECT_FALSE(p.a.send_message("nosuch", {{"type", "x"}}));
  p.pump();
  EXPECT_EQ(describe(p.b_events), (Lines{"opened s", "eof s"}));
}

TEST(Session, SecondEofIsError) {
  Session s = greeted();
  ASSERT_TRUE(s.receive(frame(FrameType::open, "s") + frame(FrameType::eof, "s")));
  EXPECT_EQ(receive_error(s, frame(FrameType::eof, "s")), "second EOF on stream \"s\"");
}

TEST(Session, EofAfterStreamForgottenIsUnknown) {
  Session s = greeted();
  ASSERT_TRUE(s.open("s"));
  ASSERT_TRUE(s.send_eof("s"));
  ASSERT_TRUE(s.receive(frame(FrameType::eof, "s")));
  EXPECT_FALSE(s.is_open("s"));
  EXPECT_EQ(receive_error(s, frame(FrameType::eof, "s")), "EOF on unknown stream \"s\"");
}

TEST(Session, EofOnControlIsError) {
  Session s = greeted();
  EXPECT_EQ(receive_error(s, frame(FrameType::eof, "control")), "EOF on the control stream");
}

TEST(Session, SendEofOnControlFails) {
  Session s = greeted();
  EXPECT_FALSE(s.send_eof("control"));
  EXPECT_TRUE(s.outbox().empty());
  EXPECT_TRUE(s.is_open("control"));
  EXPECT_TRUE(s.send_message("control", {{"type", "shutdown"}}));
}

TEST(Session, MalformedMessage) {
  for (std::string payload : {"", "not json", "[1,2]", "\"text\"", "42", "null", "{\"a\":"}) {
    Session s = greeted();
    EXPECT_EQ(receive_error(s, frame(FrameType::message, "control", payload)),
              "MESSAGE on stream \"control\" is not a JSON object")
        << payload;
  }
}

TEST(Session, MessageRoundTripKeepsInvalidUtf8Sendable) {
  Pair p;
  p.handshake();
  // A process argument need not be UTF-8; the message still goes out.
  ASSERT_TRUE(p.a.send_message("control", {{"arg", std::string("a\xff" "b")}}));
  p.pump();
  ASSERT_EQ(p.b_events.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<event::Message>(p.b_events[0]));
}

TEST(Session, OversizedMessageFails) {
  Session s = greeted();
  EXPECT_FALSE(s.send_message("control", {{"big", std::string(kMaxPayloadSize, 'x')}}));
  EXPECT_TRUE(s.outbox().empty());
}

// The host's control messages may carry a process's whole arguments and
// environment (runc takes 8 x 128 KiB): up to kMaxHostMessageSize from the
// host; the guest's messages stay within kMaxPayloadSize.
TEST(Session, HostMessagesMayBeLargerThanGuestOnes) {
  Session host("runvm", kMaxPayloadSize, kMaxHostMessageSize);
  Session guest("runvm-agent", kMaxHostMessageSize, kMaxPayloadSize);
  host.send_hello();
  guest.send_hello();
  ASSERT_TRUE(host.receive(std::exchange(guest.outbox(), "")));
  ASSERT_TRUE(guest.receive(std::exchange(host.outbox(), "")));
  std::string big(2 << 20, 'x');
  ASSERT_TRUE(host.send_message("control", {{"args", big}}));
  auto events = guest.receive(std::exchange(host.outbox(), ""));
  ASSERT_TRUE(events) << events.error().message();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_TRUE(std::holds_alternative<event::Message>((*events)[0]));
  auto refused = guest.send_message("control", {{"args", big}});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("over the protocol's limit of 1 MiB"), std::string::npos)
      << refused.error().message();
  // A host end that hears a guest frame over 1 MiB refuses it from its header.
  Session host2("runvm", kMaxPayloadSize, kMaxHostMessageSize);
  Session loud_guest("runvm-agent", kMaxHostMessageSize, kMaxHostMessageSize);
  host2.send_hello();
  loud_guest.send_hello();
  ASSERT_TRUE(host2.receive(std::exchange(loud_guest.outbox(), "")));
  ASSERT_TRUE(loud_guest.receive(std::exchange(host2.outbox(), "")));
  ASSERT_TRUE(loud_guest.send_message("control", {{"args", big}}));
  EXPECT_FALSE(host2.receive(std::exchange(loud_guest.outbox(), "")));
}

TEST(Session, MalformedWindow) {
  for (std::string payload : {std::string(), std::string("abc"), std::string("abcde")}) {
    Session s = greeted();
    EXPECT_EQ(receive_error(s, frame(FrameType::window, "control", payload)),
              "WINDOW payload must be 4 bytes")
        << payload.size();
  }
}

TEST(Session, WindowOverflow) {
  Session s = greeted();
  ASSERT_TRUE(s.open("s"));
  std::string msg = receive_error(s, frame(FrameType::window, "s", encode_u32(0xffffffff)));
  EXPECT_EQ(msg, "WINDOW overflow on stream \"s\"");
}

TEST(Session, WindowOnForgottenStreamIgnored) {
  // Credit can race with the EOFs that retired a stream.
  Session s = greeted();
  auto r = s.receive(frame(FrameType::window, "gone", encode_u32(1000)));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->empty());
}

// ---- flow control ----------------------------------------------------------

TEST(Session, SendCreditDropsWithSends) {
  Pair p;
  p.handshake();
  EXPECT_EQ(p.a.send_credit("s"), 0u);  // not open
  ASSERT_TRUE(p.a.open("s"));
  EXPECT_EQ(p.a.send_credit("s"), kInitialWindow);
  EXPECT_EQ(p.a.send_credit("control"), kInitialWindow);
  ASSERT_TRUE(p.a.send_data("s", std::string(1000, 'x')));
  EXPECT_EQ(p.a.send_credit("s"), kInitialWindow - 1000);
  Status over = p.a.send_data("s", std::string(kInitialWindow, 'x'));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message().find("beyond the window"), std::string::npos);
  EXPECT_EQ(p.a.send_credit("s"), kInitialWindow - 1000);  // a failed send takes nothing
  ASSERT_TRUE(p.a.send_data("s", std::string(kInitialWindow - 1000, 'y')));
  EXPECT_EQ(p.a.send_credit("s"), 0u);
  EXPECT_FALSE(p.a.send_data("s", "z"));
  EXPECT_TRUE(p.a.send_data("s", ""));
  p.pump();
  size_t got = 0;
  for (const Event& e : p.b_events)
    if (auto* d = std::get_if<event::Data>(&e)) got += d->bytes.size();
  EXPECT_EQ(got, kInitialWindow);
}

TEST(Session, DataBeyondWindowRejectedByReceiver) {
  Session s = greeted();
  ASSERT_TRUE(s.receive(frame(FrameType::open, "s")));
  // One frame larger than the whole window.
  EXPECT_NE(receive_error(s, frame(FrameType::data, "s", std::string(kInitialWindow + 1, 'x')))
                .find("flow control violated"),
            std::string::npos);

  // The window filled exactly, then one byte more.
  Session t = greeted();
  ASSERT_TRUE(t.receive(frame(FrameType::open, "s")));
  for (size_t sent = 0; sent < kInitialWindow; sent += kMaxDataChunk)
    ASSERT_TRUE(t.receive(frame(FrameType::data, "s", std::string(kMaxDataChunk, 'x'))));
  std::string msg = receive_error(t, frame(FrameType::data, "s", "!"));
  EXPECT_EQ(msg, "stream \"s\": peer sent 1 bytes with only 0 of window left "
                 "(flow control violated)");
}

TEST(Session, DataWithinReturnedCreditAccepted) {
  Session s = greeted();
  ASSERT_TRUE(s.receive(frame(FrameType::open, "s")));
  ASSERT_TRUE(s.receive(frame(FrameType::data, "s", std::string(kInitialWindow, 'x'))));
  s.consumed("s", kInitialWindow / 2);
  ASSERT_TRUE(s.receive(frame(FrameType::data, "s", std::string(kInitialWindow / 2, 'x'))));
  EXPECT_FALSE(s.receive(frame(FrameType::data, "s", "x")));
}

TEST(Session, ConsumedReturnsCreditInHalfWindowBatches) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("s"));
  ASSERT_TRUE(p.a.send_data("s", std::string(kInitialWindow, 'x')));
  p.pump();
  EXPECT_EQ(p.a.send_credit("s"), 0u);

  p.b.consumed("s", 1);
  p.b.consumed("s", kInitialWindow / 2 - 2);
  EXPECT_TRUE(p.b.outbox().empty());  // below half a window: nothing yet
  p.b.consumed("s", 1);               // exactly half a window
  std::vector<Frame> frames = frames_in(p.b.outbox());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::window);
  EXPECT_EQ(frames[0].stream, "s");
  EXPECT_EQ(decode_u32(frames[0].payload), kInitialWindow / 2);
  p.pump();
  EXPECT_EQ(p.a.send_credit("s"), kInitialWindow / 2);
  ASSERT_TRUE(p.a.send_data("s", std::string(kInitialWindow / 2, 'y')));
  EXPECT_FALSE(p.a.send_data("s", "z"));
  p.pump();

  // A batch may be larger than half a window; the grant is what was consumed.
  p.b.consumed("s", kInitialWindow / 2 - 1);
  EXPECT_TRUE(p.b.outbox().empty());
  p.b.consumed("s", kInitialWindow / 2);
  frames = frames_in(p.b.outbox());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(decode_u32(frames[0].payload), kInitialWindow - 1);
  p.pump();
  EXPECT_EQ(p.a.send_credit("s"), kInitialWindow - 1);
}

TEST(Session, ConsumedAfterPeerEofGrantsNothing) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("s"));
  ASSERT_TRUE(p.a.send_data("s", std::string(kInitialWindow, 'x')));
  ASSERT_TRUE(p.a.send_eof("s"));
  p.pump();
  p.b.consumed("s", kInitialWindow);
  p.b.consumed("nosuch", kInitialWindow);
  EXPECT_TRUE(p.b.outbox().empty());
}

TEST(Session, WindowsArePerStreamAndDirection) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("s1"));
  ASSERT_TRUE(p.a.open("s2"));
  ASSERT_TRUE(p.a.send_data("s1", std::string(kInitialWindow, 'x')));
  EXPECT_EQ(p.a.send_credit("s2"), kInitialWindow);
  p.pump();
  EXPECT_EQ(p.b.send_credit("s1"), kInitialWindow);
  ASSERT_TRUE(p.b.send_data("s1", std::string(kInitialWindow, 'y')));
  ASSERT_TRUE(p.a.send_data("s2", std::string(kInitialWindow, 'z')));
  p.pump();
}

TEST(Session, LargeTransferBothWays) {
  // 10 MiB each way on one stream; each receiver holds what it gets and
  // consumes at most 40 KiB per round, so the window is what bounds it.
  constexpr size_t kTotal = 10 << 20;
  std::string to_b(kTotal, '\0'), to_a(kTotal, '\0');
  for (size_t i = 0; i < kTotal; ++i) {
    to_b[i] = static_cast<char>((i * 7 + i / 4099) & 0xff);
    to_a[i] = static_cast<char>((i * 13 + 5) & 0xff);
  }
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.a.open("bulk"));
  p.pump();
  ASSERT_EQ(describe(p.b_events), (Lines{"opened bulk"}));
  p.b_events.clear();

  struct Side {
    Side(Session* self, std::vector<Event>* events, const std::string* out)
        : self(self), events(events), out(out) {}
    Session* self;
    std::vector<Event>* events;
    const std::string* out;
    size_t sent = 0;
    std::string received;
    size_t consumed = 0;
    size_t max_held = 0;
    bool eof_seen = false;
  };
  Side a{&p.a, &p.a_events, &to_b};  // a sends to_b, receives to_a
  Side b{&p.b, &p.b_events, &to_a};
  size_t rounds = 0;
  while (!a.eof_seen || !b.eof_seen) {
    ASSERT_LT(++rounds, 100000u) << "transfer stalled";
    for (Side* s : {&a, &b}) {
      if (s->sent < kTotal) {
        size_t credit = s->self->send_credit("bulk");
        size_t n = std::min({credit, kTotal - s->sent, size_t{100000}});
        ASSERT_TRUE(s->self->send_data("bulk", std::string_view(*s->out).substr(s->sent, n)));
        s->sent += n;
        if (s->sent == kTotal) {
          ASSERT_TRUE(s->self->send_eof("bulk"));
        }
      }
    }
    p.pump();
    for (Side* s : {&a, &b}) {
      for (Event& e : *s->events) {
        if (auto* d = std::get_if<event::Data>(&e)) {
          ASSERT_LE(d->bytes.size(), kMaxDataChunk);
          s->received += d->bytes;
        } else if (std::holds_alternative<event::Eof>(e)) {
          s->eof_seen = true;
        } else {
          FAIL() << describe({e})[0];
        }
      }
      s->events->clear();
      size_t held = s->received.size() - s->consumed;
      s->max_held = std::max(s->max_held, held);
      size_t n = std::min(held, size_t{40 * 1024});
      s->self->consumed("bulk", n);
      s->consumed += n;
    }
  }
  EXPECT_EQ(a.received.size(), kTotal);
  EXPECT_EQ(b.received.size(), kTotal);
  EXPECT_TRUE(a.received == to_a);
  EXPECT_TRUE(b.received == to_b);
  EXPECT_LE(a.max_held, kInitialWindow);
  EXPECT_LE(b.max_held, kInitialWindow);
  EXPECT_GT(b.max_held, kInitialWindow / 2);  // the window was actually used
  EXPECT_FALSE(p.a.is_open("bulk"));
  EXPECT_FALSE(p.b.is_open("bulk"));
}

TEST(Session, LargeTransferOneByteFeeds) {
  // The same protocol over a channel that delivers one byte at a time.
  Session a("runvm"), b("runvm-agent");
  a.send_hello();
  b.send_hello();
  ASSERT_TRUE(b.receive(a.outbox()));
  ASSERT_TRUE(a.receive(b.outbox()));
  a.outbox().clear();
  b.outbox().clear();
  ASSERT_TRUE(a.open("s"));
  std::string payload(300000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i % 251);
  std::string received;
  size_t sent = 0;
  for (int round = 0; round < 10 && received.size() < payload.size(); ++round) {
    size_t n = std::min(a.send_credit("s"), payload.size() - sent);
    ASSERT_TRUE(a.send_data("s", std::string_view(payload).substr(sent, n)));
    sent += n;
    std::string wire = std::move(a.outbox());
    a.outbox().clear();
    for (char c : wire) {
      auto r = b.receive(std::string_view(&c, 1));
      ASSERT_TRUE(r) << r.error().message();
      for (Event& e : *r) {
        auto* d = std::get_if<event::Data>(&e);
        if (!d) continue;
        received += d->bytes;
        b.consumed("s", d->bytes.size());
      }
    }
    ASSERT_TRUE(a.receive(b.outbox()));
    b.outbox().clear();
  }
  EXPECT_TRUE(received == payload);
  EXPECT_TRUE(b.receive_eof());
}

TEST(Session, SendDataSplitsIntoChunks) {
  Session s = greeted();
  ASSERT_TRUE(s.open("s"));
  s.outbox().clear();
  std::string bytes(3 * kMaxDataChunk + 1696, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 17);
  ASSERT_TRUE(s.send_data("s", bytes));
  std::vector<Frame> frames = frames_in(s.outbox());
  ASSERT_EQ(frames.size(), 4u);
  std::string joined;
  for (const Frame& f : frames) {
    EXPECT_EQ(f.type, FrameType::data);
    EXPECT_EQ(f.stream, "s");
    EXPECT_LE(f.payload.size(), kMaxDataChunk);
    joined += f.payload;
  }
  EXPECT_EQ(frames[0].payload.size(), kMaxDataChunk);
  EXPECT_EQ(frames[3].payload.size(), 1696u);
  EXPECT_TRUE(joined == bytes);

  s.outbox().clear();
  ASSERT_TRUE(s.send_data("s", std::string(kMaxDataChunk, 'x')));
  EXPECT_EQ(frames_in(s.outbox()).size(), 1u);
}

TEST(Session, SendOnUnknownStreamFails) {
  Session s = greeted();
  Status st = s.send_data("nosuch", "x");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("\"nosuch\""), std::string::npos);
  EXPECT_FALSE(s.send_eof("nosuch"));
  EXPECT_TRUE(s.outbox().empty());
}

// ---- errors ----------------------------------------------------------------

TEST(Session, ErrorFrameSurfacesAsPeerError) {
  Pair p;
  p.handshake();
  p.b.send_error("agent: exploded");
  p.pump();
  EXPECT_EQ(describe(p.a_events), (Lines{"error agent: exploded"}));
}

TEST(Session, ErrorFrameBeforeHelloSurfaces) {
  Session s("runvm");
  auto r = s.receive(frame(FrameType::error, "", "too old"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(describe(*r), (Lines{"error too old"}));
}

TEST(Session, SendErrorIsTruncated) {
  Session s("runvm");
  s.send_error(std::string(10000, 'e'));
  std::vector<Frame> frames = frames_in(s.outbox());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::error);
  EXPECT_EQ(frames[0].stream, "");
  EXPECT_EQ(frames[0].payload.size(), 4096u);
}

TEST(Session, FrameErrorsPassThrough) {
  Session s = greeted();
  std::string bad = frame(FrameType::data, "control", "x");
  bad[0] = 'X';
  EXPECT_NE(receive_error(s, bad).find("bad frame magic"), std::string::npos);
}

TEST(Session, TruncatedAtEof) {
  Session s = greeted();
  EXPECT_TRUE(s.receive_eof());
  std::string f = frame(FrameType::message, "control", "{}");
  ASSERT_TRUE(s.receive(f.substr(0, f.size() - 1)));
  EXPECT_FALSE(s.receive_eof());
}

}  // namespace
}  // namespace runvm::proto
