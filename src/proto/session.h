// One end of a host-guest connection: the handshake, the set of open
// streams, half-close, and credit-based flow control. It does no I/O: feed
// it the bytes read from the channel, act on the events it returns, and
// write out what it queues in outbox(). Both host and guest use it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "proto/frame.h"

namespace runvm::proto {

// Bytes a receiver lets a stream's sender have in flight before it grants
// more. Bounds what either side buffers per stream.
constexpr uint32_t kInitialWindow = 256 * 1024;

// Streams open at once on one connection, control included.
constexpr size_t kMaxStreams = 256;

// The stream for control messages that concern no other stream. Open from
// the handshake on, never closed.
inline constexpr std::string_view kControlStream = "control";

namespace event {
struct Hello { nlohmann::json body; };
struct Opened { std::string stream; };
struct Data { std::string stream; std::string bytes; };
struct Eof { std::string stream; };
struct Message { std::string stream; nlohmann::json body; };
struct PeerError { std::string message; };
}  // namespace event

using Event = std::variant<event::Hello, event::Opened, event::Data,
                           event::Eof, event::Message, event::PeerError>;

class Session {
 public:
  // `name` identifies this end in the HELLO ("runvm" or "runvm-agent").
  // The largest frame payload accepted from the peer, and the largest
  // control message sent (kMaxHostMessageSize host to guest, frame.h).
  explicit Session(std::string name, size_t max_receive = kMaxPayloadSize, size_t max_send = kMaxPayloadSize);

  // Queues our HELLO. Call once, first.
  void send_hello();
  bool handshake_done() const { return peer_hello_ && hello_sent_; }

  // Feeds bytes read from the channel. A protocol violation by the peer is
  // returned as an error; the caller then sends_error() and closes.
  Result<std::vector<Event>> receive(std::string_view bytes);
  // The channel reached EOF: an error if it cut a frame short.
  Status receive_eof() const { return decoder_.finish(); }

  Status open(const std::string& stream);
  // How many bytes send_data may carry on stream now.
  size_t send_credit(const std::string& stream) const;
  Status send_data(const std::string& stream, std::string_view bytes);
  Status send_eof(const std::string& stream);
  Status send_message(const std::string& stream, const nlohmann::json& body);
  // Queues an ERROR frame; the caller closes the channel after writing it.
  void send_error(const std::string& message);

  // The application consumed n bytes received on stream: return credit.
  void consumed(const std::string& stream, size_t n);

  bool is_open(const std::string& stream) const { return streams_.count(stream); }

  std::string& outbox() { return outbox_; }
  const std::string& outbox() const { return outbox_; }

 private:
  struct Stream {
    bool sending = true;    // we have not sent EOF
    bool receiving = true;  // the peer has not sent EOF
    size_t send_credit = kInitialWindow;
    size_t recv_allowed = kInitialWindow;  // what the peer may still send
    size_t consumed_ungranted = 0;
  };

  Status handle(Frame frame, std::vector<Event>& events);
  Status handle_open(const std::string& id, std::vector<Event>& events);
  Status handle_data(const std::string& id, std::string payload,
                     std::vector<Event>& events);
  Status handle_eof(const std::string& id, std::vector<Event>& events);
  Status handle_window(const std::string& id, const std::string& payload);
  Status handle_message(const std::string& id, const std::string& payload,
                        std::vector<Event>& events);
  Result<Stream*> known_stream(const std::string& id, FrameType type);
  void forget_if_closed(const std::string& id);
  void queue(FrameType type, std::string_view stream, std::string payload);

  std::string name_;
  size_t max_send_;
  FrameDecoder decoder_;
  std::map<std::string, Stream, std::less<>> streams_;
  std::string outbox_;
  bool hello_sent_ = false;
  bool peer_hello_ = false;
};

}  // namespace runvm::proto
