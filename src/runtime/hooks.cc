#include "runtime/hooks.h"

#include "common/json_bytes.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/io.h"
#include "host/child_process.h"

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

json hooks_to_json(const std::vector<oci::Hook>& hooks) {
  json out = json::array();
  for (const auto& h : hooks) {
    // Byte strings, as the protocol carries them (common/json_bytes.h).
    json args = json::array(), env = json::array();
    for (const auto& a : h.args) args.push_back(json_bytes::encode(a));
    for (const auto& e : h.env) env.push_back(json_bytes::encode(e));
    json j = {{"path", json_bytes::encode(h.path)}, {"args", args}, {"env", env}};
    if (h.timeout) j["timeout"] = *h.timeout;
    out.push_back(j);
  }
  return out;
}

std::vector<oci::Hook> hooks_from_json(const json& list) {
  std::vector<oci::Hook> out;
  if (!list.is_array()) return out;
  for (const auto& j : list) {
    if (!j.is_object()) continue;
    oci::Hook h;
    // runvm's own record (state.json), read as carefully as any file.
    auto text = [&](const char* key) {
      auto it = j.find(key);
      auto bytes = it != j.end() ? json_bytes::decode(*it, key) : Result<std::string>(std::string());
      return bytes ? *bytes : std::string();
    };
    auto texts = [&](const char* key) {
      std::vector<std::string> v;
      auto it = j.find(key);
      if (it != j.end() && it->is_array())
        for (const auto& s : *it)
          if (auto bytes = json_bytes::decode(s, key)) v.push_back(*bytes);
      return v;
    };
    h.path = text("path");
    h.args = texts("args");
    h.env = texts("env");
    auto t = j.find("timeout");
    if (t != j.end() && t->is_number_integer() && t->get<int64_t>() > 0 && t->get<int64_t>() < INT32_MAX)
      h.timeout = static_cast<int>(t->get<int64_t>());
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace runvm::runtime
