// The container confined inside the VM as runc confines it on a host
// (issue 15): linux.maskedPaths and linux.readonlyPaths, and linux.seccomp.
// Each test acts as an attacker in the container would, in init and in an
// exec, and checks what the attack achieved.
#include <gtest/gtest.h>
#include <seccomp.h>
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

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class ConfinementTest : public ::testing::Test {
 protected:
  void TearDown() override {
    shell(runvm_ + " delete --force c1");
    expect_no_container_left(root_.path(), bundle_);
  }

  // The config.json `runvm spec` writes (runc's default: maskedPaths,
  // readonlyPaths, runc's three capabilities, noNewPrivileges, a read-only
  // root), for the harness's busybox rootfs, without a terminal.
  void use_default_spec() {
    ShellResult spec = shell(runvm_binary() + " spec --bundle " + scratch_.path());
    ASSERT_EQ(spec.status, 0) << spec.out;
    json config = json::parse(slurp(scratch_.path() + "/config.json"), nullptr, false);
    ASSERT_TRUE(config.is_object());
    ASSERT_TRUE(config["linux"].contains("maskedPaths")) << "runvm spec writes runc's lists";
    config["process"]["terminal"] = false;
    bundle_.config() = config;
  }

  // create + start of c1 running `script`, its output to c.out.
  void start(const std::string& script) {
    bundle_.set_args({"sh", "-c", script});
    bundle_.write_config();
    ShellResult created = create_and_start(runvm_, bundle_.path(), "c1", out_path());
    ASSERT_EQ(created.status, 0) << created.out << slurp(out_path());
  }

  std::string out_path() const { return scratch_.path() + "/c.out"; }

  bool wait_for_output(const std::string& text, std::chrono::seconds limit = 90s) {
    return wait_until([&] { return contains(slurp(out_path()), text); }, limit);
  }

  // `runvm exec [FLAGS] c1 ARGS`.
  ShellResult exec(const std::string& args, const std::string& flags = "") {
    return shell(runvm_ + " exec " + flags + " c1 " + args);
  }

  TempDir root_, scratch_;
  Bundle bundle_;
  std::string runvm_ = runvm_binary() + " --root " + root_.path();
};

// ---------------------------------------------------------------------------
// maskedPaths and readonlyPaths

// What an attacker with runc's default capabilities (no CAP_SYS_ADMIN) and
// uid 0 tries. The core_pattern escape: a crash runs the pattern's program
// as root in the guest's initial namespaces, where the root share is
// mounted at /container, so a successful escape leaves a file in the rootfs
// that the host sees. `echo 1` to sysrq-trigger only sets the console log
// level (harmless if it got through).
std::string attack_script(const std::string& who) {
  return "m=$( (echo 1 > /proc/sysrq-trigger) 2>&1 ); echo \"sysrq=$?:$m\"\n"
         "m=$( (echo '|/container/bin/busybox touch /container/escaped-" + who +
         "' > /proc/sys/kernel/core_pattern) 2>&1 ); echo \"core_pattern=$?:$m\"\n"
         "echo \"pattern_now=$(cat /proc/sys/kernel/core_pattern)\"\n"
         "segfault; echo crashed=$?\n"
         "i=0; while [ $i -lt 20 ] && [ ! -e /escaped-" + who + " ]; do sleep 0.1; i=$((i+1)); done\n"
         "[ -e /escaped-" + who + " ] && echo escaped=yes || echo escaped=no\n"
         "[ -e /proc/kcore ] && echo kcore=present || echo kcore=absent\n"
         "cat /proc/kcore >/dev/null 2>&1; echo kcore_status=$?\n"
         "echo kcore_bytes=$(cat /proc/kcore 2>/dev/null | wc -c)\n"
         "echo firmware_entries=$(ls -A /sys/firmware 2>/dev/null | wc -l)\n"
         "echo hostname_sysctl=$(cat /proc/sys/kernel/hostname)\n"
         "echo done-" + who + "\n";
}

void expect_attack_failed(const std::string& out, const std::string& host_file) {
  std::string sysrq = value_of(out, "sysrq");
  EXPECT_TRUE(sysrq.rfind("0:", 0) != 0 && contains(sysrq, "Read-only file system"))
      << "/proc/sysrq-trigger must be read-only:\n" << out;
  std::string pattern = value_of(out, "core_pattern");
  EXPECT_TRUE(pattern.rfind("0:", 0) != 0 && contains(pattern, "Read-only file system"))
      << "/proc/sys must be read-only:\n" << out;
  EXPECT_FALSE(contains(value_of(out, "pattern_now"), "|")) << out;
  EXPECT_EQ(value_of(out, "escaped"), "no") << out;
  EXPECT_NE(::access(host_file.c_str(), F_OK), 0) << "the core_pattern helper ran: " << host_file;
  // runvm's own guest kernel has no /proc/kcore (PROC_KCORE is off); where
  // the kernel has one, it is masked with /dev/null.
  if (value_of(out, "kcore") == "present")
    EXPECT_EQ(value_of(out, "kcore_status"), "0") << "/proc/kcore is masked with /dev/null:\n" << out;
  else
    EXPECT_EQ(value_of(out, "kcore"), "absent") << out;
  EXPECT_EQ(value_of(out, "kcore_bytes"), "0") << out;
  EXPECT_EQ(value_of(out, "firmware_entries"), "0") << "/sys/firmware is an empty tmpfs:\n" << out;
  EXPECT_EQ(value_of(out, "hostname_sysctl"), "runvm") << "/proc/sys stays readable:\n" << out;
}

TEST_F(ConfinementTest, DefaultSpecMasksAndReadOnlyPathsStopTheCorePatternEscapeInInitAndExec) {
  ASSERT_NO_FATAL_FAILURE(use_default_spec());
  ASSERT_NO_FATAL_FAILURE(start(attack_script("init") + "sleep 600"));
  ASSERT_TRUE(wait_for_output("done-init")) << slurp(out_path());
  std::string init_out = slurp(out_path());
  expect_attack_failed(init_out, bundle_.rootfs() + "/escaped-init");

  ShellResult e = exec("sh -c " + shell_quoted(attack_script("exec")));
  EXPECT_EQ(e.status, 0) << e.out;
  EXPECT_TRUE(contains(e.out, "done-exec")) << e.out;
  expect_attack_failed(e.out, bundle_.rootfs() + "/escaped-exec");
}

// A masked or read-only path that the container does not have is skipped,
// as runc does; one that is there is covered even in a spec of its own.
TEST_F(ConfinementTest, MaskedAndReadonlyPathsOfTheSpecAreAppliedAndMissingOnesSkipped) {
  bundle_.config()["linux"]["maskedPaths"] = {"/proc/nonexistent", "/etc/secret", "/home"};
  bundle_.config()["linux"]["readonlyPaths"] = {"/nonexistent/x", "/root"};
  std::ofstream(bundle_.rootfs() + "/etc/secret") << "s3cret\n";
  std::ofstream(bundle_.rootfs() + "/home/file") << "x\n";
  ASSERT_NO_FATAL_FAILURE(start(
      "echo secret=$(cat /etc/secret); echo home=$(ls -A /home | wc -l); "
      "touch /root/f 2>&1; echo root_touch=$?; touch /home/f 2>&1; echo home_touch=$?; "
      "echo done-init; sleep 600"));
  ASSERT_TRUE(wait_for_output("done-init")) << slurp(out_path());
  std::string out = slurp(out_path());
  EXPECT_EQ(value_of(out, "secret"), "") << out;
  EXPECT_EQ(value_of(out, "home"), "0") << out;
  EXPECT_EQ(value_of(out, "root_touch"), "1") << out;
  EXPECT_EQ(value_of(out, "home_touch"), "1") << out;
  EXPECT_TRUE(contains(out, "Read-only file system")) << out;
  ShellResult e = exec("cat /etc/secret");
  EXPECT_EQ(e.status, 0) << e.out;
  EXPECT_EQ(e.out, "") << "the exec sees the mask too";
}

// ---------------------------------------------------------------------------
// seccomp

json errno_rule(std::vector<std::string> names) {
  return {{"names", names}, {"action", "SCMP_ACT_ERRNO"}};
}

json allow_by_default(json syscalls) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
          {"syscalls", std::move(syscalls)}};
}

// runc's default capabilities without no_new_privs: the filter must be
// loaded while the process still has CAP_SYS_ADMIN, before they are dropped.
TEST_F(ConfinementTest, SeccompErrnoMakesMkdirFailInInitAndExec) {
  json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  bundle_.config()["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  bundle_.config()["linux"]["seccomp"] = allow_by_default({errno_rule({"mkdir", "mkdirat"})});
  ASSERT_NO_FATAL_FAILURE(start("mkdir /tmp/x 2>&1; echo mkdir=$?; touch /tmp/t; echo touch=$?; "
                                "echo done-init; sleep 600"));
  ASSERT_TRUE(wait_for_output("done-init")) << slurp(out_path());
  std::string out = slurp(out_path());
  EXPECT_EQ(value_of(out, "mkdir"), "1") << out;
  EXPECT_TRUE(contains(out, "Operation not permitted")) << out;
  EXPECT_EQ(value_of(out, "touch"), "0") << out;

  ShellResult e = exec("mkdir /tmp/y");
  EXPECT_EQ(e.status, 1) << e.out;
  EXPECT_TRUE(contains(e.out, "Operation not permitted")) << e.out;
  ShellResult nnp = exec("mkdir /tmp/z", "--no-new-privs");
  EXPECT_EQ(nnp.status, 1) << nnp.out;
  EXPECT_TRUE(contains(nnp.out, "Operation not permitted")) << nnp.out;
  EXPECT_EQ(exec("touch /tmp/u").status, 0) << "the profile blocks only mkdir";
}

// Every syscall the libseccomp here knows on x86_64, but `except`: the
// allow list of a default-deny profile of Docker's size.
std::vector<std::string> all_syscalls_but(const std::vector<std::string>& except) {
  std::vector<std::string> names;
  for (int nr = 0; nr < 1024; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    if (!name) continue;
    if (std::find(except.begin(), except.end(), name) == except.end()) names.push_back(name);
    std::free(name);
  }
  return names;
}

// Docker's shape: deny by default (with defaultErrnoRet), allow a list;
// no_new_privs on, so the filter goes on just before execve.
TEST_F(ConfinementTest, SeccompDefaultErrnoRetAnswersWhatTheAllowListLeavesOut) {
  json profile = {{"defaultAction", "SCMP_ACT_ERRNO"},
                  {"defaultErrnoRet", 122},  // EDQUOT: unmistakable
                  {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
                  {"syscalls", {{{"names", all_syscalls_but({"mkdir", "mkdirat"})},
                                 {"action", "SCMP_ACT_ALLOW"}}}}};
  ASSERT_GT(profile["syscalls"][0]["names"].size(), 300u);
  bundle_.config()["linux"]["seccomp"] = profile;
  bundle_.config()["process"]["noNewPrivileges"] = true;
  ASSERT_NO_FATAL_FAILURE(start("mkdir /tmp/x 2>&1; echo mkdir=$?; echo done-init; sleep 600"));
  ASSERT_TRUE(wait_for_output("done-init")) << slurp(out_path());
  std::string out = slurp(out_path());
  EXPECT_EQ(value_of(out, "mkdir"), "1") << out;
  EXPECT_TRUE(contains(out, "Disk quota exceeded")) << out;
  ShellResult e = exec("mkdir /tmp/y");
  EXPECT_EQ(e.status, 1) << e.out;
  EXPECT_TRUE(contains(e.out, "Disk quota exceeded")) << e.out;
}

// personality(2) with ADDR_NO_RANDOMIZE (0x40000, `linux64 -R`) is refused
// with the rule's errnoRet; personality(PER_LINUX) (`linux64`) is not.
TEST_F(ConfinementTest, SeccompArgumentConditionsSelectTheCall) {
  bundle_.config()["linux"]["seccomp"] = allow_by_default(
      {{{"names", {"personality"}},
        {"action", "SCMP_ACT_ERRNO"},
        {"errnoRet", 13},
        {"args", {{{"index", 0}, {"value", 0x40000}, {"op", "SCMP_CMP_EQ"}}}}}});
  std::string script = "busybox linux64 true; echo plain=$?; busybox linux64 -R true 2>&1; echo norandom=$?; ";
  ASSERT_NO_FATAL_FAILURE(start(script + "echo done-init; sleep 600"));
  ASSERT_TRUE(wait_for_output("done-init")) << slurp(out_path());
  std::string out = slurp(out_path());
  EXPECT_EQ(value_of(out, "plain"), "0") << out;
  EXPECT_EQ(value_of(out, "norandom"), "1") << out;
  EXPECT_TRUE(contains(out, "Permission denied")) << out;
  ShellResult e = exec("sh -c " + shell_quoted(script));
  EXPECT_EQ(value_of(e.out, "plain"), "0") << e.out;
  EXPECT_EQ(value_of(e.out, "norandom"), "1") << e.out;
}

// A rule runvm cannot honour is refused at create, naming the field, before
// anything boots: no state, no monitor, no QEMU.
TEST_F(ConfinementTest, SeccompNotifyIsRefusedAtCreateLeavingNothing) {
  json profile = allow_by_default({errno_rule({"mkdir"}), {{"names", {"openat"}}, {"action", "SCMP_ACT_NOTIFY"}}});
  profile["listenerPath"] = "/run/seccomp-agent.sock";
  bundle_.config()["linux"]["seccomp"] = profile;
  bundle_.set_args({"true"});
  bundle_.write_config();
  // The container's stdio is create's: to a file, so that a monitor (if
  // one were wrongly started) holds no pipe of ours.
  ShellResult created = shell(runvm_ + " create --bundle " + bundle_.path() + " c1 </dev/null >" +
                              out_path() + " 2>&1");
  std::string out = slurp(out_path());
  EXPECT_EQ(created.status, 1) << out;
  EXPECT_TRUE(contains(out, "linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY is not supported")) << out;
  EXPECT_TRUE(list_dir(root_.path()).empty());
  EXPECT_TRUE(processes_mentioning(root_.path()).empty());
}

TEST_F(ConfinementTest, FeaturesSaySeccompIsEnforced) {
  ShellResult r = shell(runvm_binary() + " features");
  ASSERT_EQ(r.status, 0) << r.out;
  json f = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(f.is_object()) << r.out;
  json seccomp = f["linux"]["seccomp"];
  EXPECT_EQ(seccomp["enabled"], true) << r.out;
  auto has = [](const json& list, const std::string& v) {
    return list.is_array() && std::find(list.begin(), list.end(), v) != list.end();
  };
  EXPECT_TRUE(has(seccomp["actions"], "SCMP_ACT_ERRNO")) << r.out;
  EXPECT_FALSE(has(seccomp["actions"], "SCMP_ACT_NOTIFY")) << "not supported: " << r.out;
  EXPECT_TRUE(has(seccomp["operators"], "SCMP_CMP_MASKED_EQ")) << r.out;
  EXPECT_TRUE(has(seccomp["archs"], "SCMP_ARCH_X86_64")) << r.out;
}

}  // namespace
}  // namespace runvm::testing
