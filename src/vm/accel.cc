#include "vm/accel.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"

namespace runvm::vm {

const char* accel_name(Accel accel) { return accel == Accel::kvm ? "kvm" : "tcg"; }

Result<AccelRequest> parse_accel_request(const std::string& text) {
  if (text == "auto" || text.empty()) return AccelRequest::automatic;
  if (text == "kvm") return AccelRequest::kvm;
  if (text == "tcg") return AccelRequest::tcg;
  return fail("unknown accelerator \"" + text + "\": use kvm, tcg or auto");
}

namespace {

bool cpuinfo_has_virtualization() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string w;
    while (words >> w)
      if (w == "vmx" || w == "svm") return true;
  }
  return false;
}

std::string kvm_problem() {
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm) return std::string("/dev/kvm cannot be opened: ") + std::strerror(errno);
  if (::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
    return "/dev/kvm has an unexpected API version";
  UniqueFd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
  if (!vm) return std::string("KVM_CREATE_VM failed: ") + std::strerror(errno);
  return "";
}

}  // namespace

HostFacts probe_host() {
  HostFacts facts;
  facts.cpu_has_virtualization = cpuinfo_has_virtualization();
  facts.kvm_problem = kvm_problem();
  facts.kvm_usable = facts.kvm_problem.empty();
  return facts;
}

Result<AccelDecision> decide_accel(AccelRequest request, const HostFacts& facts) {
  switch (request) {
    case AccelRequest::tcg:
      return AccelDecision{Accel::tcg, "tcg requested"};
    case AccelRequest::kvm:
      if (!facts.kvm_usable)
        return fail("kvm requested but KVM is not usable: " + facts.kvm_problem);
      return AccelDecision{Accel::kvm, "kvm requested"};
    case AccelRequest::automatic:
      break;
  }
  if (!facts.cpu_has_virtualization)
    return AccelDecision{Accel::tcg,
                         "auto: the CPU exposes no vmx/svm, so KVM would be nested "
                         "and slow; using tcg"};
  if (!facts.kvm_usable)
    return AccelDecision{Accel::tcg, "auto: " + facts.kvm_problem + "; using tcg"};
  return AccelDecision{Accel::kvm, "auto: hardware virtualization and /dev/kvm work"};
}

}  // namespace runvm::vm
