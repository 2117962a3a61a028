// What a container, or its config, must not be able to do to the host, end
// to end on real VMs (issue 15).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class SecurityTest : public ::testing::Test {
 protected:
  void TearDown() override {
    runvm("delete --force c1");
    expect_no_container_left(root_.path(), bundle_);
    EXPECT_EQ(slurp("/proc/self/mountinfo").find(scratch_.path()), std::string::npos)
        << "a mount of a share left on the host";
  }

  // `runvm --root R ARGS`, its stdio in files.
  Cmd runvm(const std::string& args) {
    return runvm_command(root_.path(), args, scratch_.path() + "/cmd.out", scratch_.path() + "/cmd.err");
  }

  Cmd create(const std::vector<std::string>& args) {
    bundle_.set_args(args);
    bundle_.write_config();
    return runvm("create --bundle '" + bundle_.path() + "' --pid-file '" + scratch_.path() + "/pid' c1");
  }

  RunResult run(const std::vector<std::string>& args) {
    bundle_.set_args(args);
    bundle_.write_config();
    return run_runvm({"--root", root_.path(), "run", "--bundle", bundle_.path(), "c1"});
  }

  // As `docker run --cap-add SYS_ADMIN`: the container may remount.
  void grant_sys_admin() {
    json caps = {"CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"};
    bundle_.config()["process"]["capabilities"] = {
        {"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  }

  void add_bind(const std::string& source, const std::string& destination,
                const std::vector<std::string>& options) {
    bundle_.config()["mounts"].push_back(
        {{"destination", destination}, {"type", "bind"}, {"source", source}, {"options", options}});
  }

  pid_t pid_file() { return std::atoi(slurp(scratch_.path() + "/pid").c_str()); }

  TempDir root_, scratch_;
  Bundle bundle_;
};

// A container with CAP_SYS_ADMIN remounts its `ro` bind read-write; the
// host directory must still not be written. The same directory bound
// read-write elsewhere stays writable (one share each).
TEST_F(SecurityTest, AReadOnlyBindIsReadOnlyOnTheHost) {
  std::string volume = scratch_.path() + "/volume";
  ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
  std::ofstream(volume + "/existing") << "original\n";
  std::ofstream(volume + "/hosts") << "127.0.0.1 localhost\n";
  grant_sys_admin();
  add_bind(volume, "/ro", {"bind", "ro"});
  add_bind(volume, "/rw", {"rbind", "rw"});
  add_bind(volume + "/hosts", "/etc/hosts", {"bind", "ro"});
  auto r = run({"sh", "-c",
                "echo rw-ok > /rw/from-rw; "
                "/bin/busybox mount -o remount,bind,rw /ro && echo remounted; "
                "echo x > /ro/f; echo x > /ro/existing; rm /ro/existing; "
                "/bin/busybox mount -o remount,bind,rw /etc/hosts && echo file-remounted; "
                "echo x >> /etc/hosts; true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("remounted\n"), std::string::npos)
      << "the guest let the container remount it (else this test proves nothing): " << r.out << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(volume + "/f")) << "the container wrote the host directory of its ro volume";
  EXPECT_EQ(slurp(volume + "/existing"), "original\n");
  EXPECT_EQ(slurp(volume + "/hosts"), "127.0.0.1 localhost\n") << "through the ro file bind";
  EXPECT_EQ(slurp(volume + "/from-rw"), "rw-ok\n") << "the read-write bind of the same directory";
}

// Likewise for `root.readonly`; mount points missing from the image are
// still made (a tmpfs at /scratch, the cwd), as runc makes them.
TEST_F(SecurityTest, AReadOnlyRootIsReadOnlyOnTheHost) {
  bundle_.config()["root"]["readonly"] = true;
  bundle_.config()["process"]["cwd"] = "/work/dir";
  bundle_.config()["mounts"].push_back(
      {{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"mode=1777"}}});
  grant_sys_admin();
  auto r = run({"sh", "-c",
                "echo in-$(pwd); touch /scratch/ok && echo tmpfs-ok; "
                "/bin/busybox mount -o remount,bind,rw / && echo remounted; "
                "echo x > /f; rm /notexec; true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("in-/work/dir\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("tmpfs-ok\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("remounted\n"), std::string::npos) << r.out << r.err;
  EXPECT_FALSE(exists(bundle_.rootfs() + "/f")) << "the container wrote its read-only rootfs";
  EXPECT_TRUE(exists(bundle_.rootfs() + "/notexec"));
  EXPECT_TRUE(exists(bundle_.rootfs() + "/scratch")) << "the mount point was made on the host";
}

// runvm cp must not write a read-only root either: not on the host's view
// of it (which the guest could vouch for as "plain rootfs"), nor while the
// container is paused (docker cp: "container rootfs is marked read-only").
TEST_F(SecurityTest, RunvmCpDoesNotWriteAReadOnlyRoot) {
  bundle_.config()["root"]["readonly"] = true;
  ASSERT_EQ(create({"sleep", "100"}).code, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  std::string src = scratch_.path() + "/payload";
  std::ofstream(src) << "x";
  Cmd running = runvm("cp '" + src + "' c1:/root/");
  EXPECT_NE(running.code, 0) << "copied into a read-only root";
  EXPECT_NE(running.err.find("Read-only file system"), std::string::npos) << running.err;
  EXPECT_FALSE(exists(bundle_.rootfs() + "/root/payload"));
  Cmd out = runvm("cp c1:/notexec '" + scratch_.path() + "/back'");
  EXPECT_EQ(out.code, 0) << "copies out still work: " << out.err;
  ASSERT_EQ(runvm("pause c1").code, 0);
  Cmd paused = runvm("cp '" + src + "' c1:/root/");
  EXPECT_NE(paused.code, 0);
  EXPECT_NE(paused.err.find("container rootfs is marked read-only"), std::string::npos) << paused.err;
  EXPECT_FALSE(exists(bundle_.rootfs() + "/root/payload"));
  ASSERT_EQ(runvm("delete --force c1").code, 0);
}

// `exec -u 4294967296` ran as uid 0 (it wrapped), and a 20-digit uid
// aborted runvm; runc refuses both with this message.
TEST_F(SecurityTest, IdsOutsideRuncsRangeAreRefused) {
  ASSERT_EQ(create({"sleep", "100"}).code, 0);
  ASSERT_EQ(runvm("start c1").code, 0);
  for (const char* user : {"4294967296", "4294967295", "0:4294967295", "2147483648",
                           "99999999999999999999"}) {
    Cmd r = runvm(std::string("exec -u ") + user + " c1 id -u");
    EXPECT_EQ(r.code, 255) << user << ": " << r.out << r.err;
    EXPECT_EQ(r.out, "") << user;
    EXPECT_NE(r.err.find("uids and gids must be in range 0-2147483647"), std::string::npos)
        << user << ": " << r.err;
  }
  Cmd in_range = runvm("exec -u 2147483647:2147483647 c1 id -u");
  EXPECT_EQ(in_range.code, 0) << in_range.err;
  EXPECT_EQ(in_range.out, "2147483647\n");
  // exec --process reads its user through the config parser.
  std::ofstream(scratch_.path() + "/process.json")
      << json{{"args", {"id", "-u"}}, {"cwd", "/"}, {"user", {{"uid", 4294967295u}, {"gid", 0}}}}.dump();
  Cmd process = runvm("exec --process '" + scratch_.path() + "/process.json' c1");
  EXPECT_EQ(process.code, 255) << process.out << process.err;
  EXPECT_NE(process.err.find("process.user.uid: uids and gids must be in range 0-2147483647"),
            std::string::npos)
      << process.err;
  ASSERT_EQ(runvm("delete --force c1").code, 0);
  // And config.json, before anything is made.
  bundle_.config()["process"]["user"] = {{"uid", 4294967295u}, {"gid", 4294967295u}};
  Cmd created = create({"id", "-u"});
  EXPECT_EQ(created.code, 1);
  EXPECT_NE(created.err.find("process.user.uid: uids and gids must be in range 0-2147483647"),
            std::string::npos)
      << created.err;
}

// `( runvm create ... 5>&1 ) | cat` waited until delete: the monitor, QEMU
// and virtiofsd kept the caller's fd 5. runc returns at once.
TEST_F(SecurityTest, CreateLetsGoOfTheCallersDescriptors) {
  bundle_.set_args({"sleep", "100"});
  bundle_.write_config();
  int caller_pipe[2];
  ASSERT_EQ(::pipe2(caller_pipe, O_CLOEXEC), 0);
  std::string out = scratch_.path() + "/create.out";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Not close-on-exec: the caller's descriptor (dup2 onto itself would
    // keep the flag, hence the fcntl).
    ::dup2(caller_pipe[1], 5);
    ::fcntl(5, F_SETFD, 0);
    int log = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::string bin = runvm_binary();
    std::string bundle = bundle_.path(), root = root_.path();
    ::execl(bin.c_str(), bin.c_str(), "--root", root.c_str(), "create", "--bundle", bundle.c_str(),
            "c1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(caller_pipe[1]);
  int status = -1;
  auto deadline = std::chrono::steady_clock::now() + 180s;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(caller_pipe[0]);
      FAIL() << "create did not return";
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(out);
  // The pipe's read end must see EOF now: nobody holds the write end.
  pollfd p = {caller_pipe[0], POLLIN, 0};
  int ready = ::poll(&p, 1, 10000);
  char byte;
  ssize_t n = ready == 1 ? ::read(caller_pipe[0], &byte, 1) : -1;
  ::close(caller_pipe[0]);
  EXPECT_EQ(ready, 1) << "no EOF within 10 s: a process of the container holds the caller's fd 5";
  EXPECT_EQ(n, 0);
  json state = json::parse(runvm("state c1").out, nullptr, false);
  EXPECT_EQ(state.value("status", ""), "created") << "while the container is still there";
  EXPECT_EQ(runvm("delete c1").code, 0);
}

// "/../../../../../../tmp/x/y" made /tmp/x on the host. Cleaned as runc
// does, it is /tmp/x/y in each cgroup hierarchy.
TEST_F(SecurityTest, CgroupsPathStaysInTheCgroupTree) {
  std::string name = "runvm-cgroup-test-" + std::to_string(::getpid());
  std::string escape = "/tmp/" + name;
  struct Cleanup {
    std::string escape, name;
    ~Cleanup() {
      std::system(("rm -rf '" + escape + "'").c_str());
      for (const auto& h : list_dir("/sys/fs/cgroup")) {
        std::string base = "/sys/fs/cgroup/" + h + "/tmp";
        ::rmdir((base + "/" + name + "/y").c_str());
        ::rmdir((base + "/" + name).c_str());
        ::rmdir(base.c_str());  // only if no one else uses it
      }
    }
  } cleanup{escape, name};
  bundle_.config()["linux"]["cgroupsPath"] = "/../../../../../.." + escape + "/y";
  Cmd c = create({"sleep", "100"});
  EXPECT_FALSE(exists(escape)) << "a directory was made outside /sys/fs/cgroup";
  ASSERT_EQ(c.code, 0) << c.err;
  std::string cgroups = slurp("/proc/" + std::to_string(pid_file()) + "/cgroup");
  EXPECT_NE(cgroups.find(":/tmp/" + name + "/y\n"), std::string::npos) << cgroups;
  json state = json::parse(runvm("state c1").out, nullptr, false);
  EXPECT_EQ(state.value("status", ""), "created");
  ASSERT_EQ(runvm("delete c1").code, 0);
  EXPECT_FALSE(exists(escape));
  for (const auto& h : list_dir("/sys/fs/cgroup"))
    EXPECT_FALSE(exists("/sys/fs/cgroup/" + h + "/tmp/" + name + "/y")) << "delete removes it in " << h;
}

}  // namespace
}  // namespace runvm::testing
