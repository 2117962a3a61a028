#include "runtime/signal_route.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <utility>

namespace runvm::runtime {

Result<SignalRoute> SignalRoute::create() {
  SignalRoute route;
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : kForwardedSignals) sigaddset(&mask, s);
  if (::sigprocmask(SIG_BLOCK, &mask, &route.old_mask_) < 0) return fail_errno("sigprocmask");
  route.restore_ = true;
  int fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return fail_errno("signalfd");
  route.fd_.reset(fd);
  return route;
}

SignalRoute::SignalRoute(SignalRoute&& o) noexcept
    : fd_(std::move(o.fd_)), old_mask_(o.old_mask_), restore_(std::exchange(o.restore_, false)) {}

SignalRoute::~SignalRoute() {
  if (restore_) ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

int SignalRoute::next() {
  signalfd_siginfo info;
  if (::read(fd_.get(), &info, sizeof info) != sizeof info) return 0;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace runvm::runtime
