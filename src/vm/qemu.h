// The QEMU backend: one virtiofsd and one qemu-system-x86_64 (-M microvm)
// per VM, both children of runvm that die with it.
#pragma once

#include <memory>

#include "vm/qemu_args.h"
#include "vm/vmm.h"

namespace runvm::vm {

// Finds QEMU and virtiofsd; the error names the missing program and the
// Debian package that provides it.
Result<QemuPaths> find_qemu();

std::unique_ptr<VmmBackend> make_qemu_backend(QemuPaths paths);

}  // namespace runvm::vm
