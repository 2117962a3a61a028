#include "proto/session.h"

#include <algorithm>

namespace runvm::proto {

Session::Session(std::string name, size_t max_receive, size_t max_send)
    : name_(std::move(name)), max_send_(max_send), decoder_(max_receive) {}

void Session::queue(FrameType type, std::string_view stream, std::string payload) {
  outbox_ += encode_frame(Frame{type, std::string(stream), std::move(payload)});
}

void Session::send_hello() {
  nlohmann::json hello = {{"version", kProtocolVersion}, {"name", name_}};
  queue(FrameType::hello, "", hello.dump());
  hello_sent_ = true;
}

Result<std::vector<Event>> Session::receive(std::string_view bytes) {
  decoder_.feed(bytes);
  std::vector<Event> events;
  for (;;) {
    std::optional<Frame> frame = TRY(decoder_.next());
    if (!frame) break;
    TRY(handle(std::move(*frame), events));
  }
  return events;
}

Status Session::handle(Frame frame, std::vector<Event>& events) {
  if (frame.type == FrameType::error) {
    events.push_back(event::PeerError{frame.payload});
    return ok();
  }
  if (!peer_hello_) {
    if (frame.type != FrameType::hello)
      return fail(std::string("expected HELLO first, got ") +
                  frame_type_name(frame.type));
    auto body = nlohmann::json::parse(frame.payload, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body["version"].is_number_unsigned())
      return fail("malformed HELLO: no version");
    uint64_t version = body["version"].get<uint64_t>();
    if (version != kProtocolVersion)
      return fail("protocol version mismatch: peer speaks " + std::to_string(version) +
                  ", this end speaks " + std::to_string(kProtocolVersion) +
                  " (rebuild the guest initramfs with this runvm)");
    peer_hello_ = true;
    streams_.emplace(std::string(kControlStream), Stream{});
    events.push_back(event::Hello{std::move(body)});
    return ok();
  }
  switch (frame.type) {
    case FrameType::hello: return fail("duplicate HELLO");
    case FrameType::open: return handle_open(frame.stream, events);
    case FrameType::data: return handle_data(frame.stream, std::move(frame.payload), events);
    case FrameType::eof: return handle_eof(frame.stream, events);
    case FrameType::window: return handle_window(frame.stream, frame.payload);
    case FrameType::message: return handle_message(frame.stream, frame.payload, events);
    case FrameType::error: break;  // handled above
  }
  return ok();
}

Result<Session::Stream*> Session::known_stream(const std::string& id, FrameType type) {
  auto it = streams_.find(id);
  if (it == streams_.end())
    return fail(std::string(frame_type_name(type)) + " on unknown stream \"" + id + "\"");
  return &it->second;
}

Status Session::handle_open(const std::string& id, std::vector<Event>& events) {
  if (id.empty()) return fail("OPEN with an empty stream ID");
  if (streams_.count(id)) return fail("OPEN of stream \"" + id + "\", which is already open");
  // A peer cannot make us hold unbounded state.
  if (streams_.size() >= kMaxStreams)
    return fail("OPEN of stream \"" + id + "\" exceeds the limit of " +
                std::to_string(kMaxStreams) + " open streams");
  streams_.emplace(id, Stream{});
  events.push_back(event::Opened{id});
  return ok();
}

Status Session::handle_data(const std::string& id, std::string payload,
                            std::vector<Event>& events) {
  Stream* s = TRY(known_stream(id, FrameType::data));
  if (!s->receiving) return fail("DATA on stream \"" + id + "\" after its EOF");
  if (payload.size() > s->recv_allowed)
    return fail("stream \"" + id + "\": peer sent " + std::to_string(payload.size()) +
                " bytes with only " + std::to_string(s->recv_allowed) +
                " of window left (flow control violated)");
  s->recv_allowed -= payload.size();
  if (!payload.empty()) events.push_back(event::Data{id, std::move(payload)});
  return ok();
}

Status Session::handle_eof(const std::string& id, std::vector<Event>& events) {
  Stream* s = TRY(known_stream(id, FrameType::eof));
  if (id == kControlStream) return fail("EOF on the control stream");
  if (!s->receiving) return fail("second EOF on stream \"" + id + "\"");
  s->receiving = false;
  events.push_back(event::Eof{id});
  forget_if_closed(id);
  return ok();
}

Status Session::handle_window(const std::string& id, const std::string& payload) {
  if (payload.size() != 4) return fail("WINDOW payload must be 4 bytes");
  auto it = streams_.find(id);
  // Credit may race with our own EOF that already retired the stream.
  if (it == streams_.end()) return ok();
  uint64_t credit = it->second.send_credit + decode_u32(payload);
  if (credit > (uint64_t{1} << 31)) return fail("WINDOW overflow on stream \"" + id + "\"");
  it->second.send_credit = static_cast<size_t>(credit);
  return ok();
}

Status Session::handle_message(const std::string& id, const std::string& payload,
                               std::vector<Event>& events) {
  Stream* s = TRY(known_stream(id, FrameType::message));
  // EOF means the peer sends nothing more on the stream, messages included.
  if (!s->receiving) return fail("MESSAGE on stream \"" + id + "\" after its EOF");
  auto body = nlohmann::json::parse(payload, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return fail("MESSAGE on stream \"" + id + "\" is not a JSON object");
  events.push_back(event::Message{id, std::move(body)});
  return ok();
}

void Session::forget_if_closed(const std::string& id) {
  auto it = streams_.find(id);
  if (it != streams_.end() && !it->second.sending && !it->second.receiving)
    streams_.erase(it);
}

Status Session::open(const std::string& stream) {
  if (stream.empty() || stream.size() > kMaxStreamIdSize)
    return fail("stream ID must be 1 to 255 bytes");
  // Open from the handshake on at both ends; an OPEN of it would be refused.
  if (stream == kControlStream) return fail("the control stream cannot be opened");
  if (streams_.count(stream)) return fail("stream \"" + stream + "\" is already open");
  streams_.emplace(stream, Stream{});
  queue(FrameType::open, stream, "");
  return ok();
}

size_t Session::send_credit(const std::string& stream) const {
  auto it = streams_.find(stream);
  if (it == streams_.end() || !it->second.sending) return 0;
  return it->second.send_credit;
}

Status Session::send_data(const std::string& stream, std::string_view bytes) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || !it->second.sending)
    return fail("send on stream \"" + stream + "\", which is not open for sending");
  if (bytes.size() > it->second.send_credit)
    return fail("send of " + std::to_string(bytes.size()) + " bytes beyond the window");
  it->second.send_credit -= bytes.size();
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kMaxDataChunk);
    queue(FrameType::data, stream, std::string(bytes.substr(0, n)));
    bytes.remove_prefix(n);
  }
  return ok();
}

Status Session::send_eof(const std::string& stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || !it->second.sending)
    return fail("EOF on stream \"" + stream + "\", which is not open for sending");
  // The peer treats an EOF on control as a protocol violation.
  if (stream == kControlStream) return fail("the control stream cannot be closed");
  it->second.sending = false;
  queue(FrameType::eof, stream, "");
  forget_if_closed(stream);
  return ok();
}

Status Session::send_message(const std::string& stream, const nlohmann::json& body) {
  // After our EOF the peer may already have forgotten the stream, and it
  // rejects a MESSAGE there: messages follow the sending direction.
  auto it = streams_.find(stream);
  if (it == streams_.end() || !it->second.sending)
    return fail("message on stream \"" + stream + "\", which is not open for sending");
  std::string payload = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (payload.size() > max_send_)
    return fail("control message of " + std::to_string(payload.size()) + " bytes is over the protocol's limit of " +
                std::to_string(max_send_ >> 20) + " MiB");
  queue(FrameType::message, stream, std::move(payload));
  return ok();
}

void Session::send_error(const std::string& message) {
  queue(FrameType::error, "", message.substr(0, 4096));
}

void Session::consumed(const std::string& stream, size_t n) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || !it->second.receiving) return;
  Stream& s = it->second;
  s.consumed_ungranted += n;
  // Grant in batches of half a window: fewer WINDOW frames, no stalls.
  if (s.consumed_ungranted >= kInitialWindow / 2) {
    queue(FrameType::window, stream, encode_u32(static_cast<uint32_t>(s.consumed_ungranted)));
    s.recv_allowed += s.consumed_ungranted;
    s.consumed_ungranted = 0;
  }
}

}  // namespace runvm::proto
