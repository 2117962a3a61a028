// linux.seccomp in the guest. At create the agent compiles the container's
// profile once, with libseccomp, into a classic BPF program; every process
// of the container (init, each exec, each startContainer hook) loads that
// program as the last step before execve, as runc does:
//
//   - with no_new_privs, just before execve (after identity, capabilities
//     and no_new_privs), so that as few calls as possible go through it;
//   - without it, before the capabilities are dropped, since loading a
//     filter then needs CAP_SYS_ADMIN.
//
// runc's semantics: SCMP_ACT_KILL is KILL_THREAD, ERRNO and TRACE default to
// EPERM, a rule whose action is the default action is left out, two
// conditions on the same argument make one rule each, the no_new_privs bit
// is left to the process's own setting. A syscall name this libseccomp does
// not know is skipped (runc skips it too). And as runc's patched filter
// does, a syscall newer than every syscall the profile names fails with
// ENOSYS instead of the default action (unless the default action allows,
// logs or traces, or defaultErrnoRet is already ENOSYS), so that programs
// fall back from a syscall the profile could not know about.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <vector>

#include "common/result.h"
#include "oci/seccomp.h"

namespace runvm::agent {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  unsigned int flags = 0;       // SECCOMP_FILTER_FLAG_*
  size_t skipped_names = 0;     // names this libseccomp does not know
};

// Builds the filter; an error names the rule that libseccomp refused.
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& profile);

// Installs it on the calling process: one seccomp(2) call, safe between
// fork and exec. Needs no_new_privs or CAP_SYS_ADMIN.
Status load_seccomp(const SeccompProgram& program);

}  // namespace runvm::agent
