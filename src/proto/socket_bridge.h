// SocketBridge: one connected byte-stream socket (a TCP connection of a
// port forward) carried on one protocol stream, both ways, within the
// stream's flow control. Used by both ends: the monitor for the connection
// it accepted on the host, the agent for the one it made in the guest
// (docs/protocol.md, "Port forwarding: `forward`").
//
// - socket -> stream: read only while the stream has send credit; the
//   socket's end of input (or an error) becomes the stream's EOF.
// - stream -> socket: the peer's DATA is kept until written, and credit is
//   returned only as it is written, so what waits here is bounded by the
//   window; the peer's EOF becomes shutdown(SHUT_WR) once all is written.
// - A socket that fails while writing drops what the peer still sends (its
//   credit is returned, so the peer is never stalled) and ends its input.
//
// The socket is owned and non-blocking; it may still be connecting.
#pragma once

#include <poll.h>

#include <string>

#include "common/unique_fd.h"
#include "proto/session.h"

namespace runvm::proto {

class SocketBridge {
 public:
  // `connecting`: a non-blocking connect() is in progress on `socket`.
  SocketBridge(std::string stream, UniqueFd socket, bool connecting = false)
      : stream_(std::move(stream)), socket_(std::move(socket)), connecting_(connecting) {}

  const std::string& stream() const { return stream_; }

  // What to poll the socket for now; fd -1 when nothing (poll skips it).
  pollfd poll_entry(const Session& session) const;
  // After poll: reads and writes what it can. Returns the errno of a
  // connect that failed, else 0; the caller reports the failure first and
  // then abort()s the bridge, so that the peer hears why before the end.
  int on_ready(short revents, Session& session);

  // The peer's DATA and EOF on this bridge's stream.
  void on_data(std::string bytes, Session& session);
  void on_eof(Session& session);

  // Ends the connection now: the socket is reset (the other side sees a
  // reset, not an orderly close), the stream's EOF is sent if it was not,
  // and whatever the peer still sends is dropped.
  void abort(Session& session);

  // Both directions have ended: nothing more will happen on it.
  bool done() const { return !reading_ && peer_eof_ && (write_shut_ || broken_); }

 private:
  void end_input(Session& session);
  void flush(Session& session);

  std::string stream_;
  UniqueFd socket_;
  bool connecting_ = false;
  bool reading_ = true;      // the socket's input has not ended (our EOF not sent)
  std::string pending_;      // from the peer, not yet written to the socket
  bool peer_eof_ = false;    // the peer's EOF came
  bool write_shut_ = false;  // shutdown(SHUT_WR) done
  bool broken_ = false;      // writing failed: the peer's bytes are dropped
};

}  // namespace runvm::proto
