#include "proto/socket_bridge.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace runvm::proto {
namespace {
// As the stdio relays: DATA frames of at most 32 KiB.
constexpr size_t kChunk = 32 * 1024;
}  // namespace

pollfd SocketBridge::poll_entry(const Session& session) const {
  short events = 0;
  if (socket_) {
    if (connecting_) events = POLLOUT;
    else {
      if (reading_ && session.send_credit(stream_) > 0) events |= POLLIN;
      if (!pending_.empty() && !broken_) events |= POLLOUT;
    }
  }
  return {events ? socket_.get() : -1, events, 0};
}

int SocketBridge::on_ready(short revents, Session& session) {
  if (!socket_ || !revents) return 0;
  if (connecting_) {
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &error, &len) < 0) error = errno;
    if (error == 0 && !(revents & (POLLERR | POLLHUP))) {
      connecting_ = false;
      flush(session);  // what the peer sent meanwhile
      return 0;
    }
    if (error == 0) error = ECONNREFUSED;
    socket_.reset();
    connecting_ = false;
    return error;
  }
  if (reading_ && (revents & (POLLIN | POLLHUP | POLLERR))) {
    size_t credit = session.send_credit(stream_);
    if (credit > 0) {
      char buf[kChunk];
      ssize_t n = ::recv(socket_.get(), buf, std::min(credit, sizeof buf), MSG_DONTWAIT);
      if (n > 0) (void)session.send_data(stream_, std::string_view(buf, static_cast<size_t>(n)));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) end_input(session);
    }
  }
  if (revents & (POLLOUT | POLLERR | POLLHUP)) flush(session);
  return 0;
}

void SocketBridge::on_data(std::string bytes, Session& session) {
  if (broken_ || !socket_) {
    session.consumed(stream_, bytes.size());
    return;
  }
  pending_ += bytes;
  if (!connecting_) flush(session);
}

void SocketBridge::on_eof(Session& session) {
  peer_eof_ = true;
  if (!connecting_) flush(session);
}

void SocketBridge::abort(Session& session) {
  if (socket_) {
    linger reset{1, 0};
    ::setsockopt(socket_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    socket_.reset();
  }
  connecting_ = false;
  end_input(session);
  session.consumed(stream_, pending_.size());
  pending_.clear();
  broken_ = true;
}

void SocketBridge::end_input(Session& session) {
  if (!reading_) return;
  reading_ = false;
  (void)session.send_eof(stream_);
}

// Writes what it can of the peer's bytes, and passes their end on once
// all are written.
void SocketBridge::flush(Session& session) {
  while (!pending_.empty() && !broken_ && socket_) {
    ssize_t n = ::send(socket_.get(), pending_.data(), pending_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      // The other side is gone: drop what comes, and what it would have
      // said is over too.
      session.consumed(stream_, pending_.size());
      pending_.clear();
      broken_ = true;
      end_input(session);
      return;
    }
    session.consumed(stream_, static_cast<size_t>(n));
    pending_.erase(0, static_cast<size_t>(n));
  }
  if (pending_.empty() && peer_eof_ && !write_shut_ && !broken_ && socket_) {
    ::shutdown(socket_.get(), SHUT_WR);
    write_shut_ = true;
  }
}

}  // namespace runvm::proto
