#include "proto/frame.h"

#include <cstdio>

namespace runvm::proto {

const char* frame_type_name(FrameType type) {
  switch (type) {
    case FrameType::hello: return "HELLO";
    case FrameType::open: return "OPEN";
    case FrameType::data: return "DATA";
    case FrameType::eof: return "EOF";
    case FrameType::window: return "WINDOW";
    case FrameType::message: return "MESSAGE";
    case FrameType::error: return "ERROR";
  }
  return "?";
}

std::string encode_u32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

uint32_t decode_u32(std::string_view b) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

std::string encode_frame(const Frame& f) {
  std::string out;
  out.reserve(kHeaderSize + f.stream.size() + f.payload.size());
  out.push_back(static_cast<char>(kMagic & 0xff));
  out.push_back(static_cast<char>(kMagic >> 8));
  out.push_back(static_cast<char>(f.type));
  out.push_back(static_cast<char>(f.stream.size()));
  out += encode_u32(static_cast<uint32_t>(f.payload.size()));
  out += f.stream;
  out += f.payload;
  return out;
}

namespace {

bool known_type(uint8_t t) {
  return t >= static_cast<uint8_t>(FrameType::hello) &&
         t <= static_cast<uint8_t>(FrameType::error);
}

}  // namespace

Result<std::optional<Frame>> FrameDecoder::next() {
  std::string_view pending(buffer_.data() + consumed_, buffer_.size() - consumed_);
  if (pending.size() < kHeaderSize) return std::optional<Frame>();
  uint16_t magic = static_cast<uint8_t>(pending[0]) |
                   (static_cast<uint8_t>(pending[1]) << 8);
  if (magic != kMagic)
    return fail("bad frame magic 0x" + [&] {
      char hex[8];
      snprintf(hex, sizeof hex, "%04x", magic);
      return std::string(hex);
    }() + " (peer is not speaking the runvm protocol)");
  uint8_t type = static_cast<uint8_t>(pending[2]);
  if (!known_type(type)) return fail("unknown frame type " + std::to_string(type));
  size_t id_size = static_cast<uint8_t>(pending[3]);
  uint32_t payload_size = decode_u32(pending.substr(4, 4));
  if (payload_size > max_payload_)
    return fail("frame payload of " + std::to_string(payload_size) +
                " bytes exceeds the limit of " + std::to_string(max_payload_));
  size_t total = kHeaderSize + id_size + payload_size;
  if (pending.size() < total) return std::optional<Frame>();

  Frame frame{static_cast<FrameType>(type),
              std::string(pending.substr(kHeaderSize, id_size)),
              std::string(pending.substr(kHeaderSize + id_size, payload_size))};
  consumed_ += total;
  // Compact once the consumed prefix dominates, keeping appends amortized O(1).
  if (consumed_ > 64 * 1024 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return std::optional<Frame>(std::move(frame));
}

Status FrameDecoder::finish() const {
  if (buffered() == 0) return ok();
  return fail("connection closed inside a frame (" + std::to_string(buffered()) +
              " bytes of a truncated frame)");
}

}  // namespace runvm::proto
