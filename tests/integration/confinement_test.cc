// The container confined inside the VM as runc confines it on a host
// (issue 15): linux.maskedPaths and linux.readonlyPaths.
// Each test acts as an attacker in the container would, in init and in an
// exec, and checks what the attack achieved.
#include <gtest/gtest.h>
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

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The value of a "key=value" line in text ("" if absent).
std::string value_of(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class ConfinementTest : public ::testing::Test {
 protected:
  void TearDown() override {
    shell(runvm_ + " delete --force c1");
    EXPECT_TRUE(list_dir(root_.path()).empty()) << "state left under " << root_.path();
    EXPECT_TRUE(processes_mentioning(root_.path()).empty()) << "a monitor or QEMU left running";
    EXPECT_TRUE(processes_mentioning(bundle_.rootfs()).empty()) << "virtiofsd left running";
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
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (contains(slurp(out_path()), text)) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
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
  EXPECT_EQ(value_of(out, "kcore_status"), "0") << "/proc/kcore is masked with /dev/null:\n" << out;
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

}  // namespace
}  // namespace runvm::testing
