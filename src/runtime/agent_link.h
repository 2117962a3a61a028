// The host's end of the channel to the guest agent: the protocol session
// over the agent fd, the handshake, and moving bytes between the two. What
// the messages mean is the monitor's business (runtime/monitor.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"
#include "proto/session.h"

namespace runvm::runtime {

class AgentLink {
 public:
  explicit AgentLink(int agent_fd) : fd_(agent_fd), session_("runvm", proto::kMaxPayloadSize, proto::kMaxHostMessageSize) {}

  // Sends HELLO and waits for the agent's, up to the boot timeout. Gives up
  // early when a signal arrives on `signal_fd` or a `watch` fd (a VM
  // process's pidfd) becomes readable.
  Status handshake(std::chrono::milliseconds timeout, int signal_fd, const std::vector<int>& watch);

  int fd() const { return fd_; }
  proto::Session& session() { return session_; }
  bool wants_write() { return !session_.outbox().empty(); }

  // Reads what the agent sent (the fd is non-blocking) into events. An
  // error means the channel is gone or the agent broke the protocol.
  Status receive(std::vector<proto::Event>& events);
  // Writes as much of the outbox as the channel takes now.
  Status flush();
  // Queues a control message.
  Status send(const nlohmann::json& message);
  // Where the bytes between the monitor and the agent stand, for an error
  // about a guest that did not answer: how many were queued here, written
  // to QEMU's end but not yet read by it (SIOCOUTQ), written and read in
  // all. It tells a request QEMU never took from one it took.
  std::string describe_transport() const;

 private:
  int fd_;
  proto::Session session_;
  uint64_t written_ = 0, read_ = 0;
};

}  // namespace runvm::runtime
