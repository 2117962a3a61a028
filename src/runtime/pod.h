// Pods: several containers in one VM (docs/ARCHITECTURE.md, "Pods").
//
// A container whose spec joins the network namespace of a running runvm
// container (Kubernetes' pause, podman's infra container, the X of docker
// `--network container:X`) does not boot a VM: it joins that container's
// VM. This file holds the host-side planning, pure where it can be: which
// container owns the VM a new container joins (found by the network
// namespace's inode, never by a name), which of its namespaces the new one
// shares in the guest, and where its rootfs and binds go in the owner's pod
// share. runtime/pod_member.h is the joined container's stand-in, which
// carries the plan out.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"
#include "proto/messages.h"
#include "runtime/container_state.h"

namespace runvm::runtime {

// A namespace's identity: the (device, inode) of its nsfs file.
struct NsId {
  uint64_t dev = 0, ino = 0;
  bool valid() const { return ino != 0; }
  bool operator==(const NsId&) const = default;
};
// The namespace a path names; invalid if it names none.
NsId namespace_id(const std::string& path);

// A container already in the VM, as a joining one may name it: its host
// process (the owner's monitor, a member's stand-in), its guest name, and
// the host IPC and UTS namespaces that process stands in.
struct PodPeer {
  std::string guest_name;
  pid_t host_pid = 0;
  NsId ipc, uts;
};

// One entry of the joining container's linux.namespaces, with the identity
// of its path (if any).
struct NamespaceRequest {
  std::string type;
  std::string path;
  NsId id;
};

// Which namespaces of the VM's containers the joining container shares
// (msg::Create::Join): a path that names a peer's IPC or UTS namespace, or
// the PID namespace of a peer's process (/proc/PID/ns/pid, as Kubernetes'
// shareProcessNamespace and docker --pid container:X give it), joins that
// peer's in the guest; no path is a namespace of its own, as for any
// container. Refused with the reason: a user namespace, a path for the
// mount or cgroup namespace, and any path that is not a peer's (the host's
// namespaces above all, which the VM cannot give).
Result<msg::Create::Join> plan_namespace_joins(const std::vector<NamespaceRequest>& namespaces,
                                                const std::vector<PodPeer>& peers);

// A container that owns a running VM, found from the network namespace the
// joining container's spec names.
struct PodOwner {
  ContainerState state;
  std::string state_dir;
};

// The runvm container under `root` whose VM carries the network namespace
// at `netns_path` (its monitor stands in it), if any. An error for one that
// is there but not running (stopped, or being torn down), and for a
// container that is itself a member of a pod (its owner is the one to
// join, and the lookup finds it).
Result<std::optional<PodOwner>> find_pod_owner(const std::string& root, const std::string& netns_path);

// The containers already in the owner's VM: the owner, and the members
// under `root` that joined it and still run.
std::vector<PodPeer> pod_peers(const std::string& root, const PodOwner& owner);

// The owner's pod share: the directory of its state directory that is
// served to its VM (tag kPodShareTag), bound onto itself as a shared mount,
// so that what a joining container's stand-in mounts below it later
// propagates into virtiofsd's mount namespace (a slave of the host's) and
// reaches the running guest. Unmounted (with everything below it) when
// dropped, unless kept.
class PodShare {
 public:
  static Result<PodShare> make(const std::string& state_dir);
  PodShare(PodShare&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  PodShare& operator=(PodShare&&) = delete;
  ~PodShare();
  const std::string& path() const { return path_; }
  void keep() { path_.clear(); }

 private:
  explicit PodShare(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Unmounts a pod share and everything below it, and removes the directory
// (delete of the owner). Quiet if it is not there.
void remove_pod_share(const std::string& state_dir);

// Where a joining container's files go in the owner's pod share: a
// directory named after its ID, with its rootfs at "rootfs" and bind
// sources at "m0", "m1", ... (the subpaths its create message names).
std::string member_dir(const std::string& owner_state_dir, const std::string& id);

// Mounts `source` at `target` (made as a directory or an empty file to
// match), read-only if asked: the read-only flag is set on a detached copy
// of the mount before it is attached, so it is read-only from the moment it
// appears, in the host's namespace and in the virtiofsd namespace it
// propagates to.
Status mount_into_pod(const std::string& source, const std::string& target, bool readonly);

// Unmounts what a member mounted (its state's pod_mounts) and removes its
// directory; what is already gone is skipped.
void remove_member_mounts(const std::string& dir, const std::vector<std::string>& mounts);

}  // namespace runvm::runtime
