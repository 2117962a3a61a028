// linux.seccomp, typed, with runc's semantics. Shared by host and guest: the
// host parses config.json into it and sends it to the guest in `create` as
// seccomp_to_json() (the spec's own JSON shape); the guest parses that again
// with seccomp_from_json(), as strictly, since the message crosses a trust
// boundary, and compiles it (agent/seccomp.h).
//
// What runvm cannot honour is refused here, naming the field, never dropped:
// SCMP_ACT_NOTIFY and listenerPath (no notify agent reaches into the VM), an
// action, operator, architecture or flag it does not know. Syscall names are
// only checked for shape: a name the guest's libseccomp does not know is
// skipped there, as runc skips it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace runvm::oci {

enum class SeccompAction {
  kKill,         // SCMP_ACT_KILL: as runc, the thread (SCMP_ACT_KILL_THREAD)
  kKillProcess,  // SCMP_ACT_KILL_PROCESS
  kKillThread,   // SCMP_ACT_KILL_THREAD
  kTrap,         // SCMP_ACT_TRAP: SIGSYS
  kErrno,        // SCMP_ACT_ERRNO: errnoRet, EPERM if absent
  kTrace,        // SCMP_ACT_TRACE: errnoRet to the tracer, EPERM if absent
  kAllow,        // SCMP_ACT_ALLOW
  kLog,          // SCMP_ACT_LOG: allowed and logged
};

enum class SeccompOperator {
  kNotEqual,      // SCMP_CMP_NE
  kLessThan,      // SCMP_CMP_LT
  kLessEqual,     // SCMP_CMP_LE
  kEqualTo,       // SCMP_CMP_EQ
  kGreaterEqual,  // SCMP_CMP_GE
  kGreaterThan,   // SCMP_CMP_GT
  kMaskedEqual,   // SCMP_CMP_MASKED_EQ: (arg & value) == valueTwo
};

enum class SeccompFlag {
  kTsync,      // SECCOMP_FILTER_FLAG_TSYNC
  kSpecAllow,  // SECCOMP_FILTER_FLAG_SPEC_ALLOW
  kLog,        // SECCOMP_FILTER_FLAG_LOG
};

// Architectures keep the spec's names ("SCMP_ARCH_X86_64"), checked against
// the list runc 1.1 knows.
struct SeccompArg {
  uint32_t index = 0;  // 0..5
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOperator op = SeccompOperator::kEqualTo;
};

struct SeccompSyscall {
  std::vector<std::string> names;  // never empty
  SeccompAction action = SeccompAction::kAllow;
  std::optional<uint32_t> errno_ret;  // 0..65535 (the filter carries 16 bits)
  std::vector<SeccompArg> args;       // at most 6
};

struct Seccomp {
  SeccompAction default_action = SeccompAction::kAllow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<SeccompFlag> flags;
  std::vector<SeccompSyscall> syscalls;
};

// Bounds on what is accepted (a guest must never be made to allocate
// without limit): Docker's default profile has about 60 rules and 400 names.
constexpr size_t kSeccompMaxRules = 4096;
constexpr size_t kSeccompMaxNames = 16384;  // over all rules
constexpr size_t kSeccompMaxArchitectures = 32;
// The profile as the create message carries it, so that it fits a frame
// (1 MiB) with the rest of the message: Docker's default is 5.5 KiB.
constexpr size_t kSeccompMaxJsonBytes = 512 * 1024;

// The spec's names.
std::string_view seccomp_action_name(SeccompAction action);
std::string_view seccomp_operator_name(SeccompOperator op);
std::string_view seccomp_flag_name(SeccompFlag flag);

// What runvm honours, in the spec's names, for `runvm features`.
std::vector<std::string> seccomp_supported_actions();
std::vector<std::string> seccomp_supported_operators();
std::vector<std::string> seccomp_supported_architectures();
std::vector<std::string> seccomp_supported_flags();

// The spec's JSON shape, both ways. `path` names the object in errors
// ("linux.seccomp" in config.json, "seccomp" in the create message).
nlohmann::json seccomp_to_json(const Seccomp& seccomp);
Result<Seccomp> seccomp_from_json(const nlohmann::json& json, const std::string& path = "seccomp");

}  // namespace runvm::oci
