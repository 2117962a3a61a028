// libFuzzer target: arbitrary bytes from the guest, as the host's monitor
// takes them. The bytes go through a host Session (frames, streams, flow
// control), and every MESSAGE through parse_guest_message, as
// Monitor::handle_agent_events does; so does the same body through the
// agent's parser of host messages (the guest's side of the boundary). A
// parsed message must survive to_json -> parse unchanged in shape, and the
// JSON it produces must dump without throwing (byte strings are encoded).
// Run with scripts/fuzz.sh guest_frames_fuzz.
#include <cstdlib>
#include <string_view>

#include "proto/messages.h"
#include "proto/session.h"

namespace {

template <typename Variant, typename Parse>
void check_round_trip(const nlohmann::json& body, Parse parse) {
  auto parsed = parse(body);
  if (!parsed) return;
  nlohmann::json again = std::visit([](const auto& m) { return m.to_json(); }, *parsed);
  std::string text = again.dump();  // must not throw
  auto reparsed = parse(nlohmann::json::parse(text));
  if (!reparsed || reparsed->index() != parsed->index()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  runvm::proto::Session host("runvm");
  host.send_hello();
  // A valid HELLO first lets the fuzzer reach the messages behind it: the
  // input is appended to one (inputs that start with their own frames are
  // still tried, since a second HELLO is just an error).
  static const std::string hello = [] {
    runvm::proto::Session guest("runvm-agent");
    guest.send_hello();
    return guest.outbox();
  }();
  for (std::string_view chunk : {std::string_view(hello), std::string_view(reinterpret_cast<const char*>(data), size)}) {
    // Uneven reads, as a byte stream arrives.
    while (!chunk.empty()) {
      size_t n = std::min<size_t>(chunk.size(), 1 + chunk.size() % 4093);
      auto events = host.receive(chunk.substr(0, n));
      chunk.remove_prefix(n);
      if (!events) return 0;
      for (auto& e : *events) {
        if (auto* m = std::get_if<runvm::proto::event::Message>(&e)) {
          check_round_trip<runvm::msg::GuestMessage>(m->body, runvm::msg::parse_guest_message);
          check_round_trip<runvm::msg::HostMessage>(m->body, runvm::msg::parse_host_message);
          (void)runvm::msg::process_ref(m->body);
          (void)runvm::msg::request_ref(m->body);
        } else if (auto* d = std::get_if<runvm::proto::event::Data>(&e)) {
          host.consumed(d->stream, d->bytes.size());
        }
      }
    }
  }
  (void)host.receive_eof();
  return 0;
}
