// The container's end of runvm cp: where its paths are looked up and where
// tar streams are unpacked into it or packed from it.
//
// Running: in the guest, through the monitor (copy_request.h), so the copy
// sees what the container sees (its mounts, binds included) and runs in its
// namespaces and cgroup; except where the guest says the path is on the
// rootfs share with nothing mounted at or below it, which is the same tree
// on the host, copied there at a host copy's speed. Paused: the VM is frozen and cannot answer, so the
// copy is made on the host, in the rootfs directory that the virtio-fs
// share serves, with the same confined transfer functions: the rootfs as
// the host sees it, without the container's bind mounts or tmpfs mounts.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "transfer/export.h"
#include "transfer/path_info.h"
#include "transfer/stream.h"
#include "transfer/summary.h"

namespace runvm::runtime {

// runvm cp's own end of the stream: writes an archive (host export, or
// stdin for "-"), or reads one (host import, or stdout for "-").
using Producer = std::function<Status(transfer::ByteSink&)>;
using Consumer = std::function<Status(transfer::ByteSource&)>;

class ContainerSide {
 public:
  virtual ~ContainerSide() = default;
  virtual Result<transfer::PathInfo> stat(const std::string& path, bool follow_link) = 0;
  // Unpacks into `dir` the archive that `produce` writes: with same_owner
  // (-a) the archive's owners are kept, otherwise what is copied in belongs
  // to root; modes, times, xattrs and device nodes as in the archive.
  virtual Result<transfer::TransferSummary> receive(const std::string& dir, bool same_owner,
                                                    const Producer& produce) = 0;
  // Packs `path` for `consume`.
  virtual Status send(const std::string& path, const transfer::ExportOptions& options,
                      const Consumer& consume) = 0;
};

// `rootfs`: the bundle's rootfs, where a path the guest says is plain
// rootfs is copied on the host (see GuestSide in copy_side.cc), except
// into a read-only root (`readonly_root`), which only the guest's way may
// touch; a paused container's read-only root refuses copies in, as docker
// cp does.
std::unique_ptr<ContainerSide> guest_side(const std::string& state_dir, const std::string& rootfs,
                                          bool readonly_root);
Result<std::unique_ptr<ContainerSide>> rootfs_side(const std::string& rootfs, bool readonly_root);

// Which failure a copy reports when the writer and the reader of its
// stream may both have failed: the writer's, unless it only saw the reader
// go away (EPIPE); then the reader's, and with none the reader had the whole
// archive (only the writer's last padding found it gone).
Status settle(Status written, Status read);

}  // namespace runvm::runtime
