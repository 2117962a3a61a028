// Frames of the host-guest protocol (docs/protocol.md): an 8-byte header,
// a stream ID and a payload. Encoding and incremental decoding only; stream
// state and flow control live in session.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace runvm::proto {

constexpr uint16_t kMagic = 0x5652;  // "RV" on the wire (little-endian)
constexpr uint32_t kProtocolVersion = 8;
constexpr size_t kHeaderSize = 8;
constexpr size_t kMaxStreamIdSize = 255;
constexpr size_t kMaxPayloadSize = 1 << 20;  // a frame never exceeds 1 MiB ...
// ... except a control message from the host to the guest (create, exec),
// which carries the process's arguments and environment: Linux takes up to
// a quarter of the stack limit of them (2 MiB with the usual 8 MiB, 128 KiB
// a string), and JSON can make them several times longer (escapes, hex for
// non-UTF-8 bytes). The guest's messages to the host stay within 1 MiB.
constexpr size_t kMaxHostMessageSize = 16 << 20;
constexpr size_t kMaxDataChunk = 32 * 1024;  // what senders put in one DATA

enum class FrameType : uint8_t {
  hello = 1,    // version handshake, JSON payload, stream ID empty
  open = 2,     // opens a bidirectional stream
  data = 3,     // bytes on a stream, counted against the receiver's window
  eof = 4,      // the sender will send no more on this stream (half-close)
  window = 5,   // u32 LE: the receiver grants this many more bytes
  message = 6,  // a JSON control message, on the stream it concerns
  error = 7,    // fatal: text payload, the sender closes after it
};

const char* frame_type_name(FrameType type);

struct Frame {
  FrameType type;
  std::string stream;
  std::string payload;
};

std::string encode_frame(const Frame& frame);

// Splits a byte stream into frames. Rejects, with an error that says why,
// a bad magic, an unknown type, an oversized ID or payload, and (at finish)
// a frame cut short by the end of the connection.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_payload = kMaxPayloadSize) : max_payload_(max_payload) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, nullopt if more bytes are needed.
  Result<std::optional<Frame>> next();
  // Called at end of connection: an error if a partial frame is pending.
  Status finish() const;
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  size_t max_payload_;
  std::string buffer_;
  size_t consumed_ = 0;
};

std::string encode_u32(uint32_t value);
uint32_t decode_u32(std::string_view bytes);  // bytes.size() >= 4

}  // namespace runvm::proto
