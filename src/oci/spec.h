// The subset of the OCI runtime spec (config.json) that runvm acts on, parsed
// and validated. Shared by host and guest: the host validates the bundle, and
// sends the guest the parts it applies (process, root, hostname, mounts) as
// JSON produced by to_json() below.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "oci/seccomp.h"

namespace runvm::oci {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE", ...
  uint64_t hard = 0;
  uint64_t soft = 0;
};

// process.capabilities: names as in the spec ("CAP_KILL"). Unknown names are
// kept; the guest skips those its kernel lacks, as runc does.
struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

// process.consoleSize: the terminal's size at start.
struct ConsoleSize {
  uint16_t height = 0, width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;  // never empty after validation
  std::vector<std::string> env;   // "KEY=VALUE"
  std::string cwd = "/";          // absolute after validation
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  // Absent: the process keeps what its uid gets (all for root).
  std::optional<Capabilities> capabilities;
  // process.oomScoreAdj (-1000 to 1000). Absent: an exec takes the
  // container's; init keeps the agent's (0).
  std::optional<int> oom_score_adj;
  // process.apparmorProfile and process.selinuxLabel are accepted and not
  // applied: the guest kernel has neither policy loaded (ARCHITECTURE,
  // "What the spec asks that runvm refuses or leaves").
};

struct Root {
  std::string path = "rootfs";  // as written in config.json
  bool readonly = false;
};

struct Mount {
  std::string destination;  // absolute
  std::string type;         // may be empty (bind)
  std::string source;
  std::vector<std::string> options;
};

struct Namespace {
  std::string type;  // "pid", "network", "mount", "ipc", "uts", "user", "cgroup"
  std::string path;  // empty: a new namespace
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container,
      start_container, poststart, poststop;
};

// linux.devices[]: a node to create in the container's /dev.
struct Device {
  std::string path;
  char type = 'c';  // 'c' (or 'u'), 'b', 'p'
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid, gid;
};

// linux.resources: what the guest cgroup applies (proto/messages.h's
// msg::Resources carries it) and what sizes the VM. What runvm cannot honour
// is refused by the parser, naming the field.
// linux.resources.blockIO. The container's I/O reaches the host's disks
// through QEMU and virtiofsd, so these apply to the host cgroup that holds
// them (runtime/host_cgroup.h), not in the guest, which has no block device.
struct BlockDeviceWeight {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};
struct BlockDeviceRate {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};
struct BlockIO {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<BlockDeviceWeight> weight_device;
  std::vector<BlockDeviceRate> throttle_read_bps, throttle_write_bps, throttle_read_iops, throttle_write_iops;
  bool empty() const {
    return !weight.value_or(0) && !leaf_weight.value_or(0) && weight_device.empty() && throttle_read_bps.empty() &&
           throttle_write_bps.empty() && throttle_read_iops.empty() && throttle_write_iops.empty();
  }
};

struct Resources {
  BlockIO block_io;
  std::optional<int64_t> memory_limit;  // bytes; linux.resources.memory.limit
  std::optional<int64_t> memory_reservation;  // bytes; memory.reservation -> memory.low
  std::optional<int64_t> memory_swap;         // memory.swap (memory + swap, runc's v1 sense)
  // memory.swappiness and memory.disableOOMKiller: runc ignores both on
  // cgroup v2 (no such files); runvm too, with a warning when they ask for
  // something (swappiness set, disableOOMKiller true).
  std::optional<uint64_t> memory_swappiness;
  bool disable_oom_killer = false;
  std::optional<int64_t> cpu_quota;     // linux.resources.cpu.quota (us)
  std::optional<uint64_t> cpu_period;   // linux.resources.cpu.period (us)
  std::optional<uint64_t> cpu_shares;   // linux.resources.cpu.shares
  std::optional<int64_t> pids_limit;    // linux.resources.pids.limit
  std::string cpuset_cpus, cpuset_mems;  // cpu.cpus, cpu.mems ("0-2,4"); "" unset
  // linux.resources.unified: cgroup v2 file -> value, as runc validates
  // the names (CONTROLLER.PARAMETER, no '/').
  std::map<std::string, std::string> unified;
  // linux.resources.devices has a rule allowing every device ("a *:* rwm"),
  // as Docker's and podman's --privileged give.
  bool allows_all_devices = false;
};

struct Spec {
  std::string oci_version;
  Process process;
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::vector<Namespace> namespaces;
  std::vector<Device> devices;
  Hooks hooks;
  Resources resources;
  std::string cgroups_path;
  std::map<std::string, std::string> annotations;
  // linux.maskedPaths, linux.readonlyPaths: absolute paths in the container.
  std::vector<std::string> masked_paths, readonly_paths;
  std::optional<Seccomp> seccomp;  // linux.seccomp
  // linux.rootfsPropagation: "" (runc's default) or one of runc's values
  // (oci/mount_options.h, root_propagation_flags).
  std::string root_propagation;
  // linux.sysctl, validated (check_sysctl): written in the container's
  // namespaces in the guest before its process starts.
  std::map<std::string, std::string> sysctl;
};

// Bounds on linux.sysctl and linux.resources.unified (both ends check them).
constexpr size_t kMaxSysctls = 1024;
constexpr size_t kMaxSysctlName = 256;
constexpr size_t kMaxSysctlValue = 4096;
constexpr size_t kMaxUnified = 256;
constexpr size_t kMaxDeviceEntries = 256;  // each of linux.resources.blockIO's device lists

// Whether runvm can write sysctl `name` = `value` in the guest: a name made
// of dot-separated components without '/', "..", NUL; runc's namespaced
// ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*,
// kernel.domainname) and, since the guest kernel is the container's alone,
// the others too, except kernel.hostname (linux's hostname field) and those
// that make the kernel run a program outside the container (a piped
// kernel.core_pattern, kernel.modprobe, kernel.poweroff_cmd,
// kernel.hotplug, kernel.usermodehelper.*). `path` names the field.
Status check_sysctl(const std::string& name, const std::string& value, const std::string& path);

// A key of linux.resources.unified as runc accepts it (a file name
// CONTROLLER.PARAMETER) and its value; runvm also refuses the files that act
// on processes rather than limits (cgroup.procs, cgroup.threads,
// cgroup.kill).
Status check_unified(const std::string& key, const std::string& value, const std::string& path);

// A cpuset list ("0-3,5"): the highest number in it, or nullopt for "".
// `path` names the field in errors.
Result<std::optional<unsigned>> highest_in_cpu_list(const std::string& list, const std::string& path);

// linux.resources as config.json or `update --resources` gives it, checked
// and with what runvm cannot honour refused, as in config.json. For an
// update, a swap limit may come without a memory limit (it counts from the
// one in force).
Result<Resources> resources_from_json(const nlohmann::json& json, const std::string& path,
                                      bool update = false);

// Parses and validates config.json text. Every error names the file (as
// given by `source`) and the field, e.g.
//   "config.json: process.args: must not be empty".
Result<Spec> parse_spec(const std::string& json_text,
                        const std::string& source = "config.json");

// Reads BUNDLE/config.json and parses it; an absent file gets an error that
// says a bundle needs one (and that `runvm spec` writes a default).
Result<Spec> load_bundle_spec(const std::string& bundle_dir);

// The process part as JSON (OCI field names), for sending to the guest.
nlohmann::json process_to_json(const Process& process);
Result<Process> process_from_json(const nlohmann::json& json);

// Mounts as JSON (OCI field names), for sending to the guest.
nlohmann::json mounts_to_json(const std::vector<Mount>& mounts);
Result<std::vector<Mount>> mounts_from_json(const nlohmann::json& json);

// linux.maskedPaths or linux.readonlyPaths as the create message carries
// them: an array of at most kMaxConfinedPaths absolute paths. `path` names
// the field in errors.
constexpr size_t kMaxConfinedPaths = 1024;
Result<std::vector<std::string>> confined_paths_from_json(const nlohmann::json& json,
                                                          const std::string& path);

// linux.rootfsPropagation as the create message carries it: "" or one of
// runc's values; `path` names the field in errors.
Result<std::string> root_propagation_from_json(const nlohmann::json& json, const std::string& path);

// The default config.json that `runvm spec` writes (runc's shape).
std::string default_spec_json();

}  // namespace runvm::oci
