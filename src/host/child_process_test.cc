#include "host/child_process.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace runvm::host {
namespace {

using namespace std::chrono_literals;

// The exit status of `sh -c script` spawned with `options`' other fields.
int run_shell(SpawnOptions options, const std::string& script) {
  options.argv = {"/bin/sh", "-c", script};
  auto child = ChildProcess::spawn(options);
  if (!child) {
    ADD_FAILURE() << child.error().describe();
    return -1;
  }
  if (!child->wait_for(20s)) return -2;
  return WIFEXITED(*child->status()) ? WEXITSTATUS(*child->status()) : -3;
}

std::string self_mounts() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ScratchDir {
  std::string path;
  ScratchDir() {
    char tmpl[] = "/tmp/runvm-child-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~ScratchDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// What runvm's caller left open (not close-on-exec: create's fd 5 in
// `( runvm create ... 5>&1 ) | cat`) must not reach QEMU or virtiofsd, or
// the caller waits for an EOF until the container is deleted.
TEST(ChildProcess, GetsOnlyTheDescriptorsListed) {
  int inherited[2];
  ASSERT_EQ(::pipe(inherited), 0);  // no O_CLOEXEC, as a caller's descriptor
  int listed[2];
  ASSERT_EQ(::pipe2(listed, O_CLOEXEC), 0);
  std::string leaked_r = std::to_string(inherited[0]), leaked_w = std::to_string(inherited[1]);
  SpawnOptions options;
  options.fds = {{7, listed[1]}};
  EXPECT_EQ(run_shell(options, "test -e /proc/self/fd/7 || exit 10; "
                               "test -e /proc/self/fd/" + leaked_r + " && exit 11; "
                               "test -e /proc/self/fd/" + leaked_w + " && exit 12; exit 0"),
            0) << "10: the listed one is missing, 11/12: the caller's leaked in";
  for (int fd : {inherited[0], inherited[1], listed[0], listed[1]}) ::close(fd);
}

TEST(ChildProcess, ReadOnlyPathsAreReadOnlyForTheChildAlone) {
  ScratchDir dir;
  SpawnOptions options;
  options.readonly_paths = {dir.path};
  EXPECT_NE(run_shell(options, "echo x > '" + dir.path + "/f'"), 0);
  struct stat st;
  EXPECT_NE(::stat((dir.path + "/f").c_str(), &st), 0) << "the child wrote through";
  // The bind lived in the child's own namespace: nothing is left here, and
  // the directory stays writable for everyone else.
  EXPECT_EQ(self_mounts().find(dir.path), std::string::npos) << self_mounts();
  EXPECT_EQ(run_shell({}, "echo x > '" + dir.path + "/f'"), 0);
  // Reading works.
  EXPECT_EQ(run_shell(options, "read line < '" + dir.path + "/f' && [ \"$line\" = x ]"), 0);
}

TEST(ChildProcess, ReadOnlyReachesEveryMountBelow) {
  ScratchDir dir;
  ASSERT_EQ(::mkdir((dir.path + "/sub").c_str(), 0755), 0);
  // In a namespace of a child of ours, so that the tmpfs leaks nowhere.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
        ::mount("tmpfs", (dir.path + "/sub").c_str(), "tmpfs", 0, nullptr) < 0)
      ::_exit(20);
    SpawnOptions options;
    options.readonly_paths = {dir.path};
    options.argv = {"/bin/sh", "-c", "echo x > '" + dir.path + "/sub/f'"};
    auto child = ChildProcess::spawn(options);
    if (!child || !child->wait_for(20s)) ::_exit(21);
    if (WIFEXITED(*child->status()) && WEXITSTATUS(*child->status()) == 0) ::_exit(22);
    struct stat st;
    ::_exit(::stat((dir.path + "/sub/f").c_str(), &st) == 0 ? 23 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "20: setup, 21: spawn, 22/23: the child wrote below a mount";
}

TEST(ChildProcess, AMissingReadOnlyPathIsReportedAsSuch) {
  SpawnOptions options;
  options.argv = {"/bin/true"};
  options.readonly_paths = {"/nonexistent/runvm-test"};
  auto child = ChildProcess::spawn(options);
  ASSERT_FALSE(child);
  EXPECT_NE(child.error().describe().find("make /nonexistent/runvm-test read-only for true"),
            std::string::npos)
      << child.error().describe();
}

TEST(CloseInheritedFds, ClosesWhatLacksCloseOnExecOnly) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int inherited = ::open("/dev/null", O_RDONLY);
    int own = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    close_inherited_fds();
    bool inherited_gone = ::fcntl(inherited, F_GETFD) < 0;
    bool own_kept = ::fcntl(own, F_GETFD) >= 0;
    bool stdio_kept = ::fcntl(0, F_GETFD) >= 0 && ::fcntl(2, F_GETFD) >= 0;
    ::_exit(inherited_gone && own_kept && stdio_kept ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace runvm::host
