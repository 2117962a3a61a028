#include "runtime/stdio_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "common/log.h"

namespace runvm::runtime {

namespace {

// One pipe page never blocks a writer that poll() cleared.
constexpr size_t kOutputChunk = 4096;

}  // namespace

StdioRelay::StdioRelay(std::string id, HostStdio io) : id_(std::move(id)), io_(std::move(io)) {
  if (terminal()) {
    outputs_.push_back({id_ + "/tty", io_.out >= 0 ? io_.out : io_.tty, "", false, false});
  } else {
    outputs_.push_back({id_ + "/stdout", io_.out, "", false, io_.out < 0});
    outputs_.push_back({id_ + "/stderr", io_.err, "", false, io_.err < 0});
  }
  int in = input_fd();
  if (in < 0 || ::fcntl(in, F_GETFD) < 0) input_open_ = false;
}

std::string StdioRelay::input_stream() const { return id_ + (terminal() ? "/tty" : "/stdin"); }

Status StdioRelay::open(proto::Session& session) {
  if (terminal()) {
    TRY(session.open(input_stream()));
  } else {
    for (const char* s : {"/stdin", "/stdout", "/stderr"}) TRY(session.open(id_ + s));
    TRY(session.send_eof(id_ + "/stdout"));
    TRY(session.send_eof(id_ + "/stderr"));
  }
  if (!input_open_) TRY(session.send_eof(input_stream()));
  return ok();
}

msg::Stdio StdioRelay::streams() const {
  if (terminal()) return {id_ + "/tty", "", "", "", io_.no_onlcr};
  return {"", id_ + "/stdin", id_ + "/stdout", id_ + "/stderr"};
}

void StdioRelay::add_to_poll(std::vector<pollfd>& fds, proto::Session& session) {
  poll_base_ = fds.size();
  bool want_input = input_open_ && started_ && session.send_credit(input_stream()) > 0;
  fds.push_back({want_input ? input_fd() : -1, POLLIN, 0});
  for (auto& out : outputs_)
    fds.push_back({out.pending.empty() ? -1 : out.fd, POLLOUT, 0});
}

Status StdioRelay::handle(const std::vector<pollfd>& fds, proto::Session& session) {
  if (fds[poll_base_].revents) TRY(read_input(session));
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (fds[poll_base_ + 1 + i].revents) write_output(outputs_[i], session);
  return ok();
}

Status StdioRelay::read_input(proto::Session& session) {
  char buf[32 * 1024];
  std::string stream = input_stream();
  size_t want = std::min(session.send_credit(stream), sizeof buf);
  ssize_t n = ::read(input_fd(), buf, want);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return ok();
  // A terminal whose other side closed reads EIO: that is its end of input.
  if (n <= 0) {
    input_open_ = false;
    return session.send_eof(stream);
  }
  return session.send_data(stream, std::string_view(buf, static_cast<size_t>(n)));
}

void StdioRelay::write_output(Output& out, proto::Session& session) {
  size_t len = std::min(out.pending.size(), kOutputChunk);
  ssize_t n = ::write(out.fd, out.pending.data(), len);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    // The reader went away (EPIPE) or the fd is bad: keep draining the
    // guest so the process is not stuck, but drop the bytes.
    log::warn("writing " + out.stream + " failed: " + std::strerror(errno) + "; discarding it");
    out.broken = true;
    n = static_cast<ssize_t>(out.pending.size());
  }
  out.pending.erase(0, static_cast<size_t>(n));
  session.consumed(out.stream, static_cast<size_t>(n));
}

bool StdioRelay::on_data(const std::string& stream, std::string bytes, proto::Session& session) {
  for (auto& out : outputs_) {
    if (out.stream != stream) continue;
    if (out.broken) session.consumed(stream, bytes.size());  // nobody reads it
    else out.pending += bytes;
    return true;
  }
  return false;
}

bool StdioRelay::on_eof(const std::string& stream) {
  if (stream == input_stream() && !terminal()) return true;  // the unused direction
  for (auto& out : outputs_) {
    if (out.stream != stream) continue;
    out.eof = true;
    return true;
  }
  return false;
}

bool StdioRelay::drained() const {
  for (const auto& out : outputs_)
    if (!out.eof || !out.pending.empty()) return false;
  return true;
}

}  // namespace runvm::runtime
