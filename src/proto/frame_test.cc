#include "proto/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace runvm::proto {
namespace {

const FrameType kAllTypes[] = {FrameType::hello,  FrameType::open,
                               FrameType::data,   FrameType::eof,
                               FrameType::window, FrameType::message,
                               FrameType::error};

bool same(const Frame& a, const Frame& b) {
  return a.type == b.type && a.stream == b.stream && a.payload == b.payload;
}

// Decodes every whole frame in the decoder; fails the test on an error.
std::vector<Frame> drain(FrameDecoder& d) {
  std::vector<Frame> frames;
  for (;;) {
    auto r = d.next();
    EXPECT_TRUE(r) << r.error().message();
    if (!r || !*r) break;
    frames.push_back(std::move(**r));
  }
  return frames;
}

// A header with the given fields, no ID or payload after it.
std::string header(uint16_t magic, uint8_t type, uint8_t id_size, uint32_t payload_size) {
  std::string h;
  h.push_back(static_cast<char>(magic & 0xff));
  h.push_back(static_cast<char>(magic >> 8));
  h.push_back(static_cast<char>(type));
  h.push_back(static_cast<char>(id_size));
  h += encode_u32(payload_size);
  return h;
}

// Payload bytes covering all 256 values, so nothing is treated as text.
std::string binary(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + 7) & 0xff);
  return s;
}

std::vector<Frame> sample_frames() {
  std::vector<Frame> frames;
  for (FrameType t : kAllTypes) {
    frames.push_back({t, "", ""});
    frames.push_back({t, "s", "x"});
    frames.push_back({t, std::string(kMaxStreamIdSize, 'i'), binary(100)});
  }
  frames.push_back({FrameType::data, "stdout", binary(kMaxDataChunk)});
  frames.push_back({FrameType::window, "stdin", encode_u32(128 * 1024)});
  frames.push_back({FrameType::message, "control", R"({"type":"shutdown"})"});
  return frames;
}

TEST(Frame, TypeNames) {
  EXPECT_STREQ(frame_type_name(FrameType::hello), "HELLO");
  EXPECT_STREQ(frame_type_name(FrameType::open), "OPEN");
  EXPECT_STREQ(frame_type_name(FrameType::data), "DATA");
  EXPECT_STREQ(frame_type_name(FrameType::eof), "EOF");
  EXPECT_STREQ(frame_type_name(FrameType::window), "WINDOW");
  EXPECT_STREQ(frame_type_name(FrameType::message), "MESSAGE");
  EXPECT_STREQ(frame_type_name(FrameType::error), "ERROR");
}

TEST(Frame, U32IsLittleEndian) {
  EXPECT_EQ(encode_u32(0x04030201), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(decode_u32(std::string("\x01\x02\x03\x04", 4)), 0x04030201u);
  for (uint32_t v : {0u, 1u, 0xffu, 0x100u, 0x7fffffffu, 0x80000000u, 0xffffffffu})
    EXPECT_EQ(decode_u32(encode_u32(v)), v);
}

TEST(Frame, HeaderLayout) {
  std::string wire = encode_frame({FrameType::data, "ab", "xyz"});
  EXPECT_EQ(wire, std::string("\x52\x56\x03\x02\x03\x00\x00\x00"
                              "ab"
                              "xyz",
                              13));
  EXPECT_EQ(wire.substr(0, 2), "RV");
}

TEST(Frame, RoundTripEveryType) {
  for (const Frame& f : sample_frames()) {
    std::string wire = encode_frame(f);
    EXPECT_EQ(wire.size(), kHeaderSize + f.stream.size() + f.payload.size());
    FrameDecoder d;
    d.feed(wire);
    auto r = d.next();
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(*r) << frame_type_name(f.type);
    EXPECT_TRUE(same(**r, f)) << frame_type_name(f.type);
    EXPECT_EQ(d.buffered(), 0u);
    EXPECT_TRUE(d.finish());
    auto again = d.next();
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
  }
}

TEST(Frame, RoundTripMaxSizes) {
  Frame f{FrameType::data, std::string(kMaxStreamIdSize, '\xff'), binary(kMaxPayloadSize)};
  std::string wire = encode_frame(f);
  ASSERT_EQ(wire.size(), kHeaderSize + 255 + (1u << 20));
  EXPECT_EQ(static_cast<uint8_t>(wire[3]), 255);
  FrameDecoder d;
  d.feed(wire);
  auto r = d.next();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(*r);
  EXPECT_TRUE(same(**r, f));
  EXPECT_TRUE(d.finish());
}

TEST(Frame, SeveralFramesInOneFeed) {
  std::vector<Frame> frames = sample_frames();
  std::string wire;
  for (const Frame& f : frames) wire += encode_frame(f);
  FrameDecoder d;
  d.feed(wire);
  std::vector<Frame> got = drain(d);
  ASSERT_EQ(got.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_TRUE(same(got[i], frames[i])) << i;
  EXPECT_TRUE(d.finish());
}

TEST(Frame, SplitAtEveryPosition) {
  std::vector<Frame> frames = {
      {FrameType::hello, "", R"({"version":1,"name":"runvm"})"},
      {FrameType::open, "stdin", ""},
      {FrameType::data, "stdin", binary(300)},
      {FrameType::window, "stdout", encode_u32(131072)},
      {FrameType::eof, "stdin", ""},
  };
  std::string wire;
  for (const Frame& f : frames) wire += encode_frame(f);
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    FrameDecoder d;
    d.feed(std::string_view(wire).substr(0, cut));
    std::vector<Frame> got = drain(d);
    // A prefix is never an error, only incomplete: finish() says so.
    EXPECT_EQ(d.finish().has_value(), d.buffered() == 0) << cut;
    d.feed(std::string_view(wire).substr(cut));
    for (Frame& f : drain(d)) got.push_back(std::move(f));
    ASSERT_EQ(got.size(), frames.size()) << "cut at " << cut;
    for (size_t i = 0; i < frames.size(); ++i) EXPECT_TRUE(same(got[i], frames[i])) << cut;
    EXPECT_TRUE(d.finish()) << cut;
  }
}

TEST(Frame, ByteByByte) {
  std::vector<Frame> frames = sample_frames();
  std::string wire;
  for (const Frame& f : frames) wire += encode_frame(f);
  FrameDecoder d;
  std::vector<Frame> got;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    for (Frame& f : drain(d)) got.push_back(std::move(f));
  }
  ASSERT_EQ(got.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_TRUE(same(got[i], frames[i])) << i;
  EXPECT_TRUE(d.finish());
}

TEST(Frame, ManyFramesAcrossCompaction) {
  // Enough traffic that the decoder compacts its buffer several times, with
  // feeds that end mid-frame.
  std::string wire;
  std::vector<Frame> frames;
  for (int i = 0; i < 2000; ++i) {
    frames.push_back({FrameType::data, "s" + std::to_string(i % 7), binary(i % 500)});
    wire += encode_frame(frames.back());
  }
  FrameDecoder d;
  std::vector<Frame> got;
  for (size_t pos = 0; pos < wire.size(); pos += 4093) {
    d.feed(std::string_view(wire).substr(pos, 4093));
    for (Frame& f : drain(d)) got.push_back(std::move(f));
  }
  ASSERT_EQ(got.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) ASSERT_TRUE(same(got[i], frames[i])) << i;
  EXPECT_TRUE(d.finish());
}

TEST(Frame, BadMagic) {
  FrameDecoder d;
  d.feed(header(0x1234, 3, 0, 0));
  auto r = d.next();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("bad frame magic 0x1234"), std::string::npos)
      << r.error().message();
}

TEST(Frame, BadMagicByteOrder) {
  // The magic sent big-endian is not the magic.
  FrameDecoder d;
  d.feed(std::string("VR\x03\x00\x00\x00\x00\x00", 8));
  auto r = d.next();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("magic"), std::string::npos);
}

TEST(Frame, BadMagicAfterGoodFrame) {
  FrameDecoder d;
  d.feed(encode_frame({FrameType::open, "a", ""}) + "GET / HTTP/1.1\r\n");
  auto first = d.next();
  ASSERT_TRUE(first);
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->stream, "a");
  EXPECT_FALSE(d.next());
}

TEST(Frame, UnknownType) {
  for (int type : {0, 8, 9, 0x7f, 0xff}) {
    FrameDecoder d;
    d.feed(header(kMagic, static_cast<uint8_t>(type), 0, 0));
    auto r = d.next();
    ASSERT_FALSE(r) << type;
    EXPECT_EQ(r.error().message(), "unknown frame type " + std::to_string(type));
  }
}

TEST(Frame, UnknownTypeRejectedFromHeaderAlone) {
  FrameDecoder d;
  d.feed(header(kMagic, 8, 5, 100));  // ID and payload never arrive
  EXPECT_FALSE(d.next());
}

TEST(Frame, PayloadAtLimitIsWaitedFor) {
  FrameDecoder d;
  d.feed(header(kMagic, 3, 1, kMaxPayloadSize));
  auto r = d.next();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_FALSE(d.finish());
}

TEST(Frame, OversizedPayloadRejectedFromHeaderAlone) {
  for (uint32_t size : {uint32_t(kMaxPayloadSize + 1), 0x7fffffffu, 0xffffffffu}) {
    FrameDecoder d;
    d.feed(header(kMagic, 3, 1, size));  // only the 8 header bytes
    auto r = d.next();
    ASSERT_FALSE(r) << size;
    EXPECT_EQ(r.error().message(),
              "frame payload of " + std::to_string(size) +
                  " bytes exceeds the limit of " + std::to_string(kMaxPayloadSize));
  }
}

TEST(Frame, ErrorIsSticky) {
  FrameDecoder d;
  d.feed(header(0xbeef, 1, 0, 0));
  EXPECT_FALSE(d.next());
  d.feed(encode_frame({FrameType::open, "a", ""}));
  EXPECT_FALSE(d.next());
}

TEST(Frame, FinishReportsTruncatedFrame) {
  std::string wire = encode_frame({FrameType::data, "stdout", "hello"});
  for (size_t cut = 1; cut < wire.size(); ++cut) {
    FrameDecoder d;
    d.feed(wire.substr(0, cut));
    auto r = d.next();
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
    Status s = d.finish();
    ASSERT_FALSE(s) << cut;
    EXPECT_NE(s.error().message().find("truncated frame"), std::string::npos);
    EXPECT_NE(s.error().message().find(std::to_string(cut) + " bytes"), std::string::npos)
        << s.error().message();
  }
}

TEST(Frame, FinishOkOnCleanBoundary) {
  FrameDecoder fresh;
  EXPECT_TRUE(fresh.finish());
  EXPECT_EQ(fresh.buffered(), 0u);

  FrameDecoder d;
  d.feed(encode_frame({FrameType::open, "a", ""}) + encode_frame({FrameType::eof, "a", ""}));
  EXPECT_FALSE(d.finish());  // not yet decoded: still buffered
  EXPECT_EQ(drain(d).size(), 2u);
  EXPECT_TRUE(d.finish());
}

}  // namespace
}  // namespace runvm::proto
