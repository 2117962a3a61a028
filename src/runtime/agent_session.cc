#include "runtime/agent_session.h"

#include <fcntl.h>
#include <cstring>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"

namespace runvm::runtime {

using nlohmann::json;
using namespace std::chrono;

namespace {

// Writes to the host's stdout/stderr stay within what poll() promised: one
// pipe buffer page never blocks, and we never flip O_NONBLOCK on a file
// description that we share with the caller.
constexpr size_t kOutputChunk = 4096;

}  // namespace

Status AgentSession::flush_agent() {
  std::string& out = session_.outbox();
  while (!out.empty()) {
    ssize_t n = ::write(agent_fd_, out.data(), out.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return ok();
      return fail_errno("write to the agent channel");
    }
    out.erase(0, static_cast<size_t>(n));
  }
  return ok();
}

Status AgentSession::pump_agent(std::vector<proto::Event>& events) {
  char buf[64 * 1024];
  ssize_t n = ::read(agent_fd_, buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return ok();
    return fail_errno("read from the agent channel");
  }
  if (n == 0) {
    TRY_CTX(session_.receive_eof(), "agent channel");
    return fail("the agent channel closed");
  }
  auto received = session_.receive(std::string_view(buf, static_cast<size_t>(n)));
  if (!received) {
    session_.send_error(received.error().message());
    (void)flush_agent();
    return std::move(received).error().context("protocol error from the guest agent");
  }
  for (auto& e : *received) events.push_back(std::move(e));
  return ok();
}

Status AgentSession::handshake(milliseconds timeout) {
  session_.send_hello();
  auto deadline = steady_clock::now() + timeout;
  while (!session_.handshake_done()) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0)
      return fail("the guest agent did not answer within " +
                  std::to_string(duration_cast<seconds>(timeout).count()) +
                  "s (raise it with --boot-timeout or RUNVM_BOOT_TIMEOUT)");
    std::vector<pollfd> fds = {{agent_fd_, static_cast<short>(POLLIN | (session_.outbox().empty() ? 0 : POLLOUT)), 0},
                               {fds_.signals, POLLIN, 0}};
    for (int w : fds_.vm_watch) fds.push_back({w, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR)
      return fail_errno("poll");
    for (size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents) return fail("the VM stopped while booting");
    if (fds[1].revents) {
      signalfd_siginfo info;
      if (::read(fds_.signals, &info, sizeof info) == sizeof info)
        return Failure{Error("interrupted by signal " + std::to_string(info.ssi_signo) +
                             " while the VM was booting", 0)};
    }
    TRY(flush_agent());
    if (fds[0].revents) {
      std::vector<proto::Event> events;
      TRY(pump_agent(events));
      for (auto& e : events)
        if (auto* p = std::get_if<proto::event::PeerError>(&e))
          return fail("the guest agent refused the connection: " + p->message);
    }
  }
  return ok();
}

Status AgentSession::read_stdin() {
  char buf[32 * 1024];
  size_t want = std::min(session_.send_credit("stdin"), sizeof buf);
  ssize_t n = ::read(fds_.in, buf, want);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return ok();
  if (n <= 0) {
    stdin_open_ = false;
    return session_.send_eof("stdin");
  }
  return session_.send_data("stdin", std::string_view(buf, static_cast<size_t>(n)));
}

void AgentSession::write_output(Output& out) {
  size_t len = std::min(out.pending.size(), kOutputChunk);
  ssize_t n = out.broken ? static_cast<ssize_t>(len) : ::write(out.fd, out.pending.data(), len);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    // The reader went away (EPIPE) or the fd is bad: keep draining the
    // guest so the process is not stuck, but drop the bytes.
    log::warn("writing " + out.stream + " failed: " + std::strerror(errno) + "; discarding it");
    out.broken = true;
    n = static_cast<ssize_t>(len);
  }
  out.pending.erase(0, static_cast<size_t>(n));
  session_.consumed(out.stream, static_cast<size_t>(n));
}

Status AgentSession::forward_signal() {
  signalfd_siginfo info;
  while (::read(fds_.signals, &info, sizeof info) == sizeof info) {
    log::debug("forwarding signal " + std::to_string(info.ssi_signo));
    TRY(session_.send_message(std::string(proto::kControlStream),
                              {{"type", "signal"}, {"signal", info.ssi_signo}}));
  }
  return ok();
}

bool AgentSession::handle_events(std::vector<proto::Event>& events, ProcessOutcome& outcome,
                                 Status& error) {
  for (auto& e : events) {
    if (auto* d = std::get_if<proto::event::Data>(&e)) {
      for (auto& out : outputs_)
        if (out.stream == d->stream) out.pending += d->bytes;
    } else if (auto* eof = std::get_if<proto::event::Eof>(&e)) {
      for (auto& out : outputs_)
        if (out.stream == eof->stream) out.eof = true;
    } else if (auto* m = std::get_if<proto::event::Message>(&e)) {
      std::string type = m->body.value("type", "");
      if (type == "started") {
        started_ = true;
      } else if (type == "start_failed") {
        outcome.start_failed = true;
        outcome.start_error = m->body.value("message", "unknown error");
        outcome.exit_status = m->body.value("exit_code", 1);
        exited_ = true;
      } else if (type == "exit") {
        outcome.exit_status = m->body.value("exit_code", 1);
        exited_ = true;
      }
    } else if (auto* p = std::get_if<proto::event::PeerError>(&e)) {
      error = fail("the guest agent reported a protocol error: " + p->message);
      return false;
    }
  }
  events.clear();
  return true;
}

Result<ProcessOutcome> AgentSession::run(const json& request,
                                         const std::function<std::string()>& vm_failure) {
  if (fds_.in < 0 || ::fcntl(fds_.in, F_GETFD) < 0) stdin_open_ = false;
  for (const char* s : {"stdin", "stdout", "stderr"}) TRY(session_.open(s));
  TRY(session_.send_eof("stdout"));
  TRY(session_.send_eof("stderr"));
  if (!stdin_open_) TRY(session_.send_eof("stdin"));
  TRY(session_.send_message(std::string(proto::kControlStream), request));
  outputs_[0].fd = fds_.out;
  outputs_[1].fd = fds_.err;

  ProcessOutcome outcome;
  std::vector<proto::Event> events;
  auto drained = [&] {
    for (auto& out : outputs_)
      if (!out.eof || !out.pending.empty()) return false;
    return true;
  };
  while (!(exited_ && drained())) {
    bool want_stdin = stdin_open_ && started_ && !exited_ && session_.send_credit("stdin") > 0;
    std::vector<pollfd> fds = {
        {agent_fd_, static_cast<short>(POLLIN | (session_.outbox().empty() ? 0 : POLLOUT)), 0},
        {want_stdin ? fds_.in : -1, POLLIN, 0},
        {outputs_[0].pending.empty() ? -1 : fds_.out, POLLOUT, 0},
        {outputs_[1].pending.empty() ? -1 : fds_.err, POLLOUT, 0},
        {fds_.signals, POLLIN, 0}};
    for (int w : fds_.vm_watch) fds.push_back({w, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[0].revents) {
      Status s = pump_agent(events);
      Status error;
      if (!handle_events(events, outcome, error)) return std::move(error).error();
      if (!s) {
        std::string why = vm_failure();
        return fail("lost the guest agent: " + (why.empty() ? s.error().describe() : why));
      }
    }
    if (fds[1].revents) TRY(read_stdin());
    for (int i = 0; i < 2; ++i)
      if (fds[2 + i].revents) write_output(outputs_[i]);
    if (fds[4].revents) TRY(forward_signal());
    for (size_t i = 5; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      std::string why = vm_failure();
      return fail("the VM stopped before the process exited: " +
                  (why.empty() ? std::string("QEMU exited") : why));
    }
    TRY(flush_agent());
  }
  return outcome;
}

}  // namespace runvm::runtime
