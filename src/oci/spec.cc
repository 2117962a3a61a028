#include "oci/spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <limits>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/io.h"
#include "common/json_bytes.h"
#include "oci/fields.h"
#include "oci/mount_options.h"

namespace runvm::oci {
namespace {

using nlohmann::json;
using namespace fields;

// A uid or gid: runc's range, 0 to 2^31-1 (libcontainer/user). Above it an
// id wraps in the kernel's eyes: 4294967295 is -1, which setresuid(2) takes
// as "leave unchanged", so the process would keep running as root.
Result<uint32_t> get_id(const json& v, const std::string& path) {
  uint64_t id = TRY(get_unsigned<uint64_t>(v, path));
  if (id > 2147483647) return bad(path, "uids and gids must be in range 0-2147483647");
  return static_cast<uint32_t>(id);
}


// A Linux string (an argument, an environment entry, a path): bytes, which
// the wire form may carry as {"hex": ...} when they are not UTF-8
// (common/json_bytes.h). A config.json written by hand never needs it.
Result<std::string> get_bytes(const json& v, const std::string& path) {
  return json_bytes::decode(v, path);
}

Result<std::vector<std::string>> get_byte_strings(const json& v, const std::string& path) {
  return get_array<std::string>(v, path, get_bytes);
}

Result<std::string> get_absolute_path_bytes(const json& v, const std::string& path) {
  std::string s = TRY(get_bytes(v, path));
  if (!s.starts_with('/'))
    return bad(path, "must be an absolute path (got " + as_literal(s) + ")");
  return s;
}

Result<std::string> get_env_entry(const json& v, const std::string& path) {
  std::string s = TRY(get_bytes(v, path));
  if (s.find('=') == std::string::npos)
    return bad(path, "expected KEY=VALUE (got " + as_literal(s) + ")");
  return s;
}

Result<std::vector<std::string>> get_env(const json& v, const std::string& path) {
  return get_array<std::string>(v, path, get_env_entry);
}

// ---------------------------------------------------------------------------
// process

Result<User> parse_user(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  User user;
  TRY(read_optional(v, path, "uid", user.uid, get_id));
  TRY(read_optional(v, path, "gid", user.gid, get_id));
  TRY(read_optional(v, path, "umask", user.umask, get_unsigned<uint32_t>));
  auto gids = [](const json& g, const std::string& p) {
    return get_array<uint32_t>(g, p, get_id);
  };
  TRY(read_optional(v, path, "additionalGids", user.additional_gids, gids));
  return user;
}

// The resources setrlimit(2) knows on Linux; the spec says a type the
// platform lacks is an error, and catching it here beats failing in the VM.
Status check_rlimit_type(const std::string& type, const std::string& path) {
  static const std::set<std::string, std::less<>> kKnown = {
      "CPU",     "FSIZE",  "DATA",    "STACK", "CORE",  "RSS",
      "NPROC",   "NOFILE", "MEMLOCK", "AS",    "LOCKS", "SIGPENDING",
      "MSGQUEUE", "NICE",  "RTPRIO",  "RTTIME"};
  constexpr std::string_view kPrefix = "RLIMIT_";
  if (!type.starts_with(kPrefix))
    return bad(path, "must start with RLIMIT_ (got " + as_literal(type) + ")");
  if (!kKnown.contains(std::string_view(type).substr(kPrefix.size())))
    return bad(path, "unknown rlimit " + as_literal(type));
  return ok();
}

Result<Rlimit> parse_rlimit(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Rlimit r;
  TRY(read_required(v, path, "type", r.type, get_string));
  TRY(check_rlimit_type(r.type, member(path, "type")));
  TRY(read_required(v, path, "hard", r.hard, get_unsigned<uint64_t>));
  TRY(read_required(v, path, "soft", r.soft, get_unsigned<uint64_t>));
  if (r.soft > r.hard)
    return bad(member(path, "soft"), "must not exceed hard (" +
                                         std::to_string(r.soft) + " > " +
                                         std::to_string(r.hard) + ")");
  return r;
}

// The spec requires an error for a type given twice: which one wins would
// otherwise depend on the runtime.
Result<std::vector<Rlimit>> get_rlimits(const json& v, const std::string& path) {
  auto rlimits = TRY(get_array<Rlimit>(v, path, parse_rlimit));
  std::set<std::string> seen;
  for (size_t i = 0; i < rlimits.size(); ++i)
    if (!seen.insert(rlimits[i].type).second)
      return bad(member(element(path, i), "type"),
                 "duplicate rlimit " + as_literal(rlimits[i].type));
  return rlimits;
}

Result<Capabilities> parse_capabilities(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Capabilities c;
  TRY(read_optional(v, path, "bounding", c.bounding, get_strings));
  TRY(read_optional(v, path, "effective", c.effective, get_strings));
  TRY(read_optional(v, path, "inheritable", c.inheritable, get_strings));
  TRY(read_optional(v, path, "permitted", c.permitted, get_strings));
  TRY(read_optional(v, path, "ambient", c.ambient, get_strings));
  return c;
}

Result<ConsoleSize> parse_console_size(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  ConsoleSize size;
  TRY(read_required(v, path, "height", size.height, get_unsigned<uint16_t>));
  TRY(read_required(v, path, "width", size.width, get_unsigned<uint16_t>));
  return size;
}

Result<int> get_oom_score_adj(const json& v, const std::string& path) {
  int adj = TRY(get_signed<int>(v, path));
  if (adj < -1000 || adj > 1000) return bad(path, "must be from -1000 to 1000 (got " + std::to_string(adj) + ")");
  return adj;
}

// A member runvm knows and cannot honour: refused when present, naming it
// and why.
Status refuse_member(const json& object, const std::string& path, const std::string& key,
                     const std::string& why) {
  if (find(object, key)) return bad(member(path, key), why);
  return ok();
}

Result<Process> parse_process(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Process p;
  TRY(read_optional(v, path, "terminal", p.terminal, get_bool));
  TRY(read_optional(v, path, "consoleSize", p.console_size, parse_console_size));
  TRY(read_optional(v, path, "oomScoreAdj", p.oom_score_adj, get_oom_score_adj));
  // Accepted, not applied: the guest kernel has no AppArmor or SELinux
  // policy (as runc on a host without them for AppArmor); engines send them
  // by default where the host has one.
  std::string unused;
  TRY(read_optional(v, path, "apparmorProfile", unused, get_string));
  TRY(read_optional(v, path, "selinuxLabel", unused, get_string));
  TRY(refuse_member(v, path, "ioPriority",
                    "not supported by runvm: the container's files are served by virtio-fs, which has no "
                    "I/O scheduler in the VM to prioritize; drop it"));
  TRY(refuse_member(v, path, "scheduler", "not supported by runvm yet; drop it"));
  TRY(refuse_member(v, path, "execCPUAffinity", "not supported by runvm yet; drop it"));
  TRY(read_optional(v, path, "user", p.user, parse_user));
  TRY(read_required(v, path, "args", p.args, get_byte_strings));
  if (p.args.empty()) return bad(member(path, "args"), "must not be empty");
  TRY(read_optional(v, path, "env", p.env, get_env));
  TRY(read_optional(v, path, "cwd", p.cwd, get_absolute_path_bytes));
  TRY(read_optional(v, path, "rlimits", p.rlimits, get_rlimits));
  TRY(read_optional(v, path, "noNewPrivileges", p.no_new_privileges, get_bool));
  TRY(read_optional(v, path, "capabilities", p.capabilities, parse_capabilities));
  return p;
}

// ---------------------------------------------------------------------------
// root, mounts

Result<std::string> get_nonempty_string(const json& v, const std::string& path) {
  std::string s = TRY(get_string(v, path));
  if (s.empty()) return bad(path, "must not be empty");
  return s;
}

Result<Root> parse_root(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Root root;
  TRY(read_required(v, path, "path", root.path, get_nonempty_string));
  TRY(read_optional(v, path, "readonly", root.readonly, get_bool));
  return root;
}

Result<Mount> parse_mount(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Mount m;
  TRY(read_required(v, path, "destination", m.destination, get_absolute_path));
  TRY(read_optional(v, path, "type", m.type, get_string));
  TRY(read_optional(v, path, "source", m.source, get_string));
  TRY(read_optional(v, path, "options", m.options, get_strings));
  // runc passes such a mount to mount(2) with no filesystem type, which
  // fails with ENODEV ("no such device"); refused here, before anything exists.
  if (m.type.empty() && !is_bind(m))
    return bad(path, "the mount at " + m.destination +
                         " has neither a type nor the bind option (runc fails it with "
                         "\"no such device\")");
  return m;
}

Result<std::vector<Mount>> get_mounts(const json& v, const std::string& path) {
  return get_array<Mount>(v, path, parse_mount);
}

// ---------------------------------------------------------------------------
// linux

Result<Namespace> parse_namespace(const json& v, const std::string& path) {
  static const std::set<std::string> kTypes = {
      "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
  TRY(expect_object(v, path));
  Namespace ns;
  TRY(read_required(v, path, "type", ns.type, get_string));
  if (!kTypes.contains(ns.type))
    return bad(member(path, "type"), "unknown namespace type " + as_literal(ns.type));
  if (ns.type == "user")
    return bad(member(path, "type"),
               "user namespaces are not supported by runvm yet (the container is isolated by its VM; "
               "drop the user namespace)");
  if (ns.type == "time")
    return bad(member(path, "type"), "time namespaces are not supported by runvm yet; drop it");
  TRY(read_optional(v, path, "path", ns.path, get_absolute_path));
  return ns;
}

// A namespace listed twice is ambiguous (new or joined?), an error per spec.
Result<std::vector<Namespace>> get_namespaces(const json& v,
                                              const std::string& path) {
  auto namespaces = TRY(get_array<Namespace>(v, path, parse_namespace));
  std::set<std::string> seen;
  for (size_t i = 0; i < namespaces.size(); ++i)
    if (!seen.insert(namespaces[i].type).second)
      return bad(member(element(path, i), "type"),
                 "duplicate namespace " + as_literal(namespaces[i].type));
  return namespaces;
}

// runc's ConvertMemorySwapToCgroupV2Value checks: a swap limit needs a
// memory limit no larger than it.
Status check_swap(const Resources& r, const std::string& path) {
  int64_t swap = r.memory_swap.value_or(0), memory = r.memory_limit.value_or(0);
  if (swap == 0 || swap == -1) return ok();
  if (swap < -1) return bad(member(path, "swap"), "must be -1 (unlimited), 0 (unset) or a size");
  if (memory == 0 || memory == -1)
    return bad(member(path, "swap"), "unable to set swap limit without memory limit");
  if (memory < 0) return bad(member(path, "limit"), "invalid memory value: " + std::to_string(memory));
  if (swap < memory) return bad(member(path, "swap"), "memory+swap limit should be >= memory limit");
  return ok();
}

Status parse_memory(const json& v, const std::string& path, Resources& r, bool update) {
  TRY(expect_object(v, path));
  TRY(read_optional(v, path, "limit", r.memory_limit, get_signed<int64_t>));
  TRY(read_optional(v, path, "reservation", r.memory_reservation, get_signed<int64_t>));
  TRY(read_optional(v, path, "swap", r.memory_swap, get_signed<int64_t>));
  TRY(read_optional(v, path, "swappiness", r.memory_swappiness, get_unsigned<uint64_t>));
  TRY(read_optional(v, path, "disableOOMKiller", r.disable_oom_killer, get_bool));
  // kernel, kernelTCP, useHierarchy, checkBeforeUpdate: cgroup v1 only,
  // ignored on v2 by runc as here (v2 accounts kernel memory with the rest).
  int64_t unused = 0;
  TRY(read_optional(v, path, "kernel", unused, get_signed<int64_t>));
  TRY(read_optional(v, path, "kernelTCP", unused, get_signed<int64_t>));
  if (r.memory_reservation && *r.memory_reservation < -1)
    return bad(member(path, "reservation"), "must be -1 (unlimited), 0 (unset) or a size");
  // An update's swap alone counts from the limit in force (checked in the guest).
  if (!update || r.memory_limit) TRY(check_swap(r, path));
  return ok();
}

Result<std::string> get_cpu_list(const json& v, const std::string& path) {
  std::string list = TRY(get_string(v, path));
  TRY(highest_in_cpu_list(list, path));
  return list;
}

// A realtime, burst or idle setting: refused unless 0 (runc's "unset").
Status refuse_nonzero(const json& object, const std::string& path, const std::string& key,
                      const std::string& why) {
  const json* value = find(object, key);
  if (!value) return ok();
  if (!value->is_number_integer()) return bad(member(path, key), "expected an integer");
  if (*value != 0) return bad(member(path, key), why);
  return ok();
}

Status parse_cpu(const json& v, const std::string& path, Resources& r) {
  TRY(expect_object(v, path));
  TRY(read_optional(v, path, "quota", r.cpu_quota, get_signed<int64_t>));
  TRY(read_optional(v, path, "period", r.cpu_period, get_unsigned<uint64_t>));
  TRY(read_optional(v, path, "shares", r.cpu_shares, get_unsigned<uint64_t>));
  TRY(read_optional(v, path, "cpus", r.cpuset_cpus, get_cpu_list));
  TRY(read_optional(v, path, "mems", r.cpuset_mems, get_cpu_list));
  // The VM has one memory node.
  if (!r.cpuset_mems.empty() && r.cpuset_mems != "0")
    return bad(member(path, "mems"), "the VM has one memory node, 0 (got " + as_literal(r.cpuset_mems) + ")");
  for (const char* key : {"realtimeRuntime", "realtimePeriod"})
    TRY(refuse_nonzero(v, path, key,
                       "realtime CPU time is not supported by runvm: the VM's vCPUs are ordinary host "
                       "threads, and the guest cgroup is v2, which has no realtime budget; drop it"));
  TRY(refuse_nonzero(v, path, "burst", "not supported by runvm yet; drop it"));
  TRY(refuse_nonzero(v, path, "idle", "not supported by runvm yet; drop it"));
  return ok();
}

// linux.resources.hugepageLimits: the VM has no huge pages reserved, so a
// limit of 0 (what Kubernetes sends for every page size) already holds;
// any other would promise pages that do not exist.
Status check_hugepage_limits(const json& v, const std::string& path) {
  if (!v.is_array()) return bad(path, "expected an array");
  for (size_t i = 0; i < v.size(); ++i) {
    std::string entry = element(path, i);
    TRY(expect_object(v[i], entry));
    uint64_t limit = 0;
    TRY(read_optional(v[i], entry, "limit", limit, get_unsigned<uint64_t>));
    if (limit != 0)
      return bad(member(entry, "limit"),
                 "huge pages are not supported by runvm: the VM has none reserved; drop the limit");
  }
  return ok();
}

// linux.resources.network (net_cls classID, net_prio priorities): cgroup v1
// controllers that tag the host's traffic; the guest is v2 and its traffic
// leaves through a tap that no host cgroup sees.
Status check_network(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  const char* why =
      "net_cls and net_prio are not supported by runvm: they are cgroup v1 controllers and the "
      "container's traffic leaves its VM through a tap; drop it";
  TRY(refuse_member(v, path, "classID", why));
  const json* priorities = find(v, "priorities");
  if (priorities && (!priorities->is_array() || !priorities->empty()))
    return bad(member(path, "priorities"), why);
  return ok();
}

// linux.resources.blockIO, typed as runc takes it (the kernel judges the
// values). Docker sends {"weight": 0} (unset) by default.
Result<uint16_t> get_weight(const json& v, const std::string& path) {
  return get_unsigned<uint16_t>(v, path);
}

Result<BlockDeviceWeight> get_device_weight(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  BlockDeviceWeight d;
  TRY(read_required(v, path, "major", d.major, get_signed<int64_t>));
  TRY(read_required(v, path, "minor", d.minor, get_signed<int64_t>));
  TRY(read_optional(v, path, "weight", d.weight, get_weight));
  TRY(read_optional(v, path, "leafWeight", d.leaf_weight, get_weight));
  if (d.major < 0 || d.minor < 0) return bad(path, "a device's major and minor are not negative");
  return d;
}

Result<BlockDeviceRate> get_device_rate(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  BlockDeviceRate d;
  TRY(read_required(v, path, "major", d.major, get_signed<int64_t>));
  TRY(read_required(v, path, "minor", d.minor, get_signed<int64_t>));
  TRY(read_required(v, path, "rate", d.rate, get_unsigned<uint64_t>));
  if (d.major < 0 || d.minor < 0) return bad(path, "a device's major and minor are not negative");
  return d;
}

template <typename T, typename Get>
Status read_list(const json& v, const std::string& path, const char* key, std::vector<T>& out, Get get) {
  const json* list = find(v, key);
  if (!list || list->is_null()) return ok();
  if (!list->is_array()) return bad(member(path, key), "expected an array");
  if (list->size() > kMaxDeviceEntries)
    return bad(member(path, key), "too many entries (at most " + std::to_string(kMaxDeviceEntries) + ")");
  for (size_t i = 0; i < list->size(); ++i) out.push_back(TRY(get((*list)[i], element(member(path, key), i))));
  return ok();
}

Result<BlockIO> get_block_io(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  BlockIO b;
  TRY(read_optional(v, path, "weight", b.weight, get_weight));
  TRY(read_optional(v, path, "leafWeight", b.leaf_weight, get_weight));
  TRY(read_list(v, path, "weightDevice", b.weight_device, get_device_weight));
  TRY(read_list(v, path, "throttleReadBpsDevice", b.throttle_read_bps, get_device_rate));
  TRY(read_list(v, path, "throttleWriteBpsDevice", b.throttle_write_bps, get_device_rate));
  TRY(read_list(v, path, "throttleReadIOPSDevice", b.throttle_read_iops, get_device_rate));
  TRY(read_list(v, path, "throttleWriteIOPSDevice", b.throttle_write_iops, get_device_rate));
  return b;
}

Result<std::map<std::string, std::string>> get_unified(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  if (v.size() > kMaxUnified) return bad(path, "too many entries (at most " + std::to_string(kMaxUnified) + ")");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    std::string text = TRY(get_string(value, member(path, key)));
    TRY(check_unified(key, text, path));
    out[key] = text;
  }
  return out;
}

Status parse_pids(const json& v, const std::string& path, Resources& r) {
  TRY(expect_object(v, path));
  TRY(read_optional(v, path, "limit", r.pids_limit, get_signed<int64_t>));
  return ok();
}

Result<bool> allows_all_devices(const json& v, const std::string& path) {
  if (!v.is_array()) return bad(path, "must be an array");
  bool all = false;
  for (const auto& rule : v) {
    if (!rule.is_object()) continue;
    bool allow = rule.value("allow", false) == true;
    std::string type = rule.contains("type") && rule["type"].is_string() ? rule["type"].get<std::string>() : "a";
    bool any_number = (!rule.contains("major") || rule["major"].is_null() || rule["major"] == -1) &&
                      (!rule.contains("minor") || rule["minor"].is_null() || rule["minor"] == -1);
    if (type == "a" && any_number) all = allow;  // the last matching rule wins
  }
  return all;
}

Result<Resources> parse_resources(const json& v, const std::string& path, bool update = false) {
  TRY(expect_object(v, path));
  Resources r;
  if (const json* memory = find(v, "memory"))
    TRY(parse_memory(*memory, member(path, "memory"), r, update));
  if (const json* cpu = find(v, "cpu"))
    TRY(parse_cpu(*cpu, member(path, "cpu"), r));
  if (const json* pids = find(v, "pids"))
    TRY(parse_pids(*pids, member(path, "pids"), r));
  if (const json* devices = find(v, "devices"))
    r.allows_all_devices = TRY(allows_all_devices(*devices, member(path, "devices")));
  TRY(read_optional(v, path, "unified", r.unified, get_unified));
  if (const json* pages = find(v, "hugepageLimits"))
    TRY(check_hugepage_limits(*pages, member(path, "hugepageLimits")));
  if (const json* network = find(v, "network")) TRY(check_network(*network, member(path, "network")));
  TRY(read_optional(v, path, "blockIO", r.block_io, get_block_io));
  if (const json* rdma = find(v, "rdma"); rdma && (!rdma->is_object() || !rdma->empty()))
    return bad(member(path, "rdma"), "RDMA devices are not supported by runvm: the VM has none; drop it");
  return r;
}

Result<Device> parse_device(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Device d;
  std::string type;
  TRY(read_required(v, path, "path", d.path, get_absolute_path));
  TRY(read_required(v, path, "type", type, get_string));
  if (type != "c" && type != "u" && type != "b" && type != "p")
    return bad(member(path, "type"), "must be c, u, b or p, not " + as_literal(type));
  d.type = type == "u" ? 'c' : type[0];
  if (d.type != 'p') {
    TRY(read_required(v, path, "major", d.major, get_signed<int64_t>));
    TRY(read_required(v, path, "minor", d.minor, get_signed<int64_t>));
  }
  TRY(read_optional(v, path, "fileMode", d.file_mode, get_unsigned<uint32_t>));
  TRY(read_optional(v, path, "uid", d.uid, get_unsigned<uint32_t>));
  TRY(read_optional(v, path, "gid", d.gid, get_unsigned<uint32_t>));
  return d;
}

Result<std::vector<Device>> get_devices(const json& v, const std::string& path) {
  return get_array<Device>(v, path, parse_device);
}

// An absolute path without NUL bytes, no longer than PATH_MAX.
Result<std::string> get_confined_path(const json& v, const std::string& path) {
  std::string s = TRY(get_absolute_path(v, path));
  if (s.find('\0') != std::string::npos) return bad(path, "must not contain a NUL byte");
  if (s.size() >= 4096) return bad(path, "too long (at most 4095 bytes)");
  return s;
}

Result<std::vector<std::string>> get_confined_paths(const json& v, const std::string& path) {
  if (v.is_array() && v.size() > kMaxConfinedPaths)
    return bad(path, "too many paths (at most " + std::to_string(kMaxConfinedPaths) + ")");
  return get_array<std::string>(v, path, get_confined_path);
}

Result<Seccomp> get_seccomp(const json& v, const std::string& path) {
  return seccomp_from_json(v, path);
}

Result<std::string> get_root_propagation(const json& v, const std::string& path) {
  std::string value = TRY(get_string(v, path));
  if (!root_propagation_flags(value))
    return bad(path, "unsupported value " + as_literal(value) +
                         " (runc's: shared, slave, private, unbindable, rshared, rslave, "
                         "rprivate, runbindable)");
  return value;
}

Result<std::map<std::string, std::string>> get_sysctls(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  if (v.size() > kMaxSysctls) return bad(path, "too many entries (at most " + std::to_string(kMaxSysctls) + ")");
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : v.items()) {
    std::string text = TRY(get_string(value, member(path, name)));
    TRY(check_sysctl(name, text, path));
    out[name] = text;
  }
  return out;
}

Status parse_linux(const json& v, const std::string& path, Spec& spec) {
  TRY(expect_object(v, path));
  TRY(read_optional(v, path, "rootfsPropagation", spec.root_propagation, get_root_propagation));
  TRY(read_optional(v, path, "maskedPaths", spec.masked_paths, get_confined_paths));
  TRY(read_optional(v, path, "readonlyPaths", spec.readonly_paths, get_confined_paths));
  TRY(read_optional(v, path, "seccomp", spec.seccomp, get_seccomp));
  TRY(read_optional(v, path, "namespaces", spec.namespaces, get_namespaces));
  TRY(read_optional(v, path, "devices", spec.devices, get_devices));
  auto resources = [](const json& r, const std::string& p) { return parse_resources(r, p); };
  TRY(read_optional(v, path, "resources", spec.resources, resources));
  TRY(read_optional(v, path, "cgroupsPath", spec.cgroups_path, get_string));
  TRY(read_optional(v, path, "sysctl", spec.sysctl, get_sysctls));
  // Accepted, not applied: the guest has no SELinux policy (engines send it
  // where the host has one).
  std::string unused;
  TRY(read_optional(v, path, "mountLabel", unused, get_string));
  const char* no_userns =
      "user namespaces are not supported by runvm yet (the container is isolated by its VM; drop the "
      "mappings)";
  for (const char* key : {"uidMappings", "gidMappings"}) {
    const json* mappings = find(v, key);
    if (mappings && (!mappings->is_array() || !mappings->empty())) return bad(member(path, key), no_userns);
  }
  TRY(refuse_member(v, path, "timeOffsets", "time namespaces are not supported by runvm yet; drop it"));
  TRY(refuse_member(v, path, "intelRdt",
                    "Intel RDT is not supported by runvm: the VM has no resctrl filesystem; drop it"));
  TRY(refuse_member(v, path, "personality", "not supported by runvm yet; drop it"));
  TRY(refuse_member(v, path, "memoryPolicy", "not supported by runvm: the VM has one memory node; drop it"));
  TRY(refuse_member(v, path, "netDevices",
                    "not supported by runvm: host network devices cannot move into the VM; drop it"));
  return ok();
}

// ---------------------------------------------------------------------------
// hooks, annotations, version

Result<int> get_timeout(const json& v, const std::string& path) {
  int timeout = TRY(get_signed<int>(v, path));
  if (timeout <= 0) return bad(path, "must be greater than zero");
  return timeout;
}

Result<Hook> parse_hook(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Hook hook;
  TRY(read_required(v, path, "path", hook.path, get_absolute_path));
  TRY(read_optional(v, path, "args", hook.args, get_strings));
  TRY(read_optional(v, path, "env", hook.env, get_env));
  TRY(read_optional(v, path, "timeout", hook.timeout, get_timeout));
  return hook;
}

Result<std::vector<Hook>> get_hooks(const json& v, const std::string& path) {
  return get_array<Hook>(v, path, parse_hook);
}

Result<Hooks> parse_hooks(const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  Hooks h;
  TRY(read_optional(v, path, "prestart", h.prestart, get_hooks));
  TRY(read_optional(v, path, "createRuntime", h.create_runtime, get_hooks));
  TRY(read_optional(v, path, "createContainer", h.create_container, get_hooks));
  TRY(read_optional(v, path, "startContainer", h.start_container, get_hooks));
  TRY(read_optional(v, path, "poststart", h.poststart, get_hooks));
  TRY(read_optional(v, path, "poststop", h.poststop, get_hooks));
  return h;
}

Result<std::map<std::string, std::string>> parse_annotations(
    const json& v, const std::string& path) {
  TRY(expect_object(v, path));
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items())
    out[key] = TRY(get_string(value, member(path, key)));
  return out;
}

// The spec promises compatibility within a minor version only upward, so a
// bundle written for a newer minor may use fields runvm would silently skip.
Result<std::string> get_version(const json& v, const std::string& path) {
  std::string version = TRY(get_string(v, path));
  for (std::string_view prefix : {"1.0.", "1.1.", "1.2."}) {
    if (version.starts_with(prefix) && version.size() > prefix.size() &&
        std::isdigit(static_cast<unsigned char>(version[prefix.size()])))
      return version;
  }
  return bad(path, "unsupported version " + as_literal(version) +
                       " (runvm supports 1.0, 1.1 and 1.2)");
}

Result<Spec> parse_document(const json& doc) {
  if (!doc.is_object()) return fail("expected a JSON object at the top level");
  Spec spec;
  TRY(read_required(doc, "", "ociVersion", spec.oci_version, get_version));
  // Optional in the spec, but a VM with nothing to run is of no use.
  TRY(read_required(doc, "", "process", spec.process, parse_process));
  TRY(read_required(doc, "", "root", spec.root, parse_root));
  TRY(read_optional(doc, "", "hostname", spec.hostname, get_string));
  TRY(read_optional(doc, "", "domainname", spec.domainname, get_string));
  if (spec.domainname.size() > 64) return bad("domainname", "longer than 64 bytes");
  TRY(read_optional(doc, "", "mounts", spec.mounts, get_mounts));
  if (const json* section = find(doc, "linux"))
    TRY(parse_linux(*section, "linux", spec));
  TRY(read_optional(doc, "", "hooks", spec.hooks, parse_hooks));
  TRY(read_optional(doc, "", "annotations", spec.annotations, parse_annotations));
  return spec;
}

// ---------------------------------------------------------------------------
// Syntax errors. The non-throwing json::parse only says "discarded", so a
// second, SAX-only pass over the (rare) bad text finds where and why.

class SyntaxErrorFinder : public nlohmann::json_sax<json> {
 public:
  size_t position = 0;
  std::string detail = "malformed document";

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }

  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    position = pos;
    detail = clean_detail(ex.what());
    return false;
  }

 private:
  // what() reads "[json.exception.parse_error.101] parse error at line 1,
  // column 2: ..."; the tag and "parse error at" are noise after "invalid
  // JSON". Its excerpt of the input may hold invalid UTF-8, which would make
  // the message itself unprintable as JSON (runc-style JSON logs), so bytes
  // outside ASCII are escaped.
  static std::string clean_detail(std::string_view what) {
    if (what.starts_with('[')) {
      if (auto end = what.find("] "); end != std::string_view::npos)
        what.remove_prefix(end + 2);
    }
    constexpr std::string_view kParseErrorAt = "parse error at ";
    if (what.starts_with(kParseErrorAt)) what.remove_prefix(kParseErrorAt.size());
    std::string out;
    for (unsigned char c : what) {
      if (c < 0x80) {
        out += static_cast<char>(c);
        continue;
      }
      constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    }
    return out;
  }
};

std::string describe_syntax_error(const std::string& text) {
  SyntaxErrorFinder finder;
  json::sax_parse(text, &finder);
  return "invalid JSON at byte " + std::to_string(finder.position) + ": " +
         finder.detail;
}

// ---------------------------------------------------------------------------
// to_json

json user_to_json(const User& user) {
  json out = json::object();
  out["uid"] = user.uid;
  out["gid"] = user.gid;
  if (user.umask) out["umask"] = *user.umask;
  if (!user.additional_gids.empty()) out["additionalGids"] = user.additional_gids;
  return out;
}

json rlimits_to_json(const std::vector<Rlimit>& rlimits) {
  json out = json::array();
  for (const Rlimit& r : rlimits) {
    json entry = json::object();
    entry["type"] = r.type;
    entry["hard"] = r.hard;
    entry["soft"] = r.soft;
    out.push_back(std::move(entry));
  }
  return out;
}

// ---------------------------------------------------------------------------
// The default spec: runc 1.1's `runc spec`, in runc's field order (hence
// ordered_json), so the file reads like the one users already know.

using ordered_json = nlohmann::ordered_json;

ordered_json string_list(std::initializer_list<const char*> items) {
  ordered_json out = ordered_json::array();
  for (const char* item : items) out.push_back(item);
  return out;
}

ordered_json default_process() {
  ordered_json caps =
      string_list({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  ordered_json nofile = ordered_json::object();
  nofile["type"] = "RLIMIT_NOFILE";
  nofile["hard"] = 1024;
  nofile["soft"] = 1024;
  ordered_json p = ordered_json::object();
  p["terminal"] = true;
  p["user"] = {{"uid", 0}, {"gid", 0}};
  p["args"] = string_list({"sh"});
  p["env"] = string_list(
      {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "TERM=xterm"});
  p["cwd"] = "/";
  p["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  p["rlimits"] = ordered_json::array();
  p["rlimits"].push_back(std::move(nofile));
  p["noNewPrivileges"] = true;
  return p;
}

ordered_json default_mount(const char* destination, const char* type,
                           const char* source,
                           std::initializer_list<const char*> options) {
  ordered_json m = ordered_json::object();
  m["destination"] = destination;
  m["type"] = type;
  m["source"] = source;
  if (options.size() > 0) m["options"] = string_list(options);
  return m;
}

ordered_json default_mounts() {
  ordered_json out = ordered_json::array();
  out.push_back(default_mount("/proc", "proc", "proc", {}));
  out.push_back(default_mount("/dev", "tmpfs", "tmpfs",
                              {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  out.push_back(default_mount("/dev/pts", "devpts", "devpts",
                              {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                               "mode=0620", "gid=5"}));
  out.push_back(default_mount("/dev/shm", "tmpfs", "shm",
                              {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  out.push_back(default_mount("/dev/mqueue", "mqueue", "mqueue",
                              {"nosuid", "noexec", "nodev"}));
  out.push_back(default_mount("/sys", "sysfs", "sysfs",
                              {"nosuid", "noexec", "nodev", "ro"}));
  out.push_back(default_mount("/sys/fs/cgroup", "cgroup", "cgroup",
                              {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  return out;
}

ordered_json default_linux() {
  ordered_json deny_all_devices = ordered_json::object();
  deny_all_devices["allow"] = false;
  deny_all_devices["access"] = "rwm";
  ordered_json namespaces = ordered_json::array();
  for (const char* type : {"pid", "network", "ipc", "uts", "mount", "cgroup"})
    namespaces.push_back({{"type", type}});
  ordered_json l = ordered_json::object();
  l["resources"]["devices"] = ordered_json::array();
  l["resources"]["devices"].push_back(std::move(deny_all_devices));
  l["namespaces"] = std::move(namespaces);
  l["maskedPaths"] = string_list(
      {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
       "/proc/sched_debug", "/sys/firmware", "/proc/scsi"});
  l["readonlyPaths"] = string_list(
      {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
  return l;
}

}  // namespace

Result<Spec> parse_spec(const std::string& json_text, const std::string& source) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return fail(source + ": " + describe_syntax_error(json_text));
  return parse_document(doc).context(source);
}

Result<Spec> load_bundle_spec(const std::string& bundle_dir) {
  std::string path =
      bundle_dir + (bundle_dir.ends_with('/') ? "" : "/") + "config.json";
  auto text = io::read_file(path);
  if (!text) {
    if (text.error().errno_value() == ENOENT)
      return fail(path + ": no such file: a bundle needs a config.json "
                         "(runvm spec writes a default one)");
    return std::move(text).error();
  }
  return parse_spec(*text, path);
}

json process_to_json(const Process& process) {
  json out = json::object();
  out["terminal"] = process.terminal;
  if (process.console_size)
    out["consoleSize"] = {{"height", process.console_size->height}, {"width", process.console_size->width}};
  if (process.oom_score_adj) out["oomScoreAdj"] = *process.oom_score_adj;
  out["user"] = user_to_json(process.user);
  out["args"] = json_bytes::encode_all(process.args);
  out["env"] = json_bytes::encode_all(process.env);
  out["cwd"] = json_bytes::encode(process.cwd);
  if (!process.rlimits.empty()) out["rlimits"] = rlimits_to_json(process.rlimits);
  out["noNewPrivileges"] = process.no_new_privileges;
  if (process.capabilities) {
    const Capabilities& c = *process.capabilities;
    out["capabilities"] = {{"bounding", c.bounding}, {"effective", c.effective},
                           {"inheritable", c.inheritable}, {"permitted", c.permitted},
                           {"ambient", c.ambient}};
  }
  return out;
}

Result<Process> process_from_json(const json& value) {
  return parse_process(value, "process");
}

json mounts_to_json(const std::vector<Mount>& mounts) {
  json out = json::array();
  for (const Mount& m : mounts) {
    json entry = json::object();
    entry["destination"] = m.destination;
    entry["type"] = m.type;
    entry["source"] = m.source;
    entry["options"] = m.options;
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<Mount>> mounts_from_json(const json& value) {
  return get_mounts(value, "mounts");
}

Result<std::string> root_propagation_from_json(const json& value, const std::string& path) {
  if (value.is_null()) return std::string();
  return get_root_propagation(value, path);
}

Result<std::vector<std::string>> confined_paths_from_json(const json& value,
                                                          const std::string& path) {
  return get_confined_paths(value, path);
}

namespace {

// Text for a /proc/sys or cgroup file: ASCII, tabs and newlines allowed,
// no other control character (and so no NUL).
bool is_plain_text(const std::string& s) {
  for (unsigned char c : s)
    if (c > 0x7e || (c < 0x20 && c != '\t' && c != '\n')) return false;
  return true;
}

}  // namespace

Status check_sysctl(const std::string& name, const std::string& value, const std::string& path) {
  using fields::as_literal;
  if (name.empty() || name.size() > kMaxSysctlName)
    return bad(path, "sysctl names must be 1 to " + std::to_string(kMaxSysctlName) + " bytes (got " +
                         as_literal(name.substr(0, kMaxSysctlName)) + ")");
  for (unsigned char c : name)
    if (c < 0x21 || c > 0x7e)
      return bad(path, "sysctl " + as_literal(name) + ": a name is printable ASCII without spaces or NUL");
  std::string field = member(path, name);
  if (name.find('/') != std::string::npos)
    return bad(field, "a sysctl name is dot-separated, without '/'");
  if (name.starts_with('.') || name.ends_with('.') || name.find("..") != std::string::npos)
    return bad(field, "a sysctl name has no empty components (no leading, trailing or double dot)");
  if (value.size() > kMaxSysctlValue)
    return bad(field, "longer than " + std::to_string(kMaxSysctlValue) + " bytes");
  if (!is_plain_text(value)) return bad(field, "must be ASCII text (no control characters but tab and newline)");
  if (name == "kernel.hostname")
    return bad(field, "sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" field");
  // The kernel runs these programs as root in the VM's initial namespaces,
  // outside the container's confinement, beside the agent.
  auto runs_a_program = [&] {
    static const char* kHelpers[] = {"kernel.modprobe", "kernel.poweroff_cmd", "kernel.hotplug"};
    for (const char* helper : kHelpers)
      if (name == helper) return true;
    if (name.starts_with("kernel.usermodehelper.")) return true;
    return name == "kernel.core_pattern" && value.find_first_not_of(" \t") != std::string::npos &&
           value[value.find_first_not_of(" \t")] == '|';
  };
  if (runs_a_program())
    return bad(field,
               "not allowed: the guest kernel would run the program it names as root outside the "
               "container's confinement, beside runvm's agent");
  return ok();
}

Status check_unified(const std::string& key, const std::string& value, const std::string& path) {
  using fields::as_literal;
  if (key.empty() || key.size() > 255) return bad(path, "unified keys must be 1 to 255 bytes");
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return bad(path, "unified resource " + as_literal(key) + ": a key is printable ASCII without spaces or NUL");
  std::string field = member(path, key);
  if (key.find('/') != std::string::npos)
    return bad(field, "unified resource " + as_literal(key) + " must be a file name (no slashes)");
  size_t dot = key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
    return bad(field, "unified resource " + as_literal(key) + " must be in the form CONTROLLER.PARAMETER");
  if (key == "cgroup.procs" || key == "cgroup.threads" || key == "cgroup.kill" ||
      key == "cgroup.subtree_control")
    return bad(field, "unified resource " + as_literal(key) +
                          " acts on the container's processes, not its limits; runvm's agent manages it");
  if (value.size() > kMaxSysctlValue) return bad(field, "longer than " + std::to_string(kMaxSysctlValue) + " bytes");
  if (!is_plain_text(value)) return bad(field, "must be ASCII text (no control characters but tab and newline)");
  return ok();
}

Result<std::optional<unsigned>> highest_in_cpu_list(const std::string& list, const std::string& path) {
  constexpr unsigned kMaxCpu = 8191;  // the kernel's NR_CPUS at most
  if (list.empty()) return std::optional<unsigned>();
  if (list.size() > 4096) return bad(path, "too long");
  auto invalid = [&] { return bad(path, "expected a list of CPUs like \"0-3,5\" (got " + fields::as_literal(list) + ")"); };
  std::optional<unsigned> highest;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    std::string part = list.substr(pos, end - pos);
    size_t dash = part.find('-');
    auto number = [&](const std::string& text) -> std::optional<unsigned> {
      if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
      unsigned n = static_cast<unsigned>(std::stoul(text));
      if (n > kMaxCpu) return std::nullopt;
      return n;
    };
    auto first = number(dash == std::string::npos ? part : part.substr(0, dash));
    auto last = dash == std::string::npos ? first : number(part.substr(dash + 1));
    if (!first || !last || *last < *first) return invalid();
    highest = std::max(highest.value_or(0), *last);
    pos = end + 1;
  }
  return highest;
}

Result<Resources> resources_from_json(const json& value, const std::string& path, bool update) {
  return parse_resources(value, path, update);
}

std::string default_spec_json() {
  ordered_json spec = ordered_json::object();
  spec["ociVersion"] = "1.0.2-dev";
  spec["process"] = default_process();
  spec["root"] = {{"path", "rootfs"}, {"readonly", true}};
  spec["hostname"] = "runvm";
  spec["mounts"] = default_mounts();
  spec["linux"] = default_linux();
  return spec.dump(1, '\t') + "\n";
}

}  // namespace runvm::oci
