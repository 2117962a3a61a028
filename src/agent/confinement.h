// What confines the container's processes inside the guest beyond their
// namespaces, identity and capabilities: the spec's linux.maskedPaths and
// linux.readonlyPaths, applied in the container's mount namespace at create
// (so every exec, which joins it, sees them), and its linux.seccomp profile,
// compiled once at create and loaded by every process (agent/seccomp.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/seccomp.h"
#include "common/result.h"
#include "proto/messages.h"

namespace runvm::agent {

struct Confinement {
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::optional<SeccompProgram> seccomp;

  const SeccompProgram* filter() const { return seccomp ? &*seccomp : nullptr; }
};

// The create message's masked_paths, readonly_paths and seccomp (checked
// when the message was parsed, proto/messages.h), the profile compiled.
Result<Confinement> confinement_of(const msg::Create& request);

// runc's readonlyPath then maskPath for each path, in the container's mount
// namespace with its root as ours (after the chroot into it). Read-only: the
// path is bound onto itself and remounted read-only, keeping its nosuid,
// nodev and noexec. Masked: /dev/null is bound over a file, an empty
// read-only tmpfs mounted over a directory. A path that does not exist is
// skipped, as runc skips it; any other failure is an error.
Status apply_path_confinement(const Confinement& confinement);

}  // namespace runvm::agent
