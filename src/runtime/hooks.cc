#include "runtime/hooks.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/io.h"
#include "common/json_bytes.h"
#include "common/log.h"
#include "host/child_process.h"
#include "proto/messages.h"

namespace runvm::runtime {
namespace {

using nlohmann::json;
using namespace std::chrono;

// Reads whatever is ready on fd into out (non-blocking fd), up to a bound.
void drain(int fd, std::string& out) {
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    if (out.size() < 64 * 1024) out.append(buf, static_cast<size_t>(n));
}

Status run_hook(const oci::Hook& hook, const std::string& state_text) {
  auto [in_r, in_w] = TRY(io::make_pipe());
  auto [out_r, out_w] = TRY(io::make_pipe());
  auto [err_r, err_w] = TRY(io::make_pipe());
  host::SpawnOptions opts;
  opts.argv = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  opts.path = hook.path;
  opts.env = hook.env;
  opts.replace_env = true;
  opts.fds = {{0, in_r.get()}, {1, out_w.get()}, {2, err_w.get()}};
  host::ChildProcess child = TRY(host::ChildProcess::spawn(opts));
  in_r.reset();
  out_w.reset();
  err_w.reset();
  // The state is small (well under a pipe buffer); a hook that never reads
  // it must not block us.
  TRY(io::set_nonblocking(in_w.get()));
  // A hook that exits without reading makes this write EPIPE, never a
  // SIGPIPE that would kill us.
  struct sigaction ignore{}, old{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  (void)!::write(in_w.get(), state_text.data(), state_text.size());
  ::sigaction(SIGPIPE, &old, nullptr);
  in_w.reset();
  TRY(io::set_nonblocking(out_r.get()));
  TRY(io::set_nonblocking(err_r.get()));

  std::string out, err;
  auto deadline = hook.timeout ? steady_clock::now() + seconds(*hook.timeout)
                               : steady_clock::time_point::max();
  while (!child.poll_exit()) {
    auto left = deadline == steady_clock::time_point::max()
                    ? -1
                    : duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (deadline != steady_clock::time_point::max() && left <= 0) {
      child.terminate(milliseconds(0));
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1f", static_cast<double>(*hook.timeout));
      return fail(std::string("hook ran past specified timeout of ") + secs + "s");
    }
    pollfd fds[] = {{child.pidfd(), POLLIN, 0}, {out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    ::poll(fds, 3, static_cast<int>(std::min<long long>(left < 0 ? 1000 : left, 1000)));
    drain(out_r.get(), out);
    drain(err_r.get(), err);
  }
  drain(out_r.get(), out);
  drain(err_r.get(), err);
  int status = *child.status();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  return fail(host::describe_wait_status(status) + ", stdout: " + out + ", stderr: " + err);
}

}  // namespace

Status run_hooks(const std::vector<oci::Hook>& hooks, const json& state) {
  std::string text = json_bytes::to_text(state);
  for (size_t i = 0; i < hooks.size(); ++i) {
    if (Status s = run_hook(hooks[i], text); !s)
      return fail("error running hook #" + std::to_string(i) + ": error running hook: " +
                  s.error().describe());
  }
  return ok();
}

json hooks_to_json(const std::vector<oci::Hook>& hooks) { return msg::hooks_to_json(hooks); }

std::vector<oci::Hook> hooks_from_json(const json& list) {
  // runvm's own record (state.json), checked as carefully as a message: a
  // damaged one runs no hooks rather than half of them.
  auto hooks = msg::parse_hooks(list, "hooks");
  if (!hooks) {
    log::warn("the recorded hooks are unreadable: " + hooks.error().describe());
    return {};
  }
  return std::move(*hooks);
}

}  // namespace runvm::runtime
