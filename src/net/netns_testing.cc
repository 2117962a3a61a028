#include "net/netns_testing.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/io.h"

namespace runvm::net::testing {
namespace {

constexpr unsigned kChildTimeoutSeconds = 60;

// The child must never return into gtest, which would run the remaining
// tests a second time; an exception is a failure like any other.
[[noreturn]] void run_child(const std::function<Status()>& body, int report) {
  alarm(kChildTimeoutSeconds);
  Status result;
  try {
    result = ::unshare(CLONE_NEWNET) == 0 ? body() : fail_errno("unshare(CLONE_NEWNET)");
  } catch (const std::exception& e) {
    result = fail(std::string("exception: ") + e.what());
  }
  std::string text = result ? "" : result.error().describe();
  (void)io::write_all(report, text);
  _exit(0);
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return "test child killed by signal " + std::to_string(WTERMSIG(status));
  return "test child exited " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

std::string in_new_netns(const std::function<Status()>& body) {
  auto pipe = io::make_pipe();
  if (!pipe) return pipe.error().describe();
  auto& [read_end, write_end] = *pipe;
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    read_end.reset();
    run_child(body, write_end.get());
  }
  write_end.reset();
  std::string report = io::read_to_end(read_end.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return describe_exit(status) + (report.empty() ? "" : ": " + report);
  return report;
}

Result<Netns> Netns::current() { return Netns(TRY(io::open_file("/proc/self/ns/net", O_RDONLY))); }

Result<Netns> Netns::create() {
  Netns original = TRY(current());
  if (::unshare(CLONE_NEWNET) < 0) return fail_errno("unshare(CLONE_NEWNET)");
  Netns created = TRY(current());
  TRY(original.enter());
  return created;
}

Status Netns::enter() const {
  if (::setns(fd_.get(), CLONE_NEWNET) < 0) return fail_errno("setns");
  return ok();
}

std::string Netns::path() const {
  return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd_.get());
}

Result<std::string> sh(const std::string& command) {
  auto [out_read, out_write] = TRY(io::make_pipe());
  auto [err_read, err_write] = TRY(io::make_pipe());
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    ::dup2(out_write.get(), 1);
    ::dup2(err_write.get(), 2);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
    _exit(127);
  }
  out_write.reset();
  err_write.reset();
  // Small outputs only: stderr cannot fill its pipe while stdout is read.
  std::string out = io::read_to_end(out_read.get());
  std::string err = io::read_to_end(err_read.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail("`" + command + "` failed: " + err);
  return out;
}

Result<std::string> sh_in(const Netns& ns, const std::string& command) {
  return sh("nsenter --net=" + ns.path() + " " + command);
}

Result<nlohmann::json> sh_json(const std::string& command) {
  std::string out = TRY(sh(command));
  auto parsed = nlohmann::json::parse(out, nullptr, false);
  if (parsed.is_discarded()) return fail("`" + command + "` printed no JSON: " + out);
  return parsed;
}

int proc_fd() {
  static int fd = ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

}  // namespace runvm::net::testing
