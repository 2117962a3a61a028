// Host-side terminals. With process.terminal, the container's real terminal
// is a pty in the guest; on the host runvm makes a pty pair, hands the
// master to the caller (over --console-socket, as runc does, or keeps using
// the caller's own terminal), and relays the slave, in raw mode so that only
// the guest's line discipline cooks the input.
#pragma once

#include <termios.h>

#include <optional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace runvm::runtime {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
};

Result<Pty> open_pty();

// Sends `master` over the Unix socket at `path` (SCM_RIGHTS) as runc does:
// one message whose data is the pty's name, carrying exactly one fd.
Status send_console(const std::string& path, int master);

// Puts a terminal in raw mode; the destructor puts the old mode back.
class RawMode {
 public:
  static Result<RawMode> enable(int fd);
  RawMode(RawMode&& o) noexcept;
  RawMode& operator=(RawMode&&) = delete;
  ~RawMode();

 private:
  RawMode() = default;
  int fd_ = -1;
  termios saved_{};
};

}  // namespace runvm::runtime
