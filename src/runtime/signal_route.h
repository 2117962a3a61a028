// SignalRoute: blocks a set of signals and delivers them through a
// signalfd for the object's lifetime, so a poll() loop can forward them to
// the guest. The previous mask comes back on every exit path.
#pragma once

#include <signal.h>

#include <initializer_list>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::runtime {

// What `runvm run` and a container's monitor forward to the container's
// process, as runc does (its signal proxy forwards every catchable signal);
// SIGWINCH is turned into a terminal resize instead.
inline constexpr int kForwardedSignals[] = {SIGHUP, SIGINT,  SIGQUIT, SIGTERM, SIGUSR1,
                                            SIGUSR2, SIGALRM, SIGCONT, SIGTSTP, SIGWINCH};

class SignalRoute {
 public:
  static Result<SignalRoute> create();
  SignalRoute(SignalRoute&& o) noexcept;
  SignalRoute& operator=(SignalRoute&&) = delete;
  ~SignalRoute();

  int fd() const { return fd_.get(); }
  // The next pending signal number, or 0 if none.
  int next();

 private:
  SignalRoute() = default;
  UniqueFd fd_;
  sigset_t old_mask_;
  bool restore_ = false;
};

}  // namespace runvm::runtime
