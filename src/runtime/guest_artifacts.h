// Where the guest kernel and initramfs are: a flag, else RUNVM_KERNEL /
// RUNVM_INITRAMFS, else RUNVM_DATA_DIR, else ../share/runvm beside the
// runvm binary (the build tree and an install have the same shape).
#pragma once

#include <string>

#include "common/result.h"

namespace runvm::runtime {

struct GuestArtifacts {
  std::string kernel;
  std::string initramfs;
};

struct ArtifactOverrides {
  std::string kernel;     // --kernel
  std::string initramfs;  // --initramfs
};

std::string default_data_dir();

// Errors name the missing file and the command that builds it.
Result<GuestArtifacts> locate_guest_artifacts(const ArtifactOverrides& overrides);

}  // namespace runvm::runtime
