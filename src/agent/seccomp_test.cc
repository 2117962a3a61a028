#include "agent/seccomp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include <nlohmann/json.hpp>

namespace runvm::agent {
namespace {

using nlohmann::json;

oci::Seccomp profile_of(const json& j) {
  auto parsed = oci::seccomp_from_json(j);
  EXPECT_TRUE(parsed) << parsed.error().message();
  return parsed ? *parsed : oci::Seccomp{};
}

SeccompProgram compiled(const json& j) {
  auto program = compile_seccomp(profile_of(j));
  EXPECT_TRUE(program) << program.error().message();
  return program ? *program : SeccompProgram{};
}

// What a child reports: the errno of each call in `calls` (0 when it
// succeeded), one byte each, after loading the filter with no_new_privs.
// A child killed by a signal reports nothing: `signal` says which.
struct ChildResult {
  std::vector<int> errnos;
  int signal = 0;
};

ChildResult in_child(const SeccompProgram& program, const std::vector<std::function<long()>>& calls) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    // A SIGSYS that kills it must not go to the host's core handler.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(100);
    if (!load_seccomp(program)) ::_exit(101);
    for (const auto& call : calls) {
      errno = 0;
      long rc = call();
      unsigned char e = static_cast<unsigned char>(rc < 0 ? errno : 0);
      if (::write(fds[1], &e, 1) != 1) ::_exit(102);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildResult result;
  unsigned char e;
  while (::read(fds[0], &e, 1) == 1) result.errnos.push_back(e);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  else EXPECT_EQ(WEXITSTATUS(status), 0) << "the child could not load the filter";
  return result;
}

json allow_by_default(json syscalls) {
  return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", std::move(syscalls)}};
}

// The calls the child itself needs once the filter is on.
const json kChildNeeds = {"write", "exit_group", "exit"};

long getpriority_raw(long which, long who) { return ::syscall(SYS_getpriority, which, who); }

TEST(Seccomp, ErrnoRuleGivesEpermByDefaultAndErrnoRetWhenSet) {
  auto program = compiled(allow_by_default(
      {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}},
       {{"names", {"rmdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 122}}}));
  auto r = in_child(program, {[] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); },
                              [] { return ::syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent/x", 0700); },
                              [] { return ::syscall(SYS_rmdir, "/nonexistent/x"); },
                              [] { return ::syscall(SYS_getppid); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{EPERM, EPERM, 122, 0}));
}

TEST(Seccomp, DefaultErrnoRetAnswersWhatIsNotAllowed) {
  json allowed = kChildNeeds;
  allowed.push_back("getppid");
  auto program = compiled({{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"defaultErrnoRet", 122},
                           {"syscalls", {{{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}}}}});
  auto r = in_child(program, {[] { return ::syscall(SYS_getppid); },
                              [] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{0, 122}));
}

TEST(Seccomp, ArgumentConditions) {
  auto program = compiled(allow_by_default(json::array({
      // MASKED_EQ: (which & 0xff) == 1 (PRIO_PGRP).
      {{"names", {"getpriority"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 7},
       {"args", {{{"index", 0}, {"value", 0xff}, {"valueTwo", 1}, {"op", "SCMP_CMP_MASKED_EQ"}}}}},
      // Two arguments: AND.
      {{"names", {"getpriority"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 8},
       {"args", {{{"index", 0}, {"value", 0}, {"op", "SCMP_CMP_EQ"}},
                 {{"index", 1}, {"value", 4242}, {"op", "SCMP_CMP_EQ"}}}}},
      // One argument twice: each its own rule (OR), as runc does.
      {{"names", {"setpriority"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 9},
       {"args", {{{"index", 2}, {"value", 30}, {"op", "SCMP_CMP_GT"}},
                 {{"index", 2}, {"value", 1}, {"op", "SCMP_CMP_LT"}}}}},
  })));
  auto r = in_child(program, {
                                 [] { return getpriority_raw(PRIO_PGRP, 0); },     // 7
                                 [] { return getpriority_raw(PRIO_PROCESS, 0); },  // allowed
                                 [] { return getpriority_raw(PRIO_PROCESS, 4242); },  // 8
                                 [] { return ::syscall(SYS_setpriority, PRIO_PROCESS, 0, 0); },  // 9
                                 [] { return ::syscall(SYS_setpriority, PRIO_PROCESS, 0, 31); },  // 9
                                 [] { return ::syscall(SYS_setpriority, PRIO_PROCESS, 0, 19); },  // allowed
                             });
  EXPECT_EQ(r.errnos, (std::vector<int>{7, 0, 8, 9, 9, 0}));
}

TEST(Seccomp, KillAndTrapEndTheProcessWithSigsys) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"}) {
    auto program = compiled(allow_by_default({{{"names", {"getppid"}}, {"action", action}}}));
    auto r = in_child(program, {[] { return ::syscall(SYS_getpid); }, [] { return ::syscall(SYS_getppid); }});
    EXPECT_EQ(r.errnos, (std::vector<int>{0})) << action;
    EXPECT_EQ(r.signal, SIGSYS) << action;
  }
}

TEST(Seccomp, LogAndTraceWithoutATracer) {
  // LOG allows; TRACE without a tracer fails the call with ENOSYS.
  auto program = compiled(allow_by_default({{{"names", {"getppid"}}, {"action", "SCMP_ACT_LOG"}},
                                            {{"names", {"getpid"}}, {"action", "SCMP_ACT_TRACE"}}}));
  auto r = in_child(program, {[] { return ::syscall(SYS_getppid); }, [] { return ::syscall(SYS_getpid); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{0, ENOSYS}));
}

TEST(Seccomp, UnknownNamesAreSkippedAndTheRestApplies) {
  auto program = compiled(allow_by_default(
      {{{"names", {"no_such_syscall", "mkdir", "also_unknown"}}, {"action", "SCMP_ACT_ERRNO"}}}));
  EXPECT_EQ(program.skipped_names, 2u);
  auto r = in_child(program, {[] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{EPERM}));
}

TEST(Seccomp, RuleWithTheDefaultActionIsLeftOut) {
  // libseccomp alone refuses a rule whose action is the default one.
  json allowed = kChildNeeds;
  auto program = compiled({{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"syscalls", {{{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}},
                                         {{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}});
  auto r = in_child(program, {[] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{EPERM}));
}

// runc's ENOSYS patch: a syscall numbered above every one the profile names
// gets ENOSYS (a program then falls back), others the default action.
TEST(Seccomp, SyscallsNewerThanTheProfileGetEnosys) {
  json allowed = kChildNeeds;  // write 1, exit 60, exit_group 231
  allowed.push_back("no_such_syscall");
  auto program = compiled({{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
                           {"syscalls", {{{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}}}}});
  auto r = in_child(program, {
                                 [] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); },  // 83
                                 [] { return ::syscall(SYS_mkdirat, AT_FDCWD, "/x", 0700); },  // 258
                                 [] { return ::syscall(1000); },
                                 // x32: the profile names exit_group there too.
                                 [] { return ::syscall(0x40000000 | SYS_mkdir, "/nonexistent/x", 0700); },
                                 [] { return ::syscall(0x40000000 | 1000); },
                             });
  EXPECT_EQ(r.errnos, (std::vector<int>{EPERM, ENOSYS, ENOSYS, EPERM, ENOSYS}));
}

TEST(Seccomp, NoEnosysPatchWhenTheDefaultAllowsOrIsEnosys) {
  json allowed = kChildNeeds;
  auto program = compiled({{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"defaultErrnoRet", 1},
                           {"syscalls", {{{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}}}}});
  auto patched = program.instructions.size();
  auto plain = compiled({{"defaultAction", "SCMP_ACT_ERRNO"},
                         {"defaultErrnoRet", ENOSYS},
                         {"syscalls", {{{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}}}}});
  EXPECT_LT(plain.instructions.size(), patched);
  auto r = in_child(plain, {[] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{ENOSYS}));
  auto allowing = compiled(allow_by_default({{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}));
  auto r2 = in_child(allowing, {[] { return ::syscall(1000); }});
  EXPECT_EQ(r2.errnos, (std::vector<int>{ENOSYS})) << "the kernel's own ENOSYS, not the filter's";
}

TEST(Seccomp, FlagsReachTheKernel) {
  auto program = compiled({{"defaultAction", "SCMP_ACT_ALLOW"},
                           {"flags", {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}},
                           {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}});
  EXPECT_EQ(program.flags, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  auto r = in_child(program, {[] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{EPERM}));
}

// A default-deny allow list of every syscall libseccomp knows: the size of
// Docker's profile or more, well under the kernel's 4096 instructions.
TEST(Seccomp, ADockerSizedProfileFits) {
  json names = json::array();
  for (int nr = 0; nr < 1024; ++nr)
    if (char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr)) {
      if (std::string(name) != "mkdir") names.push_back(name);
      std::free(name);
    }
  ASSERT_GT(names.size(), 300u);
  auto program = compiled({{"defaultAction", "SCMP_ACT_ERRNO"},
                           {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
                           {"syscalls", {{{"names", names}, {"action", "SCMP_ACT_ALLOW"}}}}});
  EXPECT_LT(program.instructions.size(), static_cast<size_t>(BPF_MAXINSNS));
  auto r = in_child(program, {[] { return ::syscall(SYS_mkdir, "/nonexistent/x", 0700); },
                              [] { return ::syscall(SYS_getppid); }});
  EXPECT_EQ(r.errnos, (std::vector<int>{EPERM, 0}));
}

}  // namespace
}  // namespace runvm::agent
