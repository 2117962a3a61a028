// `runvm cp` end to end on a real VM: files and directories both ways with
// docker cp's path semantics, tar streams ("-"), a tree with every kind of
// entry compared entry by entry, 64 MiB both ways in bounded memory, the
// errors a user must be able to read, a paused container (copied on the
// host's view of its rootfs), and nothing left behind in the monitor, the
// guest or the host.
//
// The bundle's /root and /home are on the rootfs share, so what is copied
// there is checked on the host directly; its /tmp is a tmpfs inside the
// guest, which only a copy made in the container's mount namespace sees.
#include <gtest/gtest.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "runtime/lifecycle.h"
#include "tests/integration/harness.h"
#include "tests/integration/running_container.h"
#include "transfer/testing.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using transfer::testing::describe_tree;

using Shell = ShellResult;

// Runs a shell command line; stdout and stderr together.
Shell sh(const std::string& command) { return shell(command); }

void write(const std::string& path, const std::string& data, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary) << data;
  ::chmod(path.c_str(), mode);
}

std::string md5(const std::string& path) { return sh("md5sum < '" + path + "'").out.substr(0, 32); }

// The "Maximum resident set size (kbytes)" line of GNU time -v.
long max_rss_kib(const std::string& time_output) {
  const std::string key = "Maximum resident set size (kbytes): ";
  size_t at = time_output.find(key);
  return at == std::string::npos ? -1 : std::stol(time_output.substr(at + key.size()));
}

long status_field_kib(pid_t pid, const std::string& field) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

size_t count_entries(const std::string& dir) { return list_dir(dir).size(); }

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14, 15).
long cpu_ticks(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

class CpTest : public RunningContainerTest {
 protected:
  void TearDown() override {
    sh(runvm_ + " delete --force c2");  // the second container some tests make
    RunningContainerTest::TearDown();
    EXPECT_TRUE(processes_mentioning(bundle_.rootfs()).empty()) << "virtiofsd left running";
  }

  Shell cp(const std::string& args) { return sh(runvm_ + " cp " + args); }
  Shell exec(const std::string& args) { return sh(runvm_ + " exec c1 " + args); }
  std::string rootfs(const std::string& path) const { return bundle_.rootfs() + path; }
  std::string host(const std::string& path) const { return host_.path() + "/" + path; }

  pid_t monitor_pid() {
    Shell state = sh(runvm_ + " state c1");
    return nlohmann::json::parse(state.out, nullptr, false).value("pid", 0);
  }

  // The monitor's descriptors, once no client connection is in flight.
  size_t monitor_fds() {
    std::string dir = "/proc/" + std::to_string(monitor_pid()) + "/fd";
    size_t last = count_entries(dir);
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(100ms);
      size_t now = count_entries(dir);
      if (now == last) return now;
      last = now;
    }
    return last;
  }

  // A tree with one of each kind of entry, owners other than root, odd
  // modes, fixed mtimes with nanoseconds, a user xattr and hardlinks.
  std::string make_tree(const std::string& name) {
    std::string t = host(name);
    EXPECT_EQ(sh("mkdir -p " + t + "/sub/deeper " + t + "/sticky " + t + "/setgid " + t + "/empty").status, 0);
    write(t + "/plain", "plain text\n");
    write(t + "/exec", "#!/bin/sh\necho hi\n", 0755);
    write(t + "/setuid", "not really a program", 0644);
    write(t + "/empty-file", "");
    write(t + "/sub/deeper/file", std::string(100000, 'x'));
    write(t + "/link1", "one inode, two names\n", 0600);
    EXPECT_EQ(::link((t + "/link1").c_str(), (t + "/sub/link2").c_str()), 0);
    EXPECT_EQ(::symlink("plain", (t + "/rel-link").c_str()), 0);
    EXPECT_EQ(::symlink("/etc/passwd", (t + "/abs-link").c_str()), 0);
    EXPECT_EQ(::symlink("nowhere", (t + "/dangling").c_str()), 0);
    EXPECT_EQ(::mkfifo((t + "/fifo").c_str(), 0640), 0);
    EXPECT_EQ(::setxattr((t + "/plain").c_str(), "user.runvm", "yes", 3, 0), 0);
    // chown before the set-id bits: chown clears them.
    EXPECT_EQ(::chown((t + "/setuid").c_str(), 1234, 5678), 0);
    EXPECT_EQ(::chmod((t + "/setuid").c_str(), 04755), 0);
    EXPECT_EQ(::chown((t + "/setgid").c_str(), 1000, 1001), 0);
    EXPECT_EQ(::chmod((t + "/setgid").c_str(), 02775), 0);
    EXPECT_EQ(::chmod((t + "/sticky").c_str(), 01777), 0);
    EXPECT_EQ(::lchown((t + "/rel-link").c_str(), 42, 43), 0);
    EXPECT_EQ(::chown((t + "/sub").c_str(), 7, 8), 0);
    // Fixed times, children before their directories.
    timespec times[2] = {{1500000000, 123456789}, {1600000000, 987654321}};
    Shell all = sh("cd " + t + " && find . -depth");
    std::istringstream names(all.out);
    for (std::string n; std::getline(names, n);)
      EXPECT_EQ(::utimensat(AT_FDCWD, (t + "/" + n).c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << n;
    return t;
  }
};

TEST_F(CpTest, FileInAndOut) {
  write(host("a.txt"), "alpha\n", 0640);
  // Into a directory: keeps its name.
  Shell in = cp(host("a.txt") + " c1:/root");
  ASSERT_EQ(in.status, 0) << in.out;
  EXPECT_EQ(in.out, "");  // no progress text without a terminal
  EXPECT_EQ(slurp(rootfs("/root/a.txt")), "alpha\n");
  struct stat st;
  ASSERT_EQ(::stat(rootfs("/root/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  // To a new name, and over an existing file.
  ASSERT_EQ(cp(host("a.txt") + " c1:/root/renamed").status, 0);
  EXPECT_EQ(slurp(rootfs("/root/renamed")), "alpha\n");
  write(rootfs("/home/existing"), "old contents that are longer\n");
  ASSERT_EQ(cp(host("a.txt") + " c1:home/existing").status, 0);  // relative: from the container's /
  EXPECT_EQ(slurp(rootfs("/home/existing")), "alpha\n");
  // Out: to a new name, and into a directory.
  Shell out = cp("c1:/root/renamed " + host("back.txt"));
  ASSERT_EQ(out.status, 0) << out.out;
  EXPECT_EQ(slurp(host("back.txt")), "alpha\n");
  ::mkdir(host("into").c_str(), 0755);
  ASSERT_EQ(cp("c1:/root/renamed " + host("into/")).status, 0);
  EXPECT_EQ(slurp(host("into/renamed")), "alpha\n");
}

// The copy runs in the container's mount namespace: the guest's own tmpfs
// at /tmp is where a file goes and where it is read from.
TEST_F(CpTest, TheContainersMountsAreWhereTheCopyLands) {
  write(host("t.txt"), "in the guest's tmpfs\n");
  ASSERT_EQ(cp(host("t.txt") + " c1:/tmp/").status, 0);
  EXPECT_EQ(exec("cat /tmp/t.txt").out, "in the guest's tmpfs\n");
  EXPECT_FALSE(std::ifstream(rootfs("/tmp/t.txt")).good()) << "written to the image, not the mount";
  ASSERT_EQ(exec("sh -c 'echo made inside > /tmp/inside'").status, 0);
  ASSERT_EQ(cp("c1:/tmp/inside " + host("inside")).status, 0);
  EXPECT_EQ(slurp(host("inside")), "made inside\n");
}

TEST_F(CpTest, DirectoriesInAndOut) {
  ASSERT_EQ(sh("mkdir -p " + host("d/e") + " && echo one > " + host("d/one") + " && echo deep > " +
               host("d/e/deep")).status, 0);
  // Into an existing directory: as d.
  ASSERT_EQ(cp(host("d") + " c1:/root").status, 0);
  EXPECT_EQ(slurp(rootfs("/root/d/e/deep")), "deep\n");
  // To a missing destination: created, with d's contents.
  ASSERT_EQ(cp(host("d") + " c1:/home/newd").status, 0);
  EXPECT_EQ(slurp(rootfs("/home/newd/one")), "one\n");
  EXPECT_FALSE(std::ifstream(rootfs("/home/newd/d/one")).good());
  // SRC/. : the contents into an existing directory.
  ::mkdir(rootfs("/home/contents").c_str(), 0755);
  ASSERT_EQ(cp(host("d/.") + " c1:/home/contents").status, 0);
  EXPECT_EQ(slurp(rootfs("/home/contents/one")), "one\n");
  EXPECT_EQ(slurp(rootfs("/home/contents/e/deep")), "deep\n");
  // And out again, the same three ways.
  ::mkdir(host("out").c_str(), 0755);
  ASSERT_EQ(cp("c1:/root/d " + host("out")).status, 0);
  EXPECT_EQ(slurp(host("out/d/e/deep")), "deep\n");
  ASSERT_EQ(cp("c1:/root/d " + host("created")).status, 0);
  EXPECT_EQ(slurp(host("created/one")), "one\n");
  ::mkdir(host("flat").c_str(), 0755);
  ASSERT_EQ(cp("c1:/root/d/. " + host("flat")).status, 0);
  EXPECT_EQ(slurp(host("flat/one")), "one\n");
  EXPECT_FALSE(std::ifstream(host("flat/d/one")).good());
}

TEST_F(CpTest, TarStreamsBothWays) {
  ASSERT_EQ(sh("mkdir -p " + host("s/x") + " && echo streamed > " + host("s/x/f")).status, 0);
  Shell in = sh("tar cf - -C " + host("s") + " x | " + runvm_ + " cp - c1:/root");
  ASSERT_EQ(in.status, 0) << in.out;
  EXPECT_EQ(slurp(rootfs("/root/x/f")), "streamed\n");
  // "-" in needs a directory.
  Shell not_dir = sh("tar cf - -C " + host("s") + " x | " + runvm_ + " cp - c1:/root/x/f");
  EXPECT_EQ(not_dir.status, 1);
  EXPECT_NE(not_dir.out.find("destination c1:/root/x/f must be a directory"), std::string::npos) << not_dir.out;
  // Out: a tar stream named after the source.
  Shell listing = sh(runvm_ + " cp c1:/root/x - | tar tf -");
  EXPECT_EQ(listing.status, 0) << listing.out;
  EXPECT_EQ(listing.out, "x/\nx/f\n");
  ::mkdir(host("unpacked").c_str(), 0755);
  ASSERT_EQ(sh(runvm_ + " cp c1:/root/x - | tar xf - -C " + host("unpacked")).status, 0);
  EXPECT_EQ(slurp(host("unpacked/x/f")), "streamed\n");
}

// Every kind of entry, in with -a and out with -a, compared entry by
// entry: type, mode (setuid, setgid, sticky), owner, mtime (ns), content
// hash, symlink target, hardlinks, user xattrs.
TEST_F(CpTest, TreeRoundTripWithArchiveKeepsEverything) {
  std::string tree = make_tree("tree");
  auto original = describe_tree(tree);
  ASSERT_GE(original.size(), 16u);
  Shell in = cp("-a " + tree + " c1:/root/rt");
  ASSERT_EQ(in.status, 0) << in.out;
  auto inside = describe_tree(rootfs("/root/rt"));
  EXPECT_EQ(inside, original);
  ::mkdir(host("back").c_str(), 0755);
  Shell out = cp("-a c1:/root/rt " + host("back"));
  ASSERT_EQ(out.status, 0) << out.out;
  EXPECT_EQ(describe_tree(host("back/rt")), original);
  // The guest agrees on what it holds (not just the host's view).
  EXPECT_EQ(exec("stat -c '%a %u:%g %F' /root/rt/setuid /root/rt/sticky /root/rt/fifo").out,
            "4755 1234:5678 regular file\n1777 0:0 directory\n640 0:0 fifo\n");
}

// Without -a, the receiving side's user owns the copy (root in the
// container, the caller on the host) and set-id bits, which would now be
// root's, are dropped; modes and mtimes are kept.
TEST_F(CpTest, WithoutArchiveTheReceiverOwnsTheCopy) {
  std::string tree = make_tree("tree");
  ASSERT_EQ(cp(tree + " c1:/root/plain-copy").status, 0);
  struct stat st;
  ASSERT_EQ(::stat(rootfs("/root/plain-copy/setuid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  ASSERT_EQ(::lstat(rootfs("/root/plain-copy/sticky").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  // Out: files the container's user 1234 owns come out as the caller's.
  ASSERT_EQ(exec("sh -c 'echo x > /root/owned && busybox chown 1234:5678 /root/owned'").status, 0);
  ASSERT_EQ(cp("c1:/root/owned " + host("owned")).status, 0);
  ASSERT_EQ(::stat(host("owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());
  ASSERT_EQ(cp("-a c1:/root/owned " + host("owned-a")).status, 0);
  ASSERT_EQ(::stat(host("owned-a").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
}

// A device node can go into the container (it names a guest device there)
// but not out of it: on the host it would open the host's device.
TEST_F(CpTest, DeviceNodesGoInButNotOut) {
  ::mkdir(host("dev").c_str(), 0755);
  ASSERT_EQ(::mknod(host("dev/null2").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(cp("-a " + host("dev") + " c1:/root").status, 0);
  struct stat st;
  ASSERT_EQ(::lstat(rootfs("/root/dev/null2").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  Shell out = cp("c1:/root/dev " + host("dev-back"));
  EXPECT_EQ(out.status, 1);
  EXPECT_NE(out.out.find("null2"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("refusing to create a device node"), std::string::npos) << out.out;
}

// 64 MiB each way: the content arrives whole, and runvm cp (and the
// monitor relaying it) hold a small fraction of it in memory.
TEST_F(CpTest, SixtyFourMebibytesBothWaysInBoundedMemory) {
  std::string big = host("big.bin");
  {
    std::string data(64 << 20, '\0');
    std::mt19937_64 rng(64);
    for (size_t i = 0; i + 8 <= data.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(&data[i], &v, 8);
    }
    write(big, data);
  }
  std::string sum = md5(big);
  auto t0 = Clock::now();
  Shell in = sh("/usr/bin/time -v " + runvm_ + " cp " + big + " c1:/root/big.bin");
  double in_s = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(in.status, 0) << in.out;
  EXPECT_EQ(md5(rootfs("/root/big.bin")), sum);
  t0 = Clock::now();
  Shell out = sh("/usr/bin/time -v " + runvm_ + " cp c1:/root/big.bin " + host("big.back"));
  double out_s = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(out.status, 0) << out.out;
  EXPECT_EQ(md5(host("big.back")), sum);
  // Through the guest's own tmpfs too (nothing of it on the host's disk).
  ASSERT_EQ(cp(big + " c1:/tmp/big.bin").status, 0);
  ASSERT_EQ(cp("c1:/tmp/big.bin " + host("big.tmpfs")).status, 0);
  EXPECT_EQ(md5(host("big.tmpfs")), sum);
  long rss_in = max_rss_kib(in.out), rss_out = max_rss_kib(out.out);
  std::cout << "64 MiB in: " << in_s << " s (" << 64 / in_s << " MiB/s), max RSS " << rss_in
            << " KiB; out: " << out_s << " s (" << 64 / out_s << " MiB/s), max RSS " << rss_out
            << " KiB\n";
  RecordProperty("copy_in_mib_s", std::to_string(64 / in_s));
  RecordProperty("copy_out_mib_s", std::to_string(64 / out_s));
  EXPECT_GT(rss_in, 0) << in.out;
  EXPECT_LT(rss_in, 20 * 1024) << "runvm cp held the payload";
  EXPECT_LT(rss_out, 20 * 1024) << "runvm cp held the payload";
  long monitor_peak = status_field_kib(monitor_pid(), "VmHWM");
  EXPECT_GT(monitor_peak, 0);
  EXPECT_LT(monitor_peak, 32 * 1024) << "the monitor held the payload";
}

// On a terminal a long copy shows its progress and a final line; -q and a
// non-terminal stderr show nothing (FileInAndOut).
TEST_F(CpTest, ProgressOnATerminalOnly) {
  std::string big = host("p.bin");
  ASSERT_EQ(sh("head -c 48M /dev/urandom > " + big).status, 0);
  auto t0 = Clock::now();
  Shell shown = sh("script -qec '" + runvm_ + " cp " + big + " c1:/root/p.bin' /dev/null");
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(shown.status, 0) << shown.out;
  EXPECT_NE(shown.out.find("Successfully copied 48.0 MiB to c1:/root/p.bin"), std::string::npos) << shown.out;
  if (seconds > 1.5) {
    EXPECT_NE(shown.out.find("Copying to c1:/root/p.bin: "), std::string::npos) << shown.out;
  }
  Shell quiet = sh("script -qec '" + runvm_ + " cp -q " + big + " c1:/root/p.bin' /dev/null");
  ASSERT_EQ(quiet.status, 0) << quiet.out;
  EXPECT_EQ(quiet.out, "");
}

TEST_F(CpTest, ErrorsSayWhatIsWrong) {
  write(host("f"), "f\n");
  auto expect_error = [&](const std::string& args, const std::string& text) {
    Shell r = cp(args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_NE(r.out.find(text), std::string::npos) << args << ": " << r.out;
  };
  expect_error("c1:/nope " + host("x"), "runvm cp failed: c1:/nope: no such file or directory");
  expect_error(host("nope") + " c1:/root", host("nope") + ": no such file or directory");
  expect_error(host("f") + " c1:/nope/x", "destination c1:/nope/x: parent directory /nope does not exist");
  expect_error("c1:/etc/passwd " + host("nope/x"), "parent directory " + host("nope") + " does not exist");
  expect_error(host("f") + " c1:/root/newdir/", "destination directory c1:/root/newdir/ does not exist");
  ::mkdir(host("dir").c_str(), 0755);
  expect_error(host("dir") + " c1:/etc/passwd", "cannot copy directory");
  expect_error(host("f") + " " + host("g"), "must specify at least one container source");
  expect_error("c1:/a c2:/b", "copying between containers is not supported");
  expect_error(host("f") + " nosuch:/root", "container does not exist");
  EXPECT_FALSE(std::ifstream(host("x")).good());
  // Created but not started, and stopped.
  ASSERT_EQ(sh(runvm_ + " create --bundle " + bundle_.path() + " c2 >/dev/null 2>&1 </dev/null").status, 0);
  expect_error(host("f") + " c2:/root", "container c2 is not running");
  ASSERT_EQ(sh(runvm_ + " kill c1 KILL").status, 0);
  for (int i = 0; i < 100 && sh(runvm_ + " state c1").out.find("stopped") == std::string::npos; ++i)
    std::this_thread::sleep_for(50ms);
  expect_error(host("f") + " c1:/root", "container c1 is not running");
  expect_error("c1:/etc/passwd " + host("x"), "container c1 is not running");
}

// Paused: the VM is frozen, so the copy is made on the host's view of the
// rootfs (the guest's own mounts, like its /tmp, are not in it); the
// container stays paused and sees the copy once resumed.
TEST_F(CpTest, PausedContainerIsCopiedOnTheHostView) {
  ASSERT_EQ(exec("sh -c 'echo in tmpfs > /tmp/guest-only'").status, 0);
  write(host("p.txt"), "while paused\n");
  ASSERT_EQ(sh(runvm_ + " pause c1").status, 0);
  Shell in = cp(host("p.txt") + " c1:/root/");
  ASSERT_EQ(in.status, 0) << in.out;
  EXPECT_EQ(slurp(rootfs("/root/p.txt")), "while paused\n");
  ASSERT_EQ(cp("c1:/etc/passwd " + host("passwd")).status, 0);
  EXPECT_EQ(slurp(host("passwd")), slurp(rootfs("/etc/passwd")));
  Shell guest_only = cp("c1:/tmp/guest-only " + host("g"));
  EXPECT_EQ(guest_only.status, 1);
  EXPECT_NE(guest_only.out.find("c1:/tmp/guest-only: no such file or directory"), std::string::npos)
      << guest_only.out;
  std::string tree = make_tree("tree");
  ASSERT_EQ(cp("-a " + tree + " c1:/root/prt").status, 0);
  EXPECT_EQ(describe_tree(rootfs("/root/prt")), describe_tree(tree));
  EXPECT_NE(sh(runvm_ + " state c1").out.find("\"paused\""), std::string::npos);
  // A paused container's monitor waits; it does not spin (it once did: a
  // periodic check that stayed due while paused made poll return at once).
  pid_t monitor = monitor_pid();
  long before = cpu_ticks(monitor);
  std::this_thread::sleep_for(2s);
  EXPECT_LT(cpu_ticks(monitor) - before, ::sysconf(_SC_CLK_TCK) / 2) << "the monitor used CPU while paused";
  ASSERT_EQ(sh(runvm_ + " resume c1").status, 0);
  EXPECT_EQ(exec("cat /root/p.txt").out, "while paused\n");
}

// Copies that succeed, fail on either side or are cut short leave no
// process in the container, no descriptor in the monitor and no runvm cp.
TEST_F(CpTest, NothingLeftBehind) {
  write(host("f"), "f\n");
  ASSERT_EQ(cp(host("f") + " c1:/root/f").status, 0);  // the first copy's one-time costs
  size_t fds_before = monitor_fds();
  ASSERT_EQ(sh("head -c 8M /dev/urandom > " + host("eight")).status, 0);
  ASSERT_EQ(cp(host("eight") + " c1:/root/eight").status, 0);
  ASSERT_EQ(cp("c1:/root/eight " + host("eight.back")).status, 0);
  EXPECT_EQ(cp("c1:/nope " + host("x")).status, 1);
  EXPECT_EQ(sh("echo garbage | " + runvm_ + " cp - c1:/root").status, 1);
  // The reader goes away after 100 KB: the guest's side is stopped.
  auto t0 = Clock::now();
  Shell cut = sh(runvm_ + " cp c1:/root/eight - | head -c 100000 > /dev/null");
  EXPECT_LT(Clock::now() - t0, 30s);
  (void)cut;
  // The host's side fails (a non-empty directory in the way).
  ASSERT_EQ(sh("mkdir -p " + host("blocked/eight/x")).status, 0);
  Shell blocked = cp("c1:/root/eight " + host("blocked"));
  EXPECT_EQ(blocked.status, 1);
  EXPECT_NE(blocked.out.find("cannot overwrite directory"), std::string::npos) << blocked.out;
  EXPECT_EQ(monitor_fds(), fds_before);
  Shell ps = sh(runvm_ + " ps c1");
  EXPECT_EQ(std::count(ps.out.begin(), ps.out.end(), '\n'), 2) << ps.out;  // header and sleep
  std::string cp_cmdline = root_.path() + std::string(1, '\0') + "cp" + std::string(1, '\0');
  EXPECT_TRUE(processes_mentioning(cp_cmdline).empty()) << "a runvm cp left running";
  // The container is still fine.
  ASSERT_EQ(cp(host("f") + " c1:/root/f2").status, 0);
  EXPECT_EQ(slurp(rootfs("/root/f2")), "f\n");
}


// virtiofsd keeps a descriptor open for every file the guest has cached, so
// its descriptor limit used to cap how many files a copy (or any program in
// the container) could touch: the monitor makes the guest let go of cached
// files as the count nears the limit. c2 runs under a 2048-descriptor limit
// (its virtiofsd's too), and 3000 files go in and out through the guest
// (exec tar: runvm cp into plain rootfs would be made on the host's view).
TEST_F(CpTest, ManyMoreFilesThanVirtiofsdHasDescriptors) {
  std::string tree = host("many");
  ASSERT_EQ(sh("mkdir -p " + tree + " && cd " + tree + " && for i in $(seq 3000); do echo $i > f$i; done")
                .status, 0);
  Shell created = create_and_start("prlimit --nofile=2048:2048 " + runvm_, bundle_.path(), "c2",
                                   host("c2.out"));
  ASSERT_EQ(created.status, 0) << created.out;
  Shell in = sh("tar cf - -C " + host("") + " many | " + runvm_ + " exec c2 tar xf - -C /home");
  ASSERT_EQ(in.status, 0) << in.out;
  EXPECT_EQ(count_entries(rootfs("/home/many")), 3000u);
  EXPECT_EQ(slurp(rootfs("/home/many/f2999")), "2999\n");
  ::mkdir(host("back").c_str(), 0755);
  Shell out = sh(runvm_ + " exec c2 tar cf - -C /home many | tar xf - -C " + host("back"));
  ASSERT_EQ(out.status, 0) << out.out;
  EXPECT_EQ(count_entries(host("back/many")), 3000u);
  EXPECT_EQ(sh("diff -r " + tree + " " + host("back/many")).status, 0);
}

// A running container's path that the guest says is plain rootfs (on the
// rootfs share, nothing mounted at or below it) is copied on the host's view
// of it; any other goes through the guest. What the guest looked up before
// (a miss it caches, a file it read) does not hide the copy from what runs
// next.
TEST_F(CpTest, PlainRootfsPathsAreCopiedOnTheHostAndSeenAtOnce) {
  auto on_root_share = [&](const std::string& path, bool follow) {
    auto r = runtime::ask_monitor(root_.path() + "/c1", control::StatPath{path, follow, true});
    EXPECT_TRUE(r) << path;
    return r && r->stat_path && r->stat_path->root_share.value_or(false);
  };
  ASSERT_EQ(::symlink("/tmp", rootfs("/root/to-tmp").c_str()), 0);
  EXPECT_TRUE(on_root_share("/root", true));
  EXPECT_TRUE(on_root_share("/bin/busybox", false));
  EXPECT_FALSE(on_root_share("/", true)) << "/proc, /dev and /tmp are mounted below it";
  EXPECT_FALSE(on_root_share("/tmp", true)) << "the guest's tmpfs";
  EXPECT_FALSE(on_root_share("/proc/self", true));
  EXPECT_FALSE(on_root_share("/root/to-tmp", true)) << "a symlink to the tmpfs, followed";
  EXPECT_FALSE(on_root_share("/root/to-tmp", false)) << "a symlink is no directory to unpack into";
  EXPECT_FALSE(on_root_share("/nope", true));

  EXPECT_NE(exec("cat /root/fresh.txt").status, 0);  // the guest now caches the miss
  write(host("fresh.txt"), "fresh\n");
  ASSERT_EQ(cp(host("fresh.txt") + " c1:/root/").status, 0);
  EXPECT_EQ(exec("cat /root/fresh.txt").out, "fresh\n");
  write(host("fresh.txt"), "replaced, and longer\n");
  ASSERT_EQ(cp(host("fresh.txt") + " c1:/root/").status, 0);
  EXPECT_EQ(exec("cat /root/fresh.txt").out, "replaced, and longer\n");
  // Made in the guest, read back on the host's view.
  ASSERT_EQ(exec("sh -c 'echo from-guest > /root/made'").status, 0);
  ASSERT_EQ(cp("c1:/root/made " + host("made")).status, 0);
  EXPECT_EQ(slurp(host("made")), "from-guest\n");
}

// As docker cp: a copy never replaces a directory with a file or a file
// with a directory, in either direction and on either of runvm cp's paths
// (plain rootfs on the host's view, the guest's tmpfs through the agent);
// what was there stays.
TEST_F(CpTest, ADirectoryAndAFileNeverReplaceEachOther) {
  ASSERT_EQ(::mkdir(rootfs("/root/adir").c_str(), 0755), 0);
  write(host("adir"), "a file\n");
  Shell file_over_dir = cp(host("adir") + " c1:/root/");
  EXPECT_EQ(file_over_dir.status, 1);
  EXPECT_NE(file_over_dir.out.find("cannot overwrite directory \"root/adir\" with non-directory"), std::string::npos)
      << file_over_dir.out;
  struct stat st;
  ASSERT_EQ(::stat(rootfs("/root/adir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  write(rootfs("/root/afile"), "stays\n");
  ASSERT_EQ(::mkdir(host("afile").c_str(), 0755), 0);
  Shell dir_over_file = cp(host("afile") + " c1:/root/");
  EXPECT_EQ(dir_over_file.status, 1);
  EXPECT_NE(dir_over_file.out.find("cannot overwrite non-directory \"root/afile\" with directory"), std::string::npos)
      << dir_over_file.out;
  EXPECT_EQ(slurp(rootfs("/root/afile")), "stays\n");

  ASSERT_EQ(exec("mkdir /tmp/gdir").status, 0);
  write(host("gdir"), "a file\n");
  Shell through_guest = cp(host("gdir") + " c1:/tmp/");
  EXPECT_EQ(through_guest.status, 1);
  EXPECT_NE(through_guest.out.find("cannot overwrite directory"), std::string::npos) << through_guest.out;
  EXPECT_EQ(exec("test -d /tmp/gdir").status, 0);

  ::mkdir(host("out").c_str(), 0755);
  ASSERT_EQ(::mkdir(host("out/afile").c_str(), 0755), 0);
  Shell out = cp("c1:/root/afile " + host("out/"));
  EXPECT_EQ(out.status, 1);
  EXPECT_NE(out.out.find("cannot overwrite directory"), std::string::npos) << out.out;
  ASSERT_EQ(::stat(host("out/afile").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}
}  // namespace
}  // namespace runvm::testing
