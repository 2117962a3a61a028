#include "agent/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "common/unique_fd.h"

namespace runvm::agent {
namespace {

using oci::SeccompAction;
using oci::SeccompOperator;

constexpr uint32_t kX32SyscallBit = 0x40000000;

uint32_t scmp_action(SeccompAction action, std::optional<uint32_t> errno_ret) {
  switch (action) {
    case SeccompAction::kKill:
    case SeccompAction::kKillThread: return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kKillProcess: return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kTrap: return SCMP_ACT_TRAP;
    case SeccompAction::kErrno: return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
    case SeccompAction::kTrace: return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
    case SeccompAction::kAllow: return SCMP_ACT_ALLOW;
    case SeccompAction::kLog: return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;  // unreachable: every enumerator is above
}

scmp_compare scmp_operator(SeccompOperator op) {
  switch (op) {
    case SeccompOperator::kNotEqual: return SCMP_CMP_NE;
    case SeccompOperator::kLessThan: return SCMP_CMP_LT;
    case SeccompOperator::kLessEqual: return SCMP_CMP_LE;
    case SeccompOperator::kEqualTo: return SCMP_CMP_EQ;
    case SeccompOperator::kGreaterEqual: return SCMP_CMP_GE;
    case SeccompOperator::kGreaterThan: return SCMP_CMP_GT;
    case SeccompOperator::kMaskedEqual: return SCMP_CMP_MASKED_EQ;
  }
  return _SCMP_CMP_MIN;  // unreachable
}

unsigned int filter_flag(oci::SeccompFlag flag) {
  switch (flag) {
    case oci::SeccompFlag::kTsync: return SECCOMP_FILTER_FLAG_TSYNC;
    case oci::SeccompFlag::kSpecAllow: return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    case oci::SeccompFlag::kLog: return SECCOMP_FILTER_FLAG_LOG;
  }
  return 0;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token (its name is "x86_64").
Result<uint32_t> arch_token(const std::string& name) {
  constexpr std::string_view kPrefix = "SCMP_ARCH_";
  std::string lower;
  for (char c : std::string_view(name).substr(name.starts_with(kPrefix) ? kPrefix.size() : 0))
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint32_t token = seccomp_arch_resolve_name(lower.c_str());
  if (token == 0) return fail("architecture " + name + " is unknown to this libseccomp");
  return token;
}

std::string rc_text(int rc) { return std::strerror(-rc); }

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

Status add_rule(scmp_filter_ctx ctx, const oci::SeccompSyscall& rule, uint32_t action, int nr,
                const std::string& what) {
  std::vector<scmp_arg_cmp> conditions;
  int per_index[6] = {};
  for (const auto& arg : rule.args) {
    scmp_arg_cmp c = {};
    c.arg = arg.index;
    c.op = scmp_operator(arg.op);
    c.datum_a = arg.value;
    // As runc: valueTwo is the datum only for MASKED_EQ (value is the mask).
    c.datum_b = arg.op == SeccompOperator::kMaskedEqual ? arg.value_two : 0;
    conditions.push_back(c);
    ++per_index[arg.index];
  }
  bool repeated_index = false;
  for (int n : per_index) repeated_index = repeated_index || n > 1;
  int rc = 0;
  if (!repeated_index) {
    rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conditions.size()),
                                conditions.empty() ? nullptr : conditions.data());
  } else {
    // libseccomp cannot AND two comparisons of one argument; runc then adds
    // each condition as a rule of its own (so they OR).
    for (const auto& c : conditions)
      if ((rc = seccomp_rule_add_array(ctx, action, nr, 1, &c)) != 0) break;
  }
  if (rc != 0) return fail("add the rule for " + what + ": " + rc_text(rc));
  return ok();
}

// runc's ENOSYS patch: a stub before libseccomp's program that answers
// ENOSYS for a syscall numbered above the highest one the profile names on
// the caller's architecture (x32 counted apart from x86_64), and passes
// everything else to the program.
std::vector<sock_filter> enosys_stub(const oci::Seccomp& profile,
                                     const std::vector<uint32_t>& arches) {
  bool allows_by_default = profile.default_action == SeccompAction::kAllow ||
                           profile.default_action == SeccompAction::kLog ||
                           profile.default_action == SeccompAction::kTrace;
  if (allows_by_default || profile.default_errno_ret == ENOSYS) return {};
  std::map<uint32_t, int> highest;  // arch token -> highest syscall number
  for (uint32_t arch : arches)
    for (const auto& rule : profile.syscalls)
      for (const auto& name : rule.names) {
        int nr = seccomp_syscall_resolve_name_arch(arch, name.c_str());
        if (nr < 0) continue;  // unknown, or a pseudo-syscall (socketcall on x86_64)
        auto [it, inserted] = highest.emplace(arch, nr);
        if (!inserted && nr > it->second) it->second = nr;
      }
  auto x32 = highest.find(SCMP_ARCH_X32);
  bool has_x32 = std::find(arches.begin(), arches.end(), SCMP_ARCH_X32) != arches.end();
  std::vector<sock_filter> stub;
  std::vector<size_t> to_program;  // indexes of `ja` to the program's start
  auto ja_program = [&] {
    to_program.push_back(stub.size());
    stub.push_back(BPF_STMT(BPF_JMP | BPF_JA, 0));
  };
  auto ret_enosys = [&] { stub.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)); };
  stub.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  for (const auto& [arch, max] : highest) {
    if (arch == SCMP_ARCH_X32) continue;  // x32 calls come as x86_64 with the x32 bit
    bool split = arch == SCMP_ARCH_X86_64;
    // Block: ld nr; [jset x32 -> x32 part]; jgt max -> ENOSYS; ja program;
    // [x32 part: jgt x32max -> ENOSYS; ja program]; ret ENOSYS.
    bool x32_part = split && has_x32 && x32 != highest.end();
    uint8_t block = split ? (x32_part ? 7 : 5) : 4;
    stub.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, block));
    stub.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    if (split) {
      if (x32_part) {
        // jset: true -> the x32 compare (3 ahead), false -> next.
        stub.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit, 2, 0));
        stub.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max), 3, 0));
        ja_program();
        stub.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(x32->second), 1, 0));
        ja_program();
      } else {
        // An x32 call the profile has no x32 numbers for: the program decides.
        stub.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32SyscallBit, 1, 0));
        stub.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max), 1, 0));
        ja_program();
      }
    } else {
      stub.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max), 1, 0));
      ja_program();
    }
    ret_enosys();
  }
  if (stub.size() == 1) return {};  // no architecture with a known syscall
  ja_program();
  for (size_t at : to_program) stub[at].k = static_cast<uint32_t>(stub.size() - at - 1);
  return stub;
}

Result<std::vector<sock_filter>> export_program(scmp_filter_ctx ctx) {
  UniqueFd memfd(static_cast<int>(::syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC)));
  if (!memfd) return fail_errno("memfd_create for the seccomp filter");
  if (int rc = seccomp_export_bpf(ctx, memfd.get()); rc != 0)
    return fail("export the seccomp filter: " + rc_text(rc));
  off_t size = ::lseek(memfd.get(), 0, SEEK_END);
  if (size < 0) return fail_errno("size the seccomp filter");
  if (size % sizeof(sock_filter) != 0) return fail("the exported seccomp filter has a partial instruction");
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  size_t done = 0;
  while (done < static_cast<size_t>(size)) {
    ssize_t n = ::pread(memfd.get(), reinterpret_cast<char*>(program.data()) + done, size - done,
                        static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("read the exported seccomp filter");
    done += static_cast<size_t>(n);
  }
  return program;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& profile) {
  uint32_t default_action = scmp_action(profile.default_action, profile.default_errno_ret);
  Context ctx(seccomp_init(default_action));
  if (!ctx)
    return fail("libseccomp refused the default action " +
                std::string(oci::seccomp_action_name(profile.default_action)));
  // The process sets no_new_privs itself (process.noNewPrivileges), as under runc.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc != 0)
    return fail("leave no_new_privs to the process: " + rc_text(rc));
  std::vector<uint32_t> arches = {seccomp_arch_native()};
  for (const auto& name : profile.architectures) {
    uint32_t token = TRY(arch_token(name));
    int rc = seccomp_arch_add(ctx.get(), token);
    if (rc != 0 && rc != -EEXIST) return fail("add architecture " + name + ": " + rc_text(rc));
    if (std::find(arches.begin(), arches.end(), token) == arches.end()) arches.push_back(token);
  }
  SeccompProgram out;
  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const auto& rule = profile.syscalls[i];
    uint32_t action = scmp_action(rule.action, rule.errno_ret);
    if (action == default_action) continue;  // runc leaves these out; libseccomp refuses them
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        ++out.skipped_names;
        continue;
      }
      TRY(add_rule(ctx.get(), rule, action, nr, name + " (syscalls[" + std::to_string(i) + "])"));
    }
  }
  for (oci::SeccompFlag flag : profile.flags) out.flags |= filter_flag(flag);
  std::vector<sock_filter> program = TRY(export_program(ctx.get()));
  out.instructions = enosys_stub(profile, arches);
  out.instructions.insert(out.instructions.end(), program.begin(), program.end());
  if (out.instructions.size() > BPF_MAXINSNS)
    return fail("the seccomp filter has " + std::to_string(out.instructions.size()) +
                " instructions, more than the kernel's " + std::to_string(BPF_MAXINSNS));
  return out;
}

Status load_seccomp(const SeccompProgram& program) {
  sock_fprog fprog = {static_cast<unsigned short>(program.instructions.size()),
                      const_cast<sock_filter*>(program.instructions.data())};
  // With TSYNC a thread that cannot be synchronised makes it return that
  // thread's ID: anything but 0 is a failure.
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &fprog);
  if (rc != 0) {
    if (rc > 0) errno = ESRCH;
    return fail_errno("load the seccomp filter");
  }
  return ok();
}

}  // namespace runvm::agent
