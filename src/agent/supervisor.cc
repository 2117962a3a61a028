#include "agent/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "agent/container.h"
#include "common/io.h"
#include "common/log.h"
#include "proto/session.h"

namespace runvm::agent {
namespace {

using nlohmann::json;

// One output pipe of the process (stdout or stderr) and its stream.
struct OutputPump {
  std::string stream;
  UniqueFd fd;
  bool eof_sent = false;
};

class Supervisor {
 public:
  Supervisor(UniqueFd port, UniqueFd sigchld)
      : port_(std::move(port)), sigchld_(std::move(sigchld)), session_("runvm-agent") {}

  Status run();

 private:
  Status on_port_readable();
  Status handle(const proto::Event& event);
  Status handle_message(const std::string& stream, const json& body);
  Status start(const json& request);
  void pump_output(OutputPump& out);
  Status write_stdin();
  void reap_children();
  Status maybe_report_exit();
  Status flush_port();

  UniqueFd port_;
  UniqueFd sigchld_;
  proto::Session session_;
  pid_t pid_ = -1;
  std::optional<int> wait_status_;
  bool exit_reported_ = false;
  bool shutdown_ = false;
  bool host_gone_ = false;
  UniqueFd stdin_fd_;
  std::string stdin_pending_;
  bool stdin_eof_ = false;
  OutputPump outputs_[2] = {{"stdout", {}, false}, {"stderr", {}, false}};
};

Status Supervisor::run() {
  session_.send_hello();
  while (!shutdown_ && !host_gone_) {
    std::vector<pollfd> fds;
    fds.push_back({port_.get(), static_cast<short>(POLLIN | (session_.outbox().empty() ? 0 : POLLOUT)), 0});
    fds.push_back({sigchld_.get(), POLLIN, 0});
    for (auto& out : outputs_) {
      bool can_send = out.fd && session_.send_credit(out.stream) > 0;
      fds.push_back({can_send ? out.fd.get() : -1, POLLIN, 0});
    }
    fds.push_back({stdin_fd_ && !stdin_pending_.empty() ? stdin_fd_.get() : -1, POLLOUT, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) TRY(on_port_readable());
    if (fds[1].revents & POLLIN) reap_children();
    for (int i = 0; i < 2; ++i)
      if (fds[2 + i].revents) pump_output(outputs_[i]);
    if (fds[4].revents) TRY(write_stdin());
    TRY(maybe_report_exit());
    TRY(flush_port());
  }
  return ok();
}

Status Supervisor::on_port_readable() {
  char buf[64 * 1024];
  ssize_t n = ::read(port_.get(), buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return ok();
    return fail_errno("read from host port");
  }
  if (n == 0) {
    // The host closed its end: nobody is left to serve.
    log::warn("host went away");
    host_gone_ = true;
    return ok();
  }
  auto events = session_.receive(std::string_view(buf, static_cast<size_t>(n)));
  if (!events) {
    log::error("protocol error from host: " + events.error().describe());
    session_.send_error(events.error().message());
    (void)flush_port();
    host_gone_ = true;
    return ok();
  }
  for (const auto& event : *events) TRY(handle(event));
  return ok();
}

Status Supervisor::handle(const proto::Event& event) {
  if (auto* m = std::get_if<proto::event::Message>(&event))
    return handle_message(m->stream, m->body);
  if (auto* d = std::get_if<proto::event::Data>(&event)) {
    if (d->stream == "stdin" && stdin_fd_) stdin_pending_ += d->bytes;
    else session_.consumed(d->stream, d->bytes.size());
    return ok();
  }
  if (auto* e = std::get_if<proto::event::Eof>(&event)) {
    if (e->stream == "stdin") {
      stdin_eof_ = true;
      if (stdin_pending_.empty()) stdin_fd_.reset();
    }
    return ok();
  }
  if (auto* o = std::get_if<proto::event::Opened>(&event)) {
    // stdin is the host's to write; stdout/stderr are ours.
    if (o->stream == "stdout" || o->stream == "stderr") return ok();
    return session_.send_eof(o->stream);
  }
  if (auto* p = std::get_if<proto::event::PeerError>(&event)) {
    log::error("host reported a protocol error: " + p->message);
    host_gone_ = true;
  }
  return ok();
}

Status Supervisor::handle_message(const std::string& stream, const json& body) {
  std::string type = body.value("type", "");
  if (type == "run") return start(body);
  if (type == "signal") {
    int sig = body.value("signal", 0);
    if (pid_ > 0 && !wait_status_ && ::kill(pid_, sig) < 0)
      log::warn("kill " + std::to_string(pid_) + " " + std::to_string(sig) + " failed");
    return ok();
  }
  if (type == "shutdown") {
    shutdown_ = true;
    return ok();
  }
  log::warn("ignoring unknown message \"" + type + "\" on stream " + stream);
  return ok();
}

Status Supervisor::start(const json& request) {
  ContainerConfig config;
  auto process = oci::process_from_json(request.value("process", json::object()));
  auto mounts = oci::mounts_from_json(request.value("mounts", json::array()));
  StartFailure failure;
  Result<StartedProcess> started = fail("invalid run request");
  if (!process) {
    failure.message = "invalid run request: " + process.error().describe();
  } else if (!mounts) {
    failure.message = "invalid run request: " + mounts.error().describe();
  } else {
    config.process = std::move(*process);
    config.mounts = std::move(*mounts);
    config.readonly_root = request.value("root", json::object()).value("readonly", false);
    config.hostname = request.value("hostname", "");
    started = start_container_process(config, failure);
    if (!started && failure.message.empty()) failure.message = started.error().describe();
  }
  if (!started) {
    log::warn(failure.message);
    wait_status_ = 0;  // nothing runs; the exit is the start failure
    exit_reported_ = true;
    for (auto& out : outputs_) TRY(session_.send_eof(out.stream));
    return session_.send_message(std::string(proto::kControlStream),
                                 {{"type", "start_failed"},
                                  {"message", failure.message},
                                  {"exit_code", failure.exit_code}});
  }
  pid_ = started->pid;
  stdin_fd_ = std::move(started->stdio.stdin_write);
  if (stdin_eof_) stdin_fd_.reset();
  outputs_[0].fd = std::move(started->stdio.stdout_read);
  outputs_[1].fd = std::move(started->stdio.stderr_read);
  for (auto& out : outputs_) TRY(io::set_nonblocking(out.fd.get()));
  if (stdin_fd_) TRY(io::set_nonblocking(stdin_fd_.get()));
  return session_.send_message(std::string(proto::kControlStream),
                               {{"type", "started"}, {"pid", pid_}});
}

void Supervisor::pump_output(OutputPump& out) {
  size_t credit = session_.send_credit(out.stream);
  if (!out.fd || credit == 0) return;
  char buf[32 * 1024];
  ssize_t n = ::read(out.fd.get(), buf, std::min(credit, sizeof buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    out.fd.reset();
    if (!out.eof_sent) (void)session_.send_eof(out.stream);
    out.eof_sent = true;
    return;
  }
  (void)session_.send_data(out.stream, std::string_view(buf, static_cast<size_t>(n)));
}

Status Supervisor::write_stdin() {
  ssize_t n = ::write(stdin_fd_.get(), stdin_pending_.data(), stdin_pending_.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return ok();
    // The process closed its stdin: drop what the host sends from now on.
    session_.consumed("stdin", stdin_pending_.size());
    stdin_pending_.clear();
    stdin_fd_.reset();
    return ok();
  }
  session_.consumed("stdin", static_cast<size_t>(n));
  stdin_pending_.erase(0, static_cast<size_t>(n));
  if (stdin_pending_.empty() && stdin_eof_) stdin_fd_.reset();
  return ok();
}

void Supervisor::reap_children() {
  signalfd_siginfo info;
  while (::read(sigchld_.get(), &info, sizeof info) > 0) {
  }
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0)
    if (pid == pid_) wait_status_ = status;
}

// After the process exits, its output pipes are drained: everything it
// wrote is already in them. A pipe still held open by a leftover child is
// cut at the first moment it has nothing to read.
Status Supervisor::maybe_report_exit() {
  if (!wait_status_ || exit_reported_) return ok();
  for (auto& out : outputs_) {
    while (out.fd && session_.send_credit(out.stream) > 0) {
      pollfd p = {out.fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) {
        out.fd.reset();
        break;
      }
      pump_output(out);
    }
    if (out.fd) return ok();  // waiting for the host to grant credit
    if (!out.eof_sent) TRY(session_.send_eof(out.stream));
    out.eof_sent = true;
  }
  int status = *wait_status_;
  json exit = {{"type", "exit"}, {"exit_code", nullptr}, {"signal", nullptr}};
  if (WIFEXITED(status)) exit["exit_code"] = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    exit["signal"] = WTERMSIG(status);
    exit["exit_code"] = 128 + WTERMSIG(status);
  }
  exit_reported_ = true;
  stdin_fd_.reset();
  // The host stops the VM as soon as it reads the exit: whatever the
  // process wrote must be on the host's disk by then.
  ::sync();
  return session_.send_message(std::string(proto::kControlStream), exit);
}

Status Supervisor::flush_port() {
  std::string& out = session_.outbox();
  while (!out.empty()) {
    ssize_t n = ::write(port_.get(), out.data(), out.size());
    if (n < 0) {
      if (errno == EAGAIN) return ok();
      if (errno == EINTR) continue;
      return fail_errno("write to host port");
    }
    out.erase(0, static_cast<size_t>(n));
  }
  return ok();
}

}  // namespace

Status supervise(UniqueFd port) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return fail_errno("block SIGCHLD");
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return fail_errno("signalfd");
  Supervisor supervisor(std::move(port), UniqueFd(sfd));
  return supervisor.run();
}

}  // namespace runvm::agent
