#include "runtime/placement.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <map>
#include <thread>

#include "common/io.h"
#include "common/log.h"
#include "runtime/host_cgroup.h"
#include "transfer/in_root.h"

namespace runvm::runtime {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

// Every cgroup hierarchy mounted under /sys/fs/cgroup: the root itself on a
// pure cgroup v2 host, else each subdirectory that is a hierarchy root.
std::vector<std::string> hierarchies() {
  std::vector<std::string> out;
  struct stat st;
  if (::stat((std::string(kCgroupRoot) + "/cgroup.controllers").c_str(), &st) == 0)
    return {kCgroupRoot};
  DIR* dir = ::opendir(kCgroupRoot);
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    std::string path = std::string(kCgroupRoot) + "/" + e->d_name;
    if (e->d_name[0] == '.') continue;
    if (::lstat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;  // co-mount links
    if (::stat((path + "/cgroup.procs").c_str(), &st) == 0) out.push_back(path);
  }
  ::closedir(dir);
  return out;
}

// A new cgroup v1 cpuset starts with no CPUs and no memory nodes, and
// nothing can join it (ENOSPC) until they are copied from its parent.
void inherit_cpuset(const std::string& parent, const std::string& child) {
  for (const char* file : {"/cpuset.cpus", "/cpuset.mems"}) {
    auto mine = io::read_file(child + file);
    if (!mine || mine->find_first_not_of(" \n") != std::string::npos) continue;
    auto theirs = io::read_file(parent + file);
    if (!theirs) continue;
    if (auto fd = io::open_file(child + file, O_WRONLY)) (void)io::write_all(fd->get(), *theirs);
  }
}

void make_dirs(const std::string& base, const std::string& relative) {
  std::string path = base;
  size_t pos = 0;
  while (pos < relative.size()) {
    size_t next = relative.find('/', pos + 1);
    if (next == std::string::npos) next = relative.size();
    std::string parent = path;
    path += relative.substr(pos, next - pos);
    ::mkdir(path.c_str(), 0755);
    inherit_cpuset(parent, path);
    pos = next;
  }
}

// Whether a cgroup path (relative to each hierarchy's root) is absolute and
// lexically clean: no "..", "." or empty components, so that it cannot name
// a directory outside the hierarchy (cgroup_relative_path only makes such
// paths; state.json written by an older runvm might hold others).
bool is_confined(const std::string& relative) {
  if (relative.empty() || relative[0] != '/') return false;
  return confine_cgroup_path(relative) == relative;
}

Result<int> namespace_flag(const std::string& type) {
  static const std::map<std::string, int> kFlags = {
      {"network", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
      {"mount", CLONE_NEWNS},    {"pid", CLONE_NEWPID}, {"user", CLONE_NEWUSER},
      {"cgroup", CLONE_NEWCGROUP}};
  auto it = kFlags.find(type);
  if (it == kFlags.end()) return fail("linux.namespaces: unknown namespace type \"" + type + "\"");
  return it->second;
}

}  // namespace

Status enter_namespaces(const std::vector<oci::Namespace>& namespaces) {
  for (const auto& ns : namespaces) {
    int flag = TRY(namespace_flag(ns.type));
    if (flag == CLONE_NEWUSER)
      return fail("linux.namespaces: user namespaces are not supported by runvm yet "
                  "(the container is isolated by its VM; drop the user namespace)");
    if (flag == CLONE_NEWPID || flag == CLONE_NEWCGROUP) {
      // The process tree and its cgroup view are the guest's own.
      if (!ns.path.empty())
        return fail("linux.namespaces: joining the " + ns.type + " namespace " + ns.path +
                    " is not possible: the container's processes run inside its VM");
      continue;
    }
    if (ns.path.empty()) {
      if (::unshare(flag) < 0) return fail_errno("create a new " + ns.type + " namespace");
      // Mounts made on the host later (volumes, say) still reach us.
      if (flag == CLONE_NEWNS && ::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
        return fail_errno("make the mount namespace a slave of the host's");
      continue;
    }
    UniqueFd fd = TRY_CTX(io::open_file(ns.path, O_RDONLY), "linux.namespaces: " + ns.type);
    if (::setns(fd.get(), flag) < 0)
      return fail_errno("linux.namespaces: join the " + ns.type + " namespace " + ns.path);
  }
  return ok();
}

std::string confine_cgroup_path(const std::string& path) {
  auto parts = transfer::clean_components(path);
  return "/" + transfer::join_components(parts, parts.size());
}

std::string cgroup_relative_path(const std::string& cgroups_path, bool systemd,
                                 const std::string& own_cgroup) {
  if (cgroups_path.empty()) return "";
  // Every form is cleaned as if rooted at "/", as runc's utils.CleanPath
  // does: ".." never climbs above the hierarchy's root (or, for a relative
  // path, above our own cgroup).
  size_t first = cgroups_path.find(':');
  if (systemd || (first != std::string::npos && cgroups_path.find(':', first + 1) != std::string::npos)) {
    size_t second = cgroups_path.find(':', first + 1);
    std::string slice = cgroups_path.substr(0, first);
    std::string prefix = cgroups_path.substr(first + 1, second - first - 1);
    std::string name = cgroups_path.substr(second + 1);
    if (slice.empty()) slice = "system.slice";
    return confine_cgroup_path("/" + slice + "/" + (prefix.empty() ? "" : prefix + "-") + name +
                               ".scope");
  }
  if (cgroups_path[0] == '/') return confine_cgroup_path(cgroups_path);
  std::string base = confine_cgroup_path(own_cgroup);
  std::string below = confine_cgroup_path("/" + cgroups_path);
  if (below == "/") return base;
  return (base == "/" ? "" : base) + below;
}

std::string default_cgroup_path(const std::string& id, bool systemd) {
  return confine_cgroup_path(systemd ? "/system.slice/runc-" + id + ".scope" : "/" + id);
}

bool freezer_says_frozen(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return text == "FROZEN" || text == "FREEZING" || text == "1";
}

Status check_cgroup_before_join(const std::string& relative) {
  if (relative.empty() || relative == "/") return ok();
  if (!is_confined(relative))
    return fail("linux.cgroupsPath: " + relative + " is not a clean path inside the cgroup tree");
  size_t processes = 0;
  for (const auto& hierarchy : hierarchies()) {
    std::string dir = hierarchy + relative;
    for (const char* file : {"/freezer.state", "/cgroup.freeze"})
      if (auto state = io::read_file(dir + file); state && freezer_says_frozen(*state))
        return fail("container's cgroup unexpectedly frozen");
    if (auto procs = io::read_file(dir + "/cgroup.procs")) {
      size_t count = static_cast<size_t>(std::count(procs->begin(), procs->end(), '\n'));
      processes = std::max(processes, count);
    }
  }
  if (processes > 0)
    log::warn("container's cgroup is not empty: " + std::to_string(processes) + " process(es) found");
  return ok();
}

Status join_cgroup(const std::string& relative) {
  if (relative.empty()) return ok();
  if (!is_confined(relative))
    return fail("linux.cgroupsPath: " + relative + " is not a clean path inside the cgroup tree");
  std::string pid = std::to_string(::getpid());
  std::string dir = relative == "/" ? "" : relative;
  for (const auto& hierarchy : hierarchies()) {
    make_dirs(hierarchy, dir);
    std::string procs = hierarchy + dir + "/cgroup.procs";
    UniqueFd fd = TRY_CTX(io::open_file(procs, O_WRONLY), "linux.cgroupsPath");
    TRY_CTX(io::write_all(fd.get(), pid), "join cgroup " + hierarchy + dir);
  }
  return ok();
}

uint64_t host_memory_limit_bytes(uint64_t vm_memory_mib) {
  return (vm_memory_mib + kHostMemoryAllowanceMiB) * 1024 * 1024;
}

Status limit_cgroup_memory(const std::string& relative, uint64_t bytes) {
  if (relative.empty() || relative == "/") return ok();
  if (!is_confined(relative))
    return fail("linux.cgroupsPath: " + relative + " is not a clean path inside the cgroup tree");
  std::string value = std::to_string(bytes);
  for (const auto& hierarchy : hierarchies()) {
    for (const char* file : {"/memory.limit_in_bytes", "/memory.max"}) {
      std::string path = hierarchy + relative + file;
      auto fd = io::open_file(path, O_WRONLY);
      if (!fd) continue;  // not a memory hierarchy
      TRY_CTX(io::write_all(fd->get(), value), "set " + path);
    }
  }
  return ok();
}

Status apply_host_resources(const std::string& relative, const oci::Resources& resources) {
  auto writes = host_cgroup_writes(resources);
  if (writes.empty() || relative.empty() || relative == "/") return ok();
  if (!is_confined(relative))
    return fail("linux.cgroupsPath: " + relative + " is not a clean path inside the cgroup tree");
  auto all = hierarchies();
  for (const CgroupWrite& w : writes) {
    bool written = false;
    for (const auto& hierarchy : all) {
      for (const auto& c : w.candidates) {
        std::string path = hierarchy + relative + "/" + c.file;
        auto fd = io::open_file(path, O_WRONLY);
        if (!fd) continue;  // not this controller's hierarchy
        TRY_CTX(io::write_all(fd->get(), c.value),
                "linux.resources." + w.field + ": write \"" + c.value + "\" to " + path);
        written = true;
        break;
      }
    }
    if (!written) {
      std::string files;
      for (const auto& c : w.candidates) files += (files.empty() ? "" : ", ") + c.file;
      return fail("linux.resources." + w.field + ": no cgroup hierarchy on this host has " + files +
                  " for the VM's cgroup " + relative + ", so it cannot be applied (runc cannot either)");
    }
  }
  return ok();
}

void remove_cgroup(const std::string& relative, std::chrono::milliseconds wait) {
  if (relative.empty() || relative == "/") return;
  if (!is_confined(relative)) {
    log::warn("not removing cgroup " + relative + ": not a clean path inside the cgroup tree");
    return;
  }
  // The processes that were in it may still be exiting (a virtiofsd
  // worker goes a moment after QEMU, a killed monitor's children after it;
  // on a loaded host, or under the container's own CPU limits, that takes
  // seconds): EBUSY is waited out, up to `wait` for all hierarchies
  // together. Nothing is killed: another container may share the cgroup
  // (the same cgroupsPath), and a failed create must not take it down.
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (const auto& hierarchy : hierarchies()) {
    std::string path = hierarchy + relative;
    while (::rmdir(path.c_str()) < 0 && errno != ENOENT) {
      if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline) {
        log::warn("remove cgroup " + path + ": " + std::strerror(errno));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace runvm::runtime
