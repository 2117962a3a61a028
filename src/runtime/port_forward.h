// Port forwarding into the VM: what `kubectl port-forward` needs, and what
// any tool that dials localhost in a container's network namespace on the
// host (runc's behaviour) expects. containerd serves port-forward by
// connecting to 127.0.0.1:PORT inside the pod's namespace on the host,
// where no process of the pod runs: they are in the VM. The namespace's
// connections to 127.0.0.1 are redirected to one listener of the monitor
// (net/loopback_redirect.h); each accepted connection is carried to the
// guest on a stream of its own (`forward`, docs/protocol.md), where the
// agent connects to 127.0.0.1:PORT, the namespace all the VM's containers
// share. See docs/ARCHITECTURE.md, "Port forwarding".
#pragma once

#include <poll.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "net/loopback_redirect.h"
#include "oci/spec.h"
#include "proto/messages.h"
#include "proto/session.h"
#include "proto/socket_bridge.h"

namespace runvm::runtime {

// "false" turns the redirect off for a container (and its pod).
inline constexpr const char* kPortForwardAnnotation = "io.runvm.port-forward";

class PortForwarder {
 public:
  // Connections carried at once; more wait in the listener's backlog.
  static constexpr size_t kMaxConnections = 64;

  // Whether the spec leaves port forwarding on, or why not.
  static Result<bool> wanted(const oci::Spec& spec);
  // In the VM's network namespace on the host: listens on 127.0.0.1 and
  // redirects the namespace's loopback TCP connections to it.
  static Result<PortForwarder> open();

  void add_to_poll(std::vector<pollfd>& fds, const proto::Session& session);
  // After poll: accepts connections (each OPENs a stream and sends
  // `forward`) and moves bytes. Never fails the monitor: a connection that
  // cannot be carried is reset.
  void handle(const std::vector<pollfd>& fds, proto::Session& session);

  // The guest's DATA and EOF on a forward's stream; false if the stream is
  // not one of ours.
  bool on_data(const std::string& stream, std::string& bytes, proto::Session& session);
  bool on_eof(const std::string& stream, proto::Session& session);
  // The guest could not connect: the client's connection is reset.
  void on_failed(const msg::ForwardFailed& failed, proto::Session& session);

  size_t connections() const { return bridges_.size(); }

 private:
  PortForwarder(UniqueFd listener, net::LoopbackRedirect redirect)
      : listener_(std::move(listener)), redirect_(std::move(redirect)) {}
  void accept_one(proto::Session& session);

  UniqueFd listener_;
  net::LoopbackRedirect redirect_;
  std::map<std::string, proto::SocketBridge> bridges_;  // by stream: p1, p2, ... never reused
  uint64_t next_ = 1;
  size_t poll_base_ = 0;
  std::vector<std::string> polled_;  // the streams whose sockets are in the last poll set, in order
};

}  // namespace runvm::runtime
