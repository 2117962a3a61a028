// The container's mounts as runc makes them (issue 17): destinations
// resolved inside the container's root whatever symlinks the image holds,
// and mount options (propagation, read-only, recursive attributes) applied
// as runc applies them, each read back from inside the container.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool is_dir(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The /proc/self/mountinfo line of the mount at `point` ("" if none), from
// text that holds the file.
std::string mountinfo_line(const std::string& text, const std::string& point) {
  std::istringstream lines(text);
  std::string found;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (mount_point == point) found = line;  // the last one is on top
  }
  return found;
}

class MountsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    shell(runvm_ + " delete --force c1");
    expect_no_container_left(root_.path(), bundle_);
  }

  RunResult run(const std::string& script) {
    bundle_.set_args({"sh", "-c", script});
    bundle_.write_config();
    return run_runvm({"--root", root_.path(), "run", "--bundle", bundle_.path(), "c1"});
  }

  void add_mount(const std::string& destination, const std::string& type, const std::string& source,
                 const std::vector<std::string>& options) {
    bundle_.config()["mounts"].push_back(
        {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}});
  }

  void image_link(const std::string& target, const std::string& name) {
    ASSERT_EQ(::symlink(target.c_str(), (bundle_.rootfs() + "/" + name).c_str()), 0) << name;
  }

  std::string out_path() const { return scratch_.path() + "/c.out"; }

  bool wait_for_output(const std::string& text, std::chrono::seconds limit = 90s) {
    return wait_until([&] { return contains(slurp(out_path()), text); }, limit);
  }

  TempDir root_, scratch_;
  Bundle bundle_;
  std::string runvm_ = runvm_binary() + " --root " + root_.path();
};

// ---------------------------------------------------------------------------
// Item 1: destinations resolve inside the root.

// The attacker's image: /conf -> /etc (absolute), /cfg -> /real/conf
// (dangling), /up -> ../../../../etc (climbing). Mounts, a bind from the
// host and the cwd go through them. As runc, each lands where the link
// leads *inside* the root: before, the tmpfs and the bind went onto the
// guest's own /etc (the agent's files), /cfg/stack failed "No such file or
// directory" and the cwd was made in the guest, not in the container.
TEST_F(MountsTest, DestinationsThroughTheImagesSymlinksLandInsideTheRoot) {
  std::ofstream(bundle_.rootfs() + "/etc/marker") << "rootfs-etc\n";
  ASSERT_NO_FATAL_FAILURE(image_link("/etc", "conf"));
  ASSERT_NO_FATAL_FAILURE(image_link("/real/conf", "cfg"));
  ASSERT_NO_FATAL_FAILURE(image_link("../../../../../etc", "up"));
  TempDir host;
  std::ofstream(host.path() + "/from-host") << "host file\n";
  add_mount("/conf/stack", "tmpfs", "tmpfs", {"nosuid"});
  add_mount("/cfg/stack", "tmpfs", "tmpfs", {});
  add_mount("/up/vol", "bind", host.path(), {"rbind"});
  bundle_.config()["process"]["cwd"] = "/conf/work";
  bundle_.set_args({"sh", "-c",
                    "echo pwd=$(pwd)\n"
                    "echo etc_stack=$(grep -c ' /etc/stack tmpfs ' /proc/mounts)\n"
                    "echo real_stack=$(grep -c ' /real/conf/stack tmpfs ' /proc/mounts)\n"
                    "echo vol=$(cat /etc/vol/from-host)\n"
                    "echo marker=$(cat /etc/marker)\n"
                    "echo ready\nsleep 600"});
  bundle_.write_config();
  ShellResult created = create_and_start(runvm_, bundle_.path(), "c1", out_path());
  ASSERT_EQ(created.status, 0) << created.out << slurp(out_path());
  ASSERT_TRUE(wait_for_output("ready")) << slurp(out_path());
  std::string out = slurp(out_path());
  EXPECT_EQ(value_of(out, "pwd"), "/etc/work") << "the cwd, made through the link:\n" << out;
  EXPECT_EQ(value_of(out, "etc_stack"), "1") << "the tmpfs is the container's /etc/stack:\n" << out;
  EXPECT_EQ(value_of(out, "real_stack"), "1") << "made through the dangling link:\n" << out;
  EXPECT_EQ(value_of(out, "vol"), "host file") << out;
  EXPECT_EQ(value_of(out, "marker"), "rootfs-etc") << out;
  // Mount points and the cwd were made in the rootfs, where the links lead.
  for (const char* made : {"/etc/stack", "/real/conf/stack", "/etc/vol", "/etc/work"})
    EXPECT_TRUE(is_dir(bundle_.rootfs() + made)) << made;
  // The agent is unharmed: an exec still runs, and sees the rootfs's /etc.
  ShellResult e = shell(runvm_ + " exec c1 sh -c 'cat /etc/marker; grep -c \" /etc/stack \" /proc/mounts'");
  EXPECT_EQ(e.status, 0) << e.out;
  EXPECT_EQ(e.out, "rootfs-etc\n1\n");
}

// runc 1.1 refuses to mount procfs over a symlink (CVE-2019-19921's
// lesson): following it would put the kernel's files elsewhere (before:
// on the guest's /etc) and leave the container without /proc.
TEST_F(MountsTest, ProcThatIsASymlinkIsRefusedAsRuncRefusesIt) {
  ASSERT_EQ(::rmdir((bundle_.rootfs() + "/proc").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(image_link("/etc", "proc"));
  RunResult r = run("echo ran; ls /etc");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_FALSE(contains(r.out, "ran")) << r.out;
  EXPECT_TRUE(contains(r.err, "filesystem \"proc\" must be mounted on ordinary directory")) << r.err;
}

// runc's no_pivot.bats: a user namespace inside the container may mount a
// procfs only where a fully visible one is already in its mount namespace.
// The guest's bare /proc stayed there, hidden under the moved root, so any
// container could mount an unmasked /proc (before: "MOUNTED"). runvm always
// enters the root as runc's --no-pivot does, so both ways are tried.
TEST_F(MountsTest, AUserNamespaceInsideCannotMountABareProcWithOrWithoutNoPivot) {
  for (const char* k : {"bounding", "permitted", "effective"})
    bundle_.config()["process"]["capabilities"][k].push_back("CAP_SETFCAP");
  // runvm spec's masks: the container's own /proc is not fully visible.
  bundle_.config()["linux"]["maskedPaths"] = {"/proc/kcore", "/proc/keys", "/proc/timer_list"};
  bundle_.config()["linux"]["readonlyPaths"] = {"/proc/sys", "/proc/sysrq-trigger"};
  ASSERT_EQ(::mkdir((bundle_.rootfs() + "/mnt").c_str(), 0755), 0);
  bundle_.set_args({"sh", "-c",
                    "unshare -mrpf sh -c 'id -u; mount -t tmpfs none /mnt && echo TMPFS; "
                    "mount -t proc none /proc && echo MOUNTED'; echo rc=$?"});
  bundle_.write_config();
  for (bool no_pivot : {false, true}) {
    std::vector<std::string> args = {"--root", root_.path(), "run", "--bundle", bundle_.path()};
    if (no_pivot) args.push_back("--no-pivot");
    args.push_back("c1");
    RunResult r = run_runvm(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // The user namespace works and may mount a tmpfs: only proc is refused.
    EXPECT_EQ(r.out, "0\nTMPFS\nrc=1\n") << "no-pivot " << no_pivot << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "permission denied")) << r.err;
  }
}

// ---------------------------------------------------------------------------
// Item 2: options as runc applies them.

TEST_F(MountsTest, PropagationReadOnlyAndFlagsAreAppliedAsRuncAppliesThem) {
  bundle_.config()["linux"]["rootfsPropagation"] = "shared";
  // /dev read-only with devpts and a tmpfs inside it: runc mounts it
  // writable and remounts it read-only at the end.
  bundle_.config()["mounts"][1]["options"].push_back("ro");
  add_mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666"});
  add_mount("/dev/shm", "tmpfs", "shm", {"nosuid", "nodev", "size=1m"});
  add_mount("/t", "tmpfs", "tmpfs",
            {"shared", "ro", "dirsync", "nodiratime", "silent", "lazytime", "mode=755"});
  add_mount("/u", "tmpfs", "tmpfs", {"unbindable", "rro", "size=1m"});
  TempDir host;
  add_mount("/b", "bind", host.path(), {"rbind", "rshared", "nosuid"});
  RunResult r = run(
      "cat /proc/self/mountinfo; echo ---\n"
      "touch /t/x 2>/dev/null; echo t_write=$?\n"
      "touch /u/x 2>/dev/null; echo u_write=$?\n"
      "touch /dev/x 2>/dev/null; echo dev_write=$?\n"
      "touch /dev/shm/x; echo shm_write=$?\n"
      "echo hi > /dev/null; echo null=$?\n"
      "touch /b/x; echo b_write=$?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string info = r.out.substr(0, r.out.find("---"));
  std::string root = mountinfo_line(info, "/");
  EXPECT_TRUE(contains(root, " shared:")) << "rootfsPropagation shared:\n" << info;
  std::string t = mountinfo_line(info, "/t");
  EXPECT_TRUE(contains(t, " ro,") && contains(t, "nodiratime")) << t;
  EXPECT_TRUE(contains(t, " shared:")) << t;
  EXPECT_TRUE(contains(t, "dirsync") && contains(t, "lazytime")) << "superblock flags:\n" << t;
  EXPECT_FALSE(contains(t, "silent")) << t;
  EXPECT_EQ(value_of(r.out, "t_write"), "1") << r.out;
  std::string u = mountinfo_line(info, "/u");
  EXPECT_TRUE(contains(u, " ro,") && contains(u, " unbindable")) << u;
  EXPECT_EQ(value_of(r.out, "u_write"), "1") << r.out;
  std::string dev = mountinfo_line(info, "/dev");
  EXPECT_TRUE(contains(dev, " ro,nosuid")) << dev;
  EXPECT_FALSE(mountinfo_line(info, "/dev/pts").empty()) << info;
  EXPECT_FALSE(mountinfo_line(info, "/dev/shm").empty()) << info;
  EXPECT_EQ(value_of(r.out, "dev_write"), "1") << r.out;
  EXPECT_EQ(value_of(r.out, "shm_write"), "0") << r.out;
  EXPECT_EQ(value_of(r.out, "null"), "0") << "the device nodes were made before /dev went read-only";
  std::string b = mountinfo_line(info, "/b");
  EXPECT_TRUE(contains(b, " rw,nosuid") && contains(b, " shared:")) << b;
  EXPECT_EQ(value_of(r.out, "b_write"), "0") << r.out;
}

// `rbind,rro` and `rbind,ro` binds are read-only in the container (rro by
// mount_setattr with AT_RECURSIVE) and on the host. A tmpcopyup tmpfs
// starts with what it covers (before, "tmpcopyup" went to tmpfs: EINVAL).
TEST_F(MountsTest, RecursiveReadOnlyBindIsReadOnlyAndTmpcopyupCopies) {
  TempDir host;
  add_mount("/rro", "bind", host.path(), {"rbind", "rro"});
  add_mount("/ro", "bind", host.path(), {"rbind", "ro"});
  add_mount("/etc", "tmpfs", "tmpfs", {"tmpcopyup", "mode=755"});
  RunResult r = run("grep -E ' /rro | /ro ' /proc/self/mountinfo; echo ---\n"
                    "touch /rro/x 2>/dev/null; echo rro_write=$?\n"
                    "touch /ro/x 2>/dev/null; echo ro_write=$?\n"
                    "echo etc=$(grep -c ' /etc tmpfs ' /proc/mounts) passwd=$(head -c 4 /etc/passwd)\n"
                    "echo new > /etc/new\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string info = r.out.substr(0, r.out.find("---"));
  EXPECT_TRUE(contains(mountinfo_line(info, "/rro"), " ro,")) << info;
  EXPECT_TRUE(contains(mountinfo_line(info, "/ro"), " ro,")) << info;
  EXPECT_EQ(value_of(r.out, "rro_write"), "1") << r.out;
  EXPECT_EQ(value_of(r.out, "ro_write"), "1") << r.out;
  EXPECT_NE(::access((host.path() + "/x").c_str(), F_OK), 0) << "written on the host";
  EXPECT_TRUE(contains(r.out, "etc=1 passwd=root")) << r.out;
  EXPECT_NE(::access((bundle_.rootfs() + "/etc/new").c_str(), F_OK), 0) << "the tmpfs took the write";
}

// What runc refuses, refused at create with the field or mount named,
// before anything exists.
TEST_F(MountsTest, MountsRuncCannotMakeAreRefusedAtCreate) {
  bundle_.config()["mounts"].push_back({{"destination", "/nothing"}, {"options", {"ro"}}});
  RunResult r = run("true");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "mounts[3]: the mount at /nothing has neither a type nor the bind option"))
      << r.err;
  bundle_.config()["mounts"].erase(3);
  bundle_.config()["linux"]["rootfsPropagation"] = "sideways";
  r = run("true");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "linux.rootfsPropagation: unsupported value \"sideways\"")) << r.err;
}

}  // namespace
}  // namespace runvm::testing
