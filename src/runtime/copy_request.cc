#include "runtime/copy_request.h"

namespace runvm::runtime {

Result<HostStdio> copy_stdio(bool into_container, std::vector<UniqueFd> fds) {
  if (fds.size() != 2) return fail("a copy takes two descriptors (the tar stream, stderr)");
  HostStdio io;
  (into_container ? io.in : io.out) = fds[0].get();
  io.err = fds[1].get();
  io.owned = std::move(fds);
  return io;
}

}  // namespace runvm::runtime
