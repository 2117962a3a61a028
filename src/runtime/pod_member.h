// The stand-in of a container that joined another container's VM (a pod's;
// docs/ARCHITECTURE.md, "Pods").
//
// runc's callers need a host process per container: containerd's shim,
// conmon and Docker watch the PID that `create` gives and take its exit
// status. A joined container's process runs in the owner's VM, so its
// stand-in boots nothing: it puts the container's rootfs and binds into the
// owner's pod share, asks the owner's monitor to add the container
// (control::AddContainer, with its stdio), and then stands for it. Its own
// control socket serves every runvm command for the container by sending
// each request on to the owner, addressed to the container's name in the
// VM; its exit status is the container's, which the owner reports on the
// connection that added it (137 if the owner goes first).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/control.h"
#include "runtime/container_state.h"
#include "runtime/pod.h"
#include "runtime/stdio_relay.h"

namespace runvm::runtime {

struct MemberConfig {
  ContainerState state;  // pod_owner, pod_dir and cgroup set
  std::string state_dir;
  PodOwner owner;
  control::AddContainer add;  // its create's root and binds name the pod share
  // What to mount into the pod share before the owner is asked, as
  // (host source, target under pod_dir, read-only).
  struct Mount {
    std::string source, target;
    bool readonly = false;
  };
  std::vector<Mount> mounts;
  std::vector<oci::Namespace> namespaces;  // the spec's, entered on the host
  HostStdio io;  // the container's stdio (three, or the terminal)
  // Run once the files are in place and the namespaces entered, before the
  // owner is asked (the create hooks).
  std::function<Status()> before_add;
  std::chrono::milliseconds answer_timeout{60000};
};

class PodMember {
 public:
  ~PodMember();

  // Mounts the container's files into the owner's pod share, enters its
  // host namespaces and has the owner create it in the VM ("created").
  // The caller has run the create hooks and joined the host cgroup.
  static Result<std::unique_ptr<PodMember>> join(MemberConfig config);
  // The container's host namespaces, as a runc container's process has
  // them (its network namespace is the pod's); before the hooks.
  static Status enter_namespaces(const std::vector<oci::Namespace>& namespaces);
  Status enter_rootfs();
  // Serves the container's commands until it exits; returns its status.
  int serve();

 private:
  struct Proxy;
  explicit PodMember(MemberConfig config);
  Status on_client(Proxy& proxy);
  Status on_upstream(Proxy& proxy);
  void set_status(const std::string& status);

  MemberConfig config_;
  UniqueFd state_dir_fd_;
  UniqueFd owner_;    // the connection that added the container
  UniqueFd control_;  // our control socket
  UniqueFd owner_dir_;  // the owner's state directory, where its socket is
  std::vector<std::unique_ptr<Proxy>> proxies_;
};

}  // namespace runvm::runtime
