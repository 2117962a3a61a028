// Choosing the accelerator: KVM where the CPU exposes hardware
// virtualization and /dev/kvm works, TCG otherwise. Under a paravirtual
// nested KVM without vmx/svm (as on the project's CI machines) KVM runs
// guests far slower than TCG, so /dev/kvm alone is not enough.
#pragma once

#include <string>

#include "common/result.h"

namespace runvm::vm {

enum class Accel { kvm, tcg };
enum class AccelRequest { automatic, kvm, tcg };

const char* accel_name(Accel accel);
Result<AccelRequest> parse_accel_request(const std::string& text);

struct HostFacts {
  bool cpu_has_virtualization = false;  // vmx or svm in /proc/cpuinfo
  bool kvm_usable = false;              // /dev/kvm opens and creates a VM
  std::string kvm_problem;              // why not, when not
};

HostFacts probe_host();

struct AccelDecision {
  Accel accel;
  std::string reason;
};

// A forced kvm on a host where KVM does not work is an error that says why.
Result<AccelDecision> decide_accel(AccelRequest request, const HostFacts& facts);

}  // namespace runvm::vm
