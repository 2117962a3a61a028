#include "runtime/exec.h"

#include "runtime/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <set>

#include "common/io.h"
#include "common/log.h"
#include "host/child_process.h"
#include "host/message_socket.h"
#include "oci/capabilities.h"
#include "oci/spec.h"
#include "runtime/console.h"
#include "runtime/lifecycle.h"
#include "runtime/monitor.h"
#include "runtime/signal_route.h"

namespace runvm::runtime {
namespace {

using nlohmann::json;

// An exec that could not start: the message, and the status to exit with.
struct ExecStart {
  bool started = false;
  std::string error;
};

Result<oci::User> parse_user(const std::string& text) {
  oci::User user;
  size_t colon = text.find(':');
  // runc's range: a larger id would wrap (4294967295 is -1, "unchanged" to
  // setresuid, 4294967296 is 0) and the process would run as root.
  auto number = [&](const std::string& part) -> Result<uint32_t> {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos)
      return fail("--user " + text + ": expected uid[:gid] as numbers");
    uint64_t id = 0;
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), id);
    if (error != std::errc() || end != part.data() + part.size() || id > 2147483647)
      return fail("--user " + text + ": uids and gids must be in range 0-2147483647");
    return static_cast<uint32_t>(id);
  };
  user.uid = TRY(number(text.substr(0, colon)));
  if (colon != std::string::npos) user.gid = TRY(number(text.substr(colon + 1)));
  return user;
}

// The process to run: --process, or the container's own process with the
// command and flags laid over it (as runc exec does).
Result<oci::Process> exec_spec(const ExecOptions& o, const ContainerState& s) {
  if (!o.process_file.empty()) {
    std::string text = TRY(io::read_file(o.process_file));
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return fail(o.process_file + ": invalid JSON");
    return TRY_CTX(oci::process_from_json(j), o.process_file);
  }
  if (o.args.empty()) return fail("process args cannot be empty");
  oci::Spec spec = TRY_CTX(oci::load_bundle_spec(s.bundle), "the container's bundle");
  oci::Process p = spec.process;
  p.args = o.args;
  p.terminal = o.tty;
  if (!o.cwd.empty()) p.cwd = o.cwd;
  for (const auto& e : o.env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(p.env, [&](const std::string& old) { return old.substr(0, old.find('=')) == key; });
    p.env.push_back(e);
  }
  // As runc's: --user sets the ids and keeps the container's additional
  // groups; --additional-gids adds to them.
  if (!o.user.empty()) {
    oci::User user = TRY(parse_user(o.user));
    p.user.uid = user.uid;
    p.user.gid = user.gid;
  }
  for (int64_t gid : o.additional_gids) {
    if (gid < 0) return fail("additional-gids must be a positive number " + std::to_string(gid));
    if (gid > 2147483647) return fail("additional-gids must be in range 0-2147483647, not " + std::to_string(gid));
    p.user.additional_gids.push_back(static_cast<uint32_t>(gid));
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  // --cap adds to the bounding, effective and permitted sets, as runc's does.
  // A process without a capabilities section already keeps them all. A
  // name that is no capability is ignored with runc's warning (runvm also
  // takes "net_admin" for CAP_NET_ADMIN).
  std::vector<std::string> unknown;
  for (std::string cap : o.caps) {
    std::string given = cap;
    for (char& ch : cap) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!cap.starts_with("CAP_")) cap = "CAP_" + cap;
    if (!oci::is_capability_name(cap)) {
      unknown.push_back(given);
      continue;
    }
    if (!p.capabilities) continue;
    for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
      if (std::find(set->begin(), set->end(), cap) == set->end()) set->push_back(cap);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& name : unknown) list += (list.empty() ? "" : " ") + name;
    log::warn("ignoring unknown or unavailable capabilities: [" + list + "]");
  }
  return p;
}

// The exec's host side once the monitor has its stdio: forward signals and
// resizes until the process's exit arrives. `on_start` runs once, with the
// start result.
Result<int> stand_in(int conn, int tty, const std::function<void(const ExecStart&)>& on_start) {
  SignalRoute signals = TRY(SignalRoute::create());
  bool started = false;
  for (;;) {
    pollfd fds[] = {{conn, POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    while (int sig = fds[1].revents ? signals.next() : 0) {
      winsize size{};
      if (sig == SIGWINCH) {
        if (tty >= 0 && ::ioctl(tty, TIOCGWINSZ, &size) == 0)
          (void)host::send_message(conn, control::to_json(control::Resize{size.ws_row, size.ws_col}));
      } else {
        (void)host::send_message(conn, control::to_json(control::Signal{sig}));
      }
    }
    if (!fds[0].revents) continue;
    auto message = TRY(host::receive_message(conn));
    if (!message) return fail("the container's monitor went away");
    control::Reply reply = TRY_CTX(control::Reply::parse(message->body), "the container's monitor's reply");
    if (reply.error) {
      if (!started) on_start({false, *reply.error});
      return fail(*reply.error);
    }
    if (reply.started) {
      started = true;
      on_start({true, ""});
    }
    if (reply.exit) return *reply.exit;
  }
}

struct ExecIo {
  std::vector<int> fds;  // what the monitor gets
  int tty = -1;
  std::optional<Pty> pty;
  UniqueFd console;  // /dev/tty, when none of our stdio is a terminal
  std::optional<RawMode> raw;
};

Result<ExecIo> exec_io(const ExecOptions& o) {
  ExecIo io;
  if (!o.tty) {
    io.fds = {0, 1, 2};
    return io;
  }
  if (!o.console_socket.empty()) {
    io.pty = TRY(open_pty());
    io.raw.emplace(TRY(RawMode::enable(io.pty->slave.get())));
    TRY(send_console(o.console_socket, io.pty->master.get()));
    io.pty->master.reset();
    io.tty = io.pty->slave.get();
  } else {
    // As runc's exec: the guest's pty relayed to our stdin and stdout, the
    // host console (its size) raw but keeping output processing; the
    // monitor takes three descriptors as this kind of terminal.
    io.tty = TRY(host_console(io.console));
    io.raw.emplace(TRY(RawMode::enable(io.tty, true)));
    io.fds = {0, 1, io.tty};
    return io;
  }
  io.fds = {io.tty};
  return io;
}

Result<UniqueFd> send_exec(const ExecOptions& o, const ContainerState& s, const oci::Process& p,
                           const ExecIo& io) {
  UniqueFd conn = TRY(host::connect_messages(o.root + "/" + s.id + "/" + kControlSocket));
  control::Exec request{msg::ProcessSpec{p}};
  request.cgroup = TRY(sub_cgroup_of(o.cgroups));
  request.ignore_paused = o.ignore_paused;
  TRY(host::send_message(conn.get(), control::to_json(request), io.fds));
  return conn;
}

// In the foreground this process stands for the exec, so its PID is the
// one --pid-file gets, written before the process starts (an unwritable
// path fails the exec, as runc's does).
Result<int> exec_foreground(const ExecOptions& o, const ContainerState& s, const oci::Process& p) {
  ExecIo io = TRY(exec_io(o));
  if (!o.pid_file.empty()) TRY(io::write_file_atomic(o.pid_file, std::to_string(::getpid()), 0644));
  auto status = [&]() -> Result<int> {
    UniqueFd conn = TRY(send_exec(o, s, p, io));
    return stand_in(conn.get(), io.tty, [](const ExecStart&) {});
  }();
  if (!status && !o.pid_file.empty()) ::unlink(o.pid_file.c_str());
  return status;
}

[[noreturn]] void detached_child(const ExecOptions& o, const ContainerState& s, const oci::Process& p,
                                 int report) {
  ::setsid();
  auto run = [&]() -> Result<int> {
    ExecIo io = TRY(exec_io(o));
    if (io.pty) (void)::ioctl(io.tty, TIOCSCTTY, 0);  // resizes arrive as SIGWINCH
    UniqueFd conn = TRY(send_exec(o, s, p, io));
    // The monitor holds the stdio now; ours must not keep a reader waiting.
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; ++fd)
      if (fd != io.tty) ::dup2(devnull, fd);
    return stand_in(conn.get(), io.tty, [&](const ExecStart& start) {
      (void)io::write_all(report, start.started ? "ok" : start.error);
      ::close(report);
      report = -1;
    });
  };
  auto status = run();
  if (report >= 0) (void)io::write_all(report, status ? "the process exited before it was reported started" : status.error().describe());
  ::_exit(status ? *status : 255);
}

Result<int> exec_detached(const ExecOptions& o, const ContainerState& s, const oci::Process& p) {
  auto [report_r, report_w] = TRY(io::make_pipe());
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork the exec's stand-in");
  if (pid == 0) {
    report_r.reset();
    detached_child(o, s, p, report_w.release());
  }
  report_w.reset();
  std::string report = io::read_to_end(report_r.get());
  if (report != "ok") {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return fail(report.empty() ? "the exec's stand-in died" : report);
  }
  if (!o.pid_file.empty()) TRY(io::write_file_atomic(o.pid_file, std::to_string(pid), 0644));
  return 0;
}

}  // namespace

Result<std::string> sub_cgroup_of(const std::vector<std::string>& values) {
  std::optional<std::string> path;
  std::set<std::string> controllers;
  for (const auto& value : values) {
    size_t colon = value.find(':');
    std::string sub = value;
    if (colon == std::string::npos) {
      if (values.size() != 1)
        return fail("invalid --cgroup argument: " + value + " (missing <controller>: prefix)");
    } else {
      if (value.find(':', colon + 1) != std::string::npos) return fail("invalid --cgroup argument: " + value);
      std::string list = value.substr(0, colon);
      sub = value.substr(colon + 1);
      size_t start = 0;
      for (;;) {
        size_t comma = list.find(',', start);
        std::string controller = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (controller.empty())
          return fail("invalid --cgroup argument: " + value + " (empty <controller> prefix)");
        if (!controllers.insert(controller).second)
          return fail("invalid --cgroup argument(s): controller " + controller + " specified multiple times");
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    // Relative to the container's cgroup, with or without a leading "/".
    while (sub.starts_with('/')) sub.erase(0, 1);
    while (sub.ends_with('/')) sub.pop_back();
    if (!msg::valid_sub_cgroup(sub))
      return fail("invalid --cgroup argument: " + value + " (a sub-cgroup of the container's, without \"..\")");
    if (path && *path != sub)
      return fail("invalid --cgroup arguments: the guest has one cgroup v2 tree, so every controller must name the "
                  "same sub-cgroup (" + *path + " and " + sub + ")");
    path = sub;
  }
  return path.value_or("");
}

Result<int> exec_process(const ExecOptions& o) {
  // The stand-in lives as long as the process (with --detach, past this
  // command): it must not keep what our caller left open at 3 and above.
  host::close_inherited_fds();
  ContainerState s = TRY(find_container(o.root, o.id));
  std::string status = live_status(s);
  if (status == "stopped") return fail("cannot exec in a stopped container");
  if (status == "paused" && !o.ignore_paused)
    return fail("cannot exec in a paused container (use --ignore-paused to override)");
  TRY(sub_cgroup_of(o.cgroups));
  oci::Process p = TRY(exec_spec(o, s));
  if (o.tty) p.terminal = true;
  if (p.terminal && o.detach && o.console_socket.empty())
    return fail("cannot allocate tty if runvm will detach without setting console socket");
  if (!p.terminal && !o.console_socket.empty())
    return fail("cannot use console socket if runvm will not detach or allocate tty");
  ExecOptions effective = o;
  effective.tty = p.terminal;
  if (o.detach) return exec_detached(effective, s, p);
  return exec_foreground(effective, s, p);
}

}  // namespace runvm::runtime
