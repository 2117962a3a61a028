#include "runtime/agent_link.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace runvm::runtime {

using namespace std::chrono;

Status AgentLink::flush() {
  std::string& out = session_.outbox();
  while (!out.empty()) {
    ssize_t n = ::write(fd_, out.data(), out.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return ok();
      return fail_errno("write to the agent channel");
    }
    out.erase(0, static_cast<size_t>(n));
    written_ += static_cast<uint64_t>(n);
  }
  return ok();
}

std::string AgentLink::describe_transport() const {
  int unread = -1;
  if (::ioctl(fd_, SIOCOUTQ, &unread) < 0) unread = -1;
  return "agent channel: " + std::to_string(session_.outbox().size()) + " bytes queued by the monitor, " +
         (unread < 0 ? std::string("?") : std::to_string(unread)) + " written but not yet read by QEMU, " +
         std::to_string(written_) + " written and " + std::to_string(read_) + " read in all";
}

Status AgentLink::receive(std::vector<proto::Event>& events) {
  char buf[64 * 1024];
  ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return ok();
    return fail_errno("read from the agent channel");
  }
  if (n == 0) {
    TRY_CTX(session_.receive_eof(), "agent channel");
    return fail("the agent channel closed");
  }
  read_ += static_cast<uint64_t>(n);
  auto received = session_.receive(std::string_view(buf, static_cast<size_t>(n)));
  if (!received) {
    session_.send_error(received.error().message());
    (void)flush();
    return std::move(received).error().context("protocol error from the guest agent");
  }
  for (auto& e : *received) events.push_back(std::move(e));
  return ok();
}

Status AgentLink::send(const nlohmann::json& message) {
  return session_.send_message(std::string(proto::kControlStream), message);
}

Status AgentLink::handshake(milliseconds timeout, int signal_fd, const std::vector<int>& watch) {
  session_.send_hello();
  auto deadline = steady_clock::now() + timeout;
  while (!session_.handshake_done()) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0)
      return fail("the guest agent did not answer within " +
                  std::to_string(duration_cast<seconds>(timeout).count()) +
                  "s (raise it with --boot-timeout or RUNVM_BOOT_TIMEOUT)");
    std::vector<pollfd> fds = {{fd_, static_cast<short>(POLLIN | (wants_write() ? POLLOUT : 0)), 0},
                               {signal_fd, POLLIN, 0}};
    for (int w : watch) fds.push_back({w, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR)
      return fail_errno("poll");
    for (size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents) return fail("the VM stopped while booting");
    if (fds[1].revents) {
      signalfd_siginfo info;
      if (::read(signal_fd, &info, sizeof info) == sizeof info)
        return Failure{Error("interrupted by signal " + std::to_string(info.ssi_signo) +
                             " while the VM was booting", 0)};
    }
    TRY(flush());
    if (fds[0].revents) {
      std::vector<proto::Event> events;
      TRY(receive(events));
      for (auto& e : events)
        if (auto* p = std::get_if<proto::event::PeerError>(&e))
          return fail("the guest agent refused the connection: " + p->message);
    }
  }
  return ok();
}

}  // namespace runvm::runtime
