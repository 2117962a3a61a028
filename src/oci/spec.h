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

struct Process {
  bool terminal = false;
  User user;
  std::vector<std::string> args;  // never empty after validation
  std::vector<std::string> env;   // "KEY=VALUE"
  std::string cwd = "/";          // absolute after validation
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  // Absent: the process keeps what its uid gets (all for root).
  std::optional<Capabilities> capabilities;
  // Apparmor, selinux, oomScoreAdj: parsed later issues.
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

struct Resources {
  std::optional<int64_t> memory_limit;  // bytes; linux.resources.memory.limit
  std::optional<int64_t> cpu_quota;     // linux.resources.cpu.quota (us)
  std::optional<uint64_t> cpu_period;   // linux.resources.cpu.period (us)
  std::optional<uint64_t> cpu_shares;   // linux.resources.cpu.shares
  std::optional<int64_t> pids_limit;    // linux.resources.pids.limit
  // linux.resources.devices has a rule allowing every device ("a *:* rwm"),
  // as Docker's and podman's --privileged give.
  bool allows_all_devices = false;
};

struct Spec {
  std::string oci_version;
  Process process;
  Root root;
  std::string hostname;
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
};

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
