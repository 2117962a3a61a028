#include "runtime/pod.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/io.h"
#include "common/log.h"
#include "host/proc.h"
#include "runtime/lifecycle.h"
#include "runtime/monitor.h"

namespace runvm::runtime {
namespace {

// /proc/PID/ns/pid: the PID, or 0 if the path has another shape.
pid_t pid_of_proc_ns_path(const std::string& path, const std::string& type) {
  const std::string prefix = "/proc/";
  const std::string suffix = "/ns/" + type;
  if (!path.starts_with(prefix) || !path.ends_with(suffix) || path.size() <= prefix.size() + suffix.size()) return 0;
  std::string_view digits(path.data() + prefix.size(), path.size() - prefix.size() - suffix.size());
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0) return 0;
  return pid;
}

NsId process_namespace(pid_t pid, const char* type) {
  return namespace_id("/proc/" + std::to_string(pid) + "/ns/" + type);
}

}  // namespace

NsId namespace_id(const std::string& path) {
  struct stat st;
  if (path.empty() || ::stat(path.c_str(), &st) < 0) return {};
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

Result<msg::Create::Join> plan_namespace_joins(const std::vector<NamespaceRequest>& namespaces,
                                                const std::vector<PodPeer>& peers) {
  msg::Create::Join join;
  for (const NamespaceRequest& ns : namespaces) {
    if (ns.type == "network") continue;  // the VM's: why it joins
    if (ns.type == "user")
      return fail("linux.namespaces: user namespaces are not supported by runvm yet (the container is isolated "
                  "by its VM; drop the user namespace)");
    if (ns.path.empty()) continue;  // one of its own
    const std::string what = "linux.namespaces: joining the " + ns.type + " namespace " + ns.path;
    if (ns.type == "mount" || ns.type == "cgroup")
      return fail(what + " is not possible: the container joins a VM, where its " + ns.type +
                  " namespace is its own");
    std::string* target = ns.type == "ipc" ? &join.ipc : ns.type == "uts" ? &join.uts : ns.type == "pid" ? &join.pid
                                                                                                         : nullptr;
    if (!target) return fail("linux.namespaces: unknown namespace type " + ns.type);
    const PodPeer* found = nullptr;
    if (ns.type == "pid") {
      // The PID namespace of a container of the VM is in the guest; the
      // host process that stands for it is the one the path names.
      pid_t pid = pid_of_proc_ns_path(ns.path, "pid");
      for (const PodPeer& p : peers)
        if (pid > 0 && p.host_pid == pid) found = &p;
    } else {
      for (const PodPeer& p : peers) {
        NsId peer = ns.type == "ipc" ? p.ipc : p.uts;
        if (ns.id.valid() && peer == ns.id) found = &p;
      }
    }
    if (!found)
      return fail(what + " is not possible: the container joins the VM of the network namespace it shares, and only "
                  "the namespaces of the containers in that VM can be shared there (not the host's or another VM's)");
    *target = found->guest_name;
  }
  return join;
}

Result<std::optional<PodOwner>> find_pod_owner(const std::string& root, const std::string& netns_path) {
  if (netns_path.empty()) return std::optional<PodOwner>();
  NsId target = namespace_id(netns_path);
  if (!target.valid()) return std::optional<PodOwner>();
  for (ContainerState& s : list_containers(root)) {
    std::string status = live_status(s);
    bool carries = status != "stopped" && s.pid > 0 && process_namespace(s.pid, "net") == target;
    // A stopped container whose namespace (named by path) is this one:
    // its VM is gone, and a new one must not be booted in its place
    // silently.
    bool carried = status == "stopped" && !s.netns_path.empty() && namespace_id(s.netns_path) == target;
    if (!carries && !carried) continue;
    if (s.is_pod_member()) continue;  // its owner is in the list too
    if (carried)
      return fail("cannot join the network namespace " + netns_path + " of container " + s.id +
                  ": that container is stopped, and its VM with it; start the pod again");
    if (status != "running")
      return fail("cannot join the network namespace " + netns_path + " of container " + s.id + ": it is " + status +
                  ", and containers join only a running VM");
    std::string dir = root + "/" + s.id;
    return std::optional<PodOwner>(PodOwner{std::move(s), dir});
  }
  return std::optional<PodOwner>();
}

std::vector<PodPeer> pod_peers(const std::string& root, const PodOwner& owner) {
  std::vector<PodPeer> peers;
  auto peer_of = [](const ContainerState& s, std::string name) {
    return PodPeer{std::move(name), s.pid, process_namespace(s.pid, "ipc"), process_namespace(s.pid, "uts")};
  };
  peers.push_back(peer_of(owner.state, std::string(msg::kFirstContainer)));
  for (const ContainerState& s : list_containers(root))
    if (s.pod_owner == owner.state.id && !s.guest_name.empty() && live_status(s) != "stopped")
      peers.push_back(peer_of(s, s.guest_name));
  return peers;
}

Result<PodShare> PodShare::make(const std::string& state_dir) {
  std::string path = state_dir + "/" + kPodDir;
  if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("make the pod share " + path);
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) < 0)
    return fail_errno("bind the pod share " + path + " onto itself");
  PodShare share(path);
  if (::mount(nullptr, path.c_str(), nullptr, MS_SHARED, nullptr) < 0)
    return fail_errno("make the pod share " + path + " a shared mount");
  return share;
}

PodShare::~PodShare() {
  if (path_.empty()) return;
  if (::umount2(path_.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    log::warn("unmount the pod share " + path_ + ": " + std::strerror(errno));
  ::rmdir(path_.c_str());
}

void remove_pod_share(const std::string& state_dir) {
  std::string path = state_dir + "/" + kPodDir;
  // Everything a member mounted below it goes with it (MNT_DETACH takes the
  // whole subtree), in the host's namespace; the VM is gone already.
  while (::umount2(path.c_str(), MNT_DETACH) == 0) {
  }
  if (errno != EINVAL && errno != ENOENT) log::warn("unmount the pod share " + path + ": " + std::strerror(errno));
  if (Status s = io::remove_tree(path); !s) log::warn("remove the pod share: " + s.error().describe());
}

std::string member_dir(const std::string& owner_state_dir, const std::string& id) {
  return owner_state_dir + "/" + kPodDir + "/" + id;
}

Status mount_into_pod(const std::string& source, const std::string& target, bool readonly) {
  struct stat st;
  if (::stat(source.c_str(), &st) < 0) return fail_errno("mount " + source + " into the pod share");
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(target.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("make " + target);
  } else {
    UniqueFd file(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!file) return fail_errno("make " + target);
  }
  // A detached copy of the source and what is mounted below it, made
  // read-only before it is attached anywhere.
  UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!tree) return fail_errno("open_tree " + source);
  if (readonly) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      return fail_errno("make the copy of " + source + " read-only");
  }
  if (::move_mount(tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return fail_errno("mount " + source + " on " + target);
  return ok();
}

void remove_member_mounts(const std::string& dir, const std::vector<std::string>& mounts) {
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it)
    if (::umount2(it->c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
      log::warn("unmount " + *it + ": " + std::strerror(errno));
  if (dir.empty()) return;
  if (Status s = io::remove_tree(dir); !s) log::warn("remove " + dir + ": " + s.error().describe());
}

}  // namespace runvm::runtime
