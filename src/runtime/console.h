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

// runc's host console for a terminal it relays itself (run or exec in the
// foreground without --console-socket): the first of stderr, stdout and
// stdin that is a terminal, else the controlling terminal, opened into
// `opened`; with none, Go's error "open /dev/tty: no such device or address".
Result<int> host_console(UniqueFd& opened);

// Puts a terminal in raw mode; the destructor puts the old mode back.
class RawMode {
 public:
  // keep_output: output processing (OPOST, so ONLCR) stays on, as
  // containerd/console's SetRaw leaves it for runc's own terminal relay.
  static Result<RawMode> enable(int fd, bool keep_output = false);
  RawMode(RawMode&& o) noexcept;
  RawMode& operator=(RawMode&&) = delete;
  ~RawMode();

 private:
  RawMode() = default;
  int fd_ = -1;
  termios saved_{};
};

}  // namespace runvm::runtime
