#include "proto/messages.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <type_traits>

#include "common/hex.h"
#include "common/json_bytes.h"
#include "oci/mount_options.h"
#include "proto/fields.h"

namespace runvm::msg {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr size_t kMaxPathSize = 4096;
constexpr size_t kMaxNameSize = 256;

json with_type(std::string_view type, json body) {
  body["type"] = std::string(type);
  return body;
}

Result<Fields> fields(const json& j, std::string_view type) { return Fields::of(j, std::string(type)); }

Result<std::string> process_id(const Fields& f) {
  std::string id = TRY(f.text("id", kMaxIdSize));
  if (id.empty()) return fail(f.name("id") + ": must not be empty");
  return id;
}

Result<std::string> container_name(const Fields& f) {
  std::string name = TRY(f.text("container", kMaxContainerNameSize));
  if (!valid_container_name(name))
    return fail(f.name("container") + ": expected 1 to " + std::to_string(kMaxContainerNameSize) +
                " of a-z and 0-9, not " + json(name).dump());
  return name;
}

Result<uint64_t> request_number(const Fields& f) { return f.integer<uint64_t>("request", 0, kU64Max); }

}  // namespace

Result<std::vector<oci::Hook>> parse_hooks(const json& hooks, const std::string& path) {
  std::vector<oci::Hook> out;
  if (hooks.is_null()) return out;
  if (!hooks.is_array()) return fail(path + ": expected an array");
  if (hooks.size() > kMaxListSize) return fail(path + ": too many");
  for (size_t i = 0; i < hooks.size(); ++i) {
    Fields h = TRY(Fields::of(hooks[i], path + "[" + std::to_string(i) + "]"));
    oci::Hook hook;
    hook.path = TRY(h.bytes("path", kMaxPathSize));
    if (!hook.path.starts_with('/')) return fail(h.name("path") + ": must be an absolute path");
    for (const char* key : {"args", "env"}) {
      const json& list = h.value(key);
      if (list.is_null()) continue;
      if (!list.is_array() || list.size() > kMaxListSize) return fail(h.name(key) + ": expected an array");
      auto& out_list = std::string_view(key) == "args" ? hook.args : hook.env;
      for (const auto& s : list) out_list.push_back(TRY(json_bytes::decode(s, h.name(key))));
    }
    // As config.json allows (oci/spec.cc): any positive int.
    if (auto t = TRY(h.optional_integer<int>("timeout", 1, std::numeric_limits<int>::max()))) hook.timeout = *t;
    out.push_back(std::move(hook));
  }
  return out;
}


json hooks_to_json(const std::vector<oci::Hook>& hooks) {
  json out = json::array();
  for (const auto& h : hooks) {
    json j = {{"path", json_bytes::encode(h.path)},
              {"args", json_bytes::encode_all(h.args)},
              {"env", json_bytes::encode_all(h.env)}};
    if (h.timeout) j["timeout"] = *h.timeout;
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

Result<std::vector<oci::Device>> parse_devices(const json& devices) {
  std::vector<oci::Device> out;
  if (devices.is_null()) return out;
  if (!devices.is_array()) return fail("devices: expected an array");
  if (devices.size() > kMaxListSize) return fail("devices: too many");
  for (size_t i = 0; i < devices.size(); ++i) {
    Fields d = TRY(Fields::of(devices[i], "devices[" + std::to_string(i) + "]"));
    oci::Device dev;
    dev.path = TRY(d.text("path", kMaxPathSize));
    std::string type = TRY(d.text("type", 1));
    if (!dev.path.starts_with("/dev/") || dev.path.find("/..") != std::string::npos)
      return fail("devices: " + dev.path + " must be under /dev without ..");
    if (type != "c" && type != "b" && type != "p") return fail("devices: bad type " + type);
    dev.type = type[0];
    dev.major = TRY(d.integer<int64_t>("major", 0, 0xfff));
    dev.minor = TRY(d.integer<int64_t>("minor", 0, 0xfffff));
    dev.file_mode = TRY(d.integer<uint32_t>("mode", 0, 0xffffffff)) & 07777;
    dev.uid = TRY(d.integer<uint32_t>("uid", 0, 0xffffffff));
    dev.gid = TRY(d.integer<uint32_t>("gid", 0, 0xffffffff));
    out.push_back(std::move(dev));
  }
  return out;
}

json devices_to_json(const std::vector<oci::Device>& devices) {
  json out = json::array();
  for (const auto& d : devices)
    out.push_back({{"path", d.path}, {"type", std::string(1, d.type == 'u' ? 'c' : d.type)}, {"major", d.major},
                   {"minor", d.minor}, {"mode", d.file_mode.value_or(0666)}, {"uid", d.uid.value_or(0)},
                   {"gid", d.gid.value_or(0)}});
  return out;
}

Result<std::vector<BindShare>> parse_binds(const json& binds) {
  std::vector<BindShare> out;
  if (binds.is_null()) return out;
  if (!binds.is_array()) return fail("binds: expected an array");
  if (binds.size() > kMaxListSize) return fail("binds: too many");
  for (size_t i = 0; i < binds.size(); ++i)
    out.push_back(TRY(BindShare::parse(binds[i], "binds[" + std::to_string(i) + "]")));
  return out;
}

// Each bind mount of `mounts` has its share in `binds`, in order.
Status check_binds_match(const std::vector<oci::Mount>& mounts, const std::vector<BindShare>& binds) {
  size_t next = 0;
  for (const auto& m : mounts) {
    if (!oci::is_bind(m)) continue;
    if (next == binds.size() || binds[next].destination != m.destination)
      return fail("binds: the bind mount at " + m.destination + " has no share in binds[" +
                  std::to_string(next) + "]");
    ++next;
  }
  if (next != binds.size()) return fail("binds: " + binds[next].destination + " is no bind mount of mounts");
  return ok();
}

Result<std::vector<net::NicSlot>> parse_nics(const json& nics) {
  if (nics.is_null()) return std::vector<net::NicSlot>();
  return net::nic_slots_from_json(nics);
}

json nics_to_json(const std::vector<net::NicSlot>& nics) {
  json out = json::array();
  for (const auto& s : nics)
    out.push_back({{"slot", net::format_mac(s.slot)}, {"mac", s.mac ? json(net::format_mac(*s.mac)) : json()}});
  return out;
}

Result<net::NetworkConfig> parse_network(const json& network) {
  if (network.is_null()) return net::NetworkConfig{};
  return net::from_json(network);
}

bool valid_tag(const std::string& tag) {
  return !tag.empty() && tag.size() <= 16 &&
         tag.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") == std::string::npos;
}

bool climbs(const std::string& relative) {
  return relative == ".." || relative.starts_with("../") || relative.find("/../") != std::string::npos ||
         relative.ends_with("/..");
}

// Dispatch by "type" over a variant's alternatives.
template <typename Variant, typename... Ts>
Result<Variant> parse_one_of(const json& body, std::string_view type, std::variant<Ts...>*) {
  std::optional<Result<Variant>> out;
  auto try_one = [&]<typename T>(T*) {
    if (!out && type == T::kType) {
      auto parsed = T::parse(body);
      if (parsed) out.emplace(Variant(std::move(*parsed)));
      else out.emplace(std::move(parsed).error());
    }
  };
  (try_one(static_cast<Ts*>(nullptr)), ...);
  if (!out) {
    std::string shown = json_bytes::to_text(json(std::string(type.substr(0, 64))));
    return fail("unknown message type " + shown);
  }
  return std::move(*out);
}

Result<std::string_view> type_of(const json& body) {
  if (!body.is_object()) return fail("a message must be a JSON object");
  auto it = body.find("type");
  if (it == body.end() || !it->is_string()) return fail("a message without a type");
  return std::string_view(it->get_ref<const std::string&>());
}

}  // namespace

// ---------------------------------------------------------------------------

bool valid_container_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxContainerNameSize) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool valid_sub_cgroup(std::string_view path) {
  if (path.size() > kMaxSubCgroupSize || path.find('\0') != std::string_view::npos) return false;
  if (path.empty()) return true;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

std::string clip_text(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max > 3 ? max - 3 : 0;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

std::vector<std::string> Stdio::outputs() const {
  if (terminal()) return {tty};
  return {stdout_stream, stderr_stream};
}

Result<Stdio> Stdio::parse(const json& j, bool terminal) {
  Fields f = TRY(Fields::of(j, "stdio"));
  Stdio s;
  if (terminal) {
    s.tty = TRY(f.text("tty", 255));
    if (s.tty.empty()) return fail("stdio.tty: must not be empty");
    s.no_onlcr = TRY(f.flag("no_onlcr"));
    return s;
  }
  if (f.find("tty")) return fail("stdio.tty: given for a process without a terminal");
  s.stdin_stream = TRY(f.text("stdin", 255));
  s.stdout_stream = TRY(f.text("stdout", 255));
  s.stderr_stream = TRY(f.text("stderr", 255));
  if (s.stdin_stream.empty() || s.stdout_stream.empty() || s.stderr_stream.empty())
    return fail("stdio: stream names must not be empty");
  if (s.stdin_stream == s.stdout_stream || s.stdin_stream == s.stderr_stream ||
      s.stdout_stream == s.stderr_stream)
    return fail("stdio: stdin, stdout and stderr must be distinct streams");
  return s;
}

json Stdio::to_json() const {
  if (terminal()) {
    json j = {{"tty", tty}};
    if (no_onlcr) j["no_onlcr"] = true;
    return j;
  }
  return {{"stdin", stdin_stream}, {"stdout", stdout_stream}, {"stderr", stderr_stream}};
}

Result<ProcessSpec> ProcessSpec::parse(const json& j) {
  TRY(Fields::of(j, "process"));
  return ProcessSpec{TRY(oci::process_from_json(j))};
}

json ProcessSpec::to_json() const { return oci::process_to_json(process); }

Result<BindShare> BindShare::parse(const json& j, const std::string& path) {
  Fields f = TRY(Fields::of(j, path));
  BindShare b;
  b.destination = TRY(f.text("destination", kMaxPathSize));
  b.share = TRY(f.text("share", 16));
  b.subpath = TRY(f.text("subpath", kMaxPathSize, false));
  b.readonly = TRY(f.flag("readonly"));
  b.file = TRY(f.flag("file"));
  if (b.destination.empty() || b.destination[0] != '/' || b.destination.find("/../") != std::string::npos ||
      b.destination.ends_with("/.."))
    return fail("binds: destination " + b.destination + " must be an absolute path without ..");
  if (!valid_tag(b.share)) return fail("binds: bad share tag " + b.share);
  if (!b.subpath.empty() && (b.subpath[0] == '/' || climbs(b.subpath)))
    return fail("binds: subpath " + b.subpath + " must stay inside its share");
  return b;
}

json BindShare::to_json() const {
  return {{"destination", destination}, {"share", share}, {"subpath", subpath}, {"readonly", readonly},
          {"file", file}};
}

Resources Resources::from_spec(const oci::Resources& r) {
  Resources out;
  out.memory_limit = r.memory_limit;
  out.memory_reservation = r.memory_reservation;
  out.memory_swap = r.memory_swap;
  out.cpu_quota = r.cpu_quota;
  out.cpu_period = r.cpu_period;
  out.cpu_shares = r.cpu_shares;
  out.cpuset_cpus = r.cpuset_cpus;
  out.cpuset_mems = r.cpuset_mems;
  out.pids_limit = r.pids_limit;
  out.unified = r.unified;
  return out;
}

namespace {

Result<std::string> cpu_list(const Fields& f, const char* key) {
  std::string list = TRY(f.text(key, 4096, false));
  TRY(oci::highest_in_cpu_list(list, f.name(key)));
  return list;
}

}  // namespace

Result<Resources> Resources::parse(const json& j) {
  Resources r;
  if (j.is_null()) return r;
  Fields f = TRY(Fields::of(j, "resources"));
  Fields memory = TRY(f.section("memory"));
  r.memory_limit = TRY(memory.optional_integer<int64_t>("limit", kI64Min, kI64Max));
  r.memory_reservation = TRY(memory.optional_integer<int64_t>("reservation", -1, kI64Max));
  r.memory_swap = TRY(memory.optional_integer<int64_t>("swap", -1, kI64Max));
  Fields cpu = TRY(f.section("cpu"));
  r.cpu_quota = TRY(cpu.optional_integer<int64_t>("quota", kI64Min, kI64Max));
  r.cpu_period = TRY(cpu.optional_integer<uint64_t>("period", 0, kU64Max));
  r.cpu_shares = TRY(cpu.optional_integer<uint64_t>("shares", 0, kU64Max));
  r.cpuset_cpus = TRY(cpu_list(cpu, "cpus"));
  r.cpuset_mems = TRY(cpu_list(cpu, "mems"));
  Fields pids = TRY(f.section("pids"));
  r.pids_limit = TRY(pids.optional_integer<int64_t>("limit", kI64Min, kI64Max));
  if (const json* unified = f.find("unified")) {
    if (!unified->is_object()) return fail(f.name("unified") + ": expected an object");
    if (unified->size() > oci::kMaxUnified) return fail(f.name("unified") + ": too many entries");
    for (const auto& [key, value] : unified->items()) {
      if (!value.is_string()) return fail(f.name("unified") + ": expected string values");
      TRY(oci::check_unified(key, value.get<std::string>(), f.name("unified")));
      r.unified[key] = value.get<std::string>();
    }
  }
  return r;
}

json Resources::to_json() const {
  json out = json::object();
  if (memory_limit || memory_reservation || memory_swap) {
    out["memory"] = json::object();
    if (memory_limit) out["memory"]["limit"] = *memory_limit;
    if (memory_reservation) out["memory"]["reservation"] = *memory_reservation;
    if (memory_swap) out["memory"]["swap"] = *memory_swap;
  }
  if (cpu_quota || cpu_period || cpu_shares || !cpuset_cpus.empty() || !cpuset_mems.empty()) {
    out["cpu"] = json::object();
    if (cpu_quota) out["cpu"]["quota"] = *cpu_quota;
    if (cpu_period) out["cpu"]["period"] = *cpu_period;
    if (cpu_shares) out["cpu"]["shares"] = *cpu_shares;
    if (!cpuset_cpus.empty()) out["cpu"]["cpus"] = cpuset_cpus;
    if (!cpuset_mems.empty()) out["cpu"]["mems"] = cpuset_mems;
  }
  if (pids_limit) out["pids"] = {{"limit", *pids_limit}};
  if (!unified.empty()) out["unified"] = unified;
  return out;
}

namespace {

Result<std::map<std::string, std::string>> parse_sysctl(const json& sysctl) {
  std::map<std::string, std::string> out;
  if (sysctl.is_null()) return out;
  if (!sysctl.is_object()) return fail("create.sysctl: expected an object");
  if (sysctl.size() > oci::kMaxSysctls) return fail("create.sysctl: too many entries");
  for (const auto& [name, value] : sysctl.items()) {
    if (!value.is_string()) return fail("create.sysctl." + name.substr(0, 256) + ": expected a string");
    TRY(oci::check_sysctl(name, value.get<std::string>(), "create.sysctl"));
    out[name] = value.get<std::string>();
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Host -> guest.

Result<Create> Create::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Create c;
  c.id = TRY(process_id(f));
  c.process = TRY(ProcessSpec::parse(f.value("process")));
  c.readonly_root = TRY(TRY(f.section("root")).flag("readonly"));
  c.hostname = TRY(f.text("hostname", 64, false));
  c.mounts = TRY(oci::mounts_from_json(f.find("mounts") ? f.value("mounts") : json::array()));
  c.resources = TRY(Resources::parse(f.value("resources")));
  c.binds = TRY(parse_binds(f.value("binds")));
  TRY(check_binds_match(c.mounts, c.binds));
  c.devices = TRY(parse_devices(f.value("devices")));
  if (const json* propagation = f.find("root_propagation"))
    c.root_propagation = TRY(oci::root_propagation_from_json(*propagation, "create.root_propagation"));
  if (const json* masked = f.find("masked_paths"))
    c.masked_paths = TRY(oci::confined_paths_from_json(*masked, "create.masked_paths"));
  if (const json* readonly = f.find("readonly_paths"))
    c.readonly_paths = TRY(oci::confined_paths_from_json(*readonly, "create.readonly_paths"));
  if (const json* seccomp = f.find("seccomp")) c.seccomp = TRY(oci::seccomp_from_json(*seccomp, "create.seccomp"));
  c.sysctl = TRY(parse_sysctl(f.value("sysctl")));
  c.domainname = TRY(f.text("domainname", 64, false));
  c.network = TRY(parse_network(f.value("network")));
  c.nics = TRY(parse_nics(f.value("nics")));
  c.dns_relay = TRY(f.flag("dns_relay"));
  c.stdio = TRY(Stdio::parse(f.value("stdio"), c.process.process.terminal));
  c.container = TRY(container_name(f));
  Fields root = TRY(f.section("root"));
  c.root_share = TRY(root.text("share", 16, false));
  if (c.root_share.empty()) c.root_share = "rootfs";
  if (!valid_tag(c.root_share)) return fail("create.root.share: bad share tag " + json(c.root_share).dump());
  c.root_subpath = TRY(root.text("subpath", kMaxPathSize, false));
  if (!c.root_subpath.empty() && (c.root_subpath[0] == '/' || climbs(c.root_subpath)))
    return fail("create.root.subpath: " + json(c.root_subpath).dump() + " must be relative, without ..");
  Fields join = TRY(f.section("join"));
  for (auto [key, member] : {std::pair{"ipc", &c.join.ipc}, {"uts", &c.join.uts}, {"pid", &c.join.pid}}) {
    *member = TRY(join.text(key, kMaxContainerNameSize, false));
    if (!member->empty() && !valid_container_name(*member))
      return fail(join.name(key) + ": not a container name: " + json(*member).dump());
    if (*member == c.container) return fail(join.name(key) + ": a container cannot join itself");
  }
  return c;
}

json Create::to_json() const {
  json binds_json = json::array();
  for (const auto& b : binds) binds_json.push_back(b.to_json());
  return with_type(kType, {{"id", id},
                           {"process", process.to_json()},
                           {"container", container},
                           {"root", {{"readonly", readonly_root}, {"share", root_share}, {"subpath", root_subpath}}},
                           {"join", {{"ipc", join.ipc}, {"uts", join.uts}, {"pid", join.pid}}},
                           {"hostname", hostname},
                           {"mounts", oci::mounts_to_json(mounts)},
                           {"resources", resources.to_json()},
                           {"binds", binds_json},
                           {"devices", devices_to_json(devices)},
                           {"root_propagation", root_propagation},
                           {"masked_paths", masked_paths},
                           {"readonly_paths", readonly_paths},
                           {"seccomp", seccomp ? oci::seccomp_to_json(*seccomp) : json()},
                           {"sysctl", sysctl},
                           {"domainname", domainname},
                           {"network", net::to_json(network)},
                           {"nics", nics_to_json(nics)},
                           {"dns_relay", dns_relay},
                           {"stdio", stdio.to_json()}});
}

Result<Start> Start::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Start s;
  s.id = TRY(process_id(f));
  s.container = TRY(container_name(f));
  s.hooks = TRY(parse_hooks(f.value("hooks"), "start.hooks"));
  const json& state = f.value("state");
  if (!state.is_null() && !state.is_object()) return fail("start.state: expected an object");
  s.state = json_bytes::to_text(state.is_null() ? json::object() : state);
  return s;
}

json Start::to_json() const {
  json state_json = json::parse(state.empty() ? "{}" : state, nullptr, false);
  if (!state_json.is_object()) state_json = json::object();
  return with_type(kType, {{"id", id}, {"container", container}, {"hooks", hooks_to_json(hooks)}, {"state", state_json}});
}

Result<Exec> Exec::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Exec e;
  e.id = TRY(process_id(f));
  e.container = TRY(container_name(f));
  e.process = TRY(ProcessSpec::parse(f.value("process")));
  e.stdio = TRY(Stdio::parse(f.value("stdio"), e.process.process.terminal));
  e.cgroup = TRY(f.text("cgroup", kMaxSubCgroupSize, false));
  if (!valid_sub_cgroup(e.cgroup))
    return fail("exec.cgroup: expected a relative path of plain names, not " + json(e.cgroup).dump());
  return e;
}

json Exec::to_json() const {
  json j = {{"id", id}, {"container", container}, {"process", process.to_json()}, {"stdio", stdio.to_json()}};
  if (!cgroup.empty()) j["cgroup"] = cgroup;
  return with_type(kType, j);
}

Result<Signal> Signal::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Signal s;
  s.id = TRY(process_id(f));
  s.container = TRY(container_name(f));
  s.signal = TRY(f.integer<int>("signal", 1, 64));
  s.all = TRY(f.flag("all"));
  return s;
}

json Signal::to_json() const { return with_type(kType, {{"id", id}, {"container", container}, {"signal", signal}, {"all", all}}); }

Result<Resize> Resize::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Resize r;
  r.id = TRY(process_id(f));
  r.rows = TRY(f.integer<uint16_t>("rows", 0, 0xffff));
  r.cols = TRY(f.integer<uint16_t>("cols", 0, 0xffff));
  return r;
}

json Resize::to_json() const { return with_type(kType, {{"id", id}, {"rows", rows}, {"cols", cols}}); }

Result<Ps> Ps::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Ps{TRY(request_number(f)), TRY(container_name(f))};
}
json Ps::to_json() const { return with_type(kType, {{"request", request}, {"container", container}}); }

Result<Stats> Stats::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Stats{TRY(request_number(f)), TRY(container_name(f))};
}
json Stats::to_json() const { return with_type(kType, {{"request", request}, {"container", container}}); }

Result<Update> Update::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Update u;
  u.request = TRY(request_number(f));
  u.resources = TRY(Resources::parse(f.value("resources")));
  u.container = TRY(container_name(f));
  return u;
}
json Update::to_json() const {
  return with_type(kType, {{"request", request}, {"container", container}, {"resources", resources.to_json()}});
}

Result<StatPath> StatPath::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  StatPath s;
  s.request = TRY(request_number(f));
  s.path = TRY(f.bytes("path", kMaxPathSize));
  s.follow_link = TRY(f.flag("follow_link"));
  s.root_share = TRY(f.flag("root_share"));
  s.container = TRY(container_name(f));
  return s;
}
json StatPath::to_json() const {
  json j = {{"request", request},
            {"container", container},
            {"path", json_bytes::encode(path)},
            {"follow_link", follow_link}};
  if (root_share) j["root_share"] = true;
  return with_type(kType, j);
}

Result<CopyIn> CopyIn::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  CopyIn c;
  c.id = TRY(process_id(f));
  c.dest = TRY(f.bytes("dest", kMaxPathSize));
  c.container = TRY(container_name(f));
  c.same_owner = TRY(TRY(f.section("options")).flag("same_owner"));
  c.stdio = TRY(Stdio::parse(f.value("stdio"), false));
  return c;
}
json CopyIn::to_json() const {
  return with_type(kType, {{"id", id},
                           {"container", container},
                           {"dest", json_bytes::encode(dest)},
                           {"options", {{"same_owner", same_owner}}},
                           {"stdio", stdio.to_json()}});
}

Result<CopyOut> CopyOut::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  CopyOut c;
  c.id = TRY(process_id(f));
  c.container = TRY(container_name(f));
  c.path = TRY(f.bytes("path", kMaxPathSize));
  Fields options = TRY(f.section("options"));
  c.name = TRY(options.bytes("name", kMaxNameSize, false));
  c.contents_only = TRY(options.flag("contents_only"));
  c.follow_link = TRY(options.flag("follow_link"));
  c.stdio = TRY(Stdio::parse(f.value("stdio"), false));
  return c;
}
json CopyOut::to_json() const {
  return with_type(kType, {{"id", id},
                           {"container", container},
                           {"path", json_bytes::encode(path)},
                           {"options",
                            {{"name", json_bytes::encode(name)},
                             {"contents_only", contents_only},
                             {"follow_link", follow_link}}},
                           {"stdio", stdio.to_json()}});
}

namespace {
Result<std::string> hex_data(const Fields& f) {
  std::string text = TRY(f.text("data", 2 * kMaxDnsSize));
  auto data = hex::decode(text);
  if (!data) return fail(f.name("data") + ": expected hex");
  return *data;
}
}  // namespace

Result<DnsAnswer> DnsAnswer::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return DnsAnswer{TRY(f.integer<uint64_t>("query", 0, kU64Max)), TRY(hex_data(f))};
}
json DnsAnswer::to_json() const { return with_type(kType, {{"query", query}, {"data", hex::encode(data)}}); }

Result<NetworkUpdate> NetworkUpdate::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  NetworkUpdate u;
  u.network = TRY(parse_network(f.value("network")));
  u.nics = TRY(parse_nics(f.value("nics")));
  u.dns_relay = TRY(f.flag("dns_relay"));
  return u;
}
json NetworkUpdate::to_json() const {
  return with_type(kType, {{"network", net::to_json(network)}, {"nics", nics_to_json(nics)}, {"dns_relay", dns_relay}});
}

Result<Ping> Ping::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Ping{TRY(request_number(f))};
}
json Ping::to_json() const { return with_type(kType, {{"request", request}}); }

Result<Freeze> Freeze::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Freeze z;
  z.request = TRY(request_number(f));
  const json* frozen = f.find("frozen");
  if (!frozen || !frozen->is_boolean()) return fail("freeze.frozen: expected true or false");
  z.frozen = frozen->get<bool>();
  z.container = TRY(container_name(f));
  return z;
}
json Freeze::to_json() const {
  return with_type(kType, {{"request", request}, {"frozen", frozen}, {"container", container}});
}

Result<Forward> Forward::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Forward{TRY(process_id(f)), TRY(f.integer<uint16_t>("port", 1, 65535))};
}
json Forward::to_json() const { return with_type(kType, {{"id", id}, {"port", port}}); }

Result<ReclaimCaches> ReclaimCaches::parse(const json& j) {
  TRY(fields(j, kType));
  return ReclaimCaches{};
}
json ReclaimCaches::to_json() const { return with_type(kType, json::object()); }

Result<Shutdown> Shutdown::parse(const json& j) {
  TRY(fields(j, kType));
  return Shutdown{};
}
json Shutdown::to_json() const { return with_type(kType, json::object()); }

// ---------------------------------------------------------------------------
// Guest -> host.

namespace {
constexpr int64_t kMaxPid = 4194304;  // PID_MAX_LIMIT
}

Result<Created> Created::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Created{TRY(process_id(f)), TRY(f.integer<int64_t>("pid", 1, kMaxPid))};
}
json Created::to_json() const { return with_type(kType, {{"id", id}, {"pid", pid}}); }

Result<Started> Started::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Started{TRY(process_id(f)), TRY(f.integer<int64_t>("pid", 1, kMaxPid))};
}
json Started::to_json() const { return with_type(kType, {{"id", id}, {"pid", pid}}); }

Result<StartFailed> StartFailed::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  StartFailed s;
  s.id = TRY(f.text("id", kMaxIdSize, false));  // "" for a request whose id was unreadable
  s.message = TRY(f.text("message", kMaxTextSize));
  s.exit_code = TRY(f.integer<int>("exit_code", 1, 255));
  return s;
}
json StartFailed::to_json() const {
  return with_type(kType, {{"id", id}, {"message", message}, {"exit_code", exit_code}});
}

Result<Exit> Exit::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Exit e;
  e.id = TRY(process_id(f));
  e.exit_code = TRY(f.integer<int>("exit_code", 0, 255));
  e.signal = TRY(f.optional_integer<int>("signal", 1, 64));
  return e;
}
json Exit::to_json() const {
  return with_type(kType, {{"id", id}, {"exit_code", exit_code}, {"signal", signal ? json(*signal) : json()}});
}

Result<Copied> Copied::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  Copied c;
  c.id = TRY(process_id(f));
  c.exit_code = TRY(f.integer<int>("exit_code", 0, 255));
  c.bytes = TRY(f.integer_or<uint64_t>("bytes", 0, 0, kU64Max));
  c.entries = TRY(f.integer_or<uint64_t>("entries", 0, 0, kU64Max));
  c.errors = TRY(f.integer_or<uint64_t>("errors", 0, 0, kU64Max));
  c.error = TRY(f.optional_text("error", kMaxTextSize));
  return c;
}
json Copied::to_json() const {
  return with_type(kType, {{"id", id},
                           {"exit_code", exit_code},
                           {"bytes", bytes},
                           {"entries", entries},
                           {"errors", errors},
                           {"error", error ? json(*error) : json()}});
}

Result<PsAnswer> PsAnswer::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  PsAnswer a;
  a.request = TRY(request_number(f));
  const json& list = f.value("processes");
  if (!list.is_array()) return fail("ps.processes: expected an array");
  if (list.size() > kMaxPsEntries) return fail("ps.processes: more than " + std::to_string(kMaxPsEntries));
  for (size_t i = 0; i < list.size(); ++i) {
    Fields p = TRY(Fields::of(list[i], "ps.processes[" + std::to_string(i) + "]"));
    PsEntry e;
    e.pid = TRY(p.integer<int64_t>("pid", 0, kMaxPid));
    e.ppid = TRY(p.integer<int64_t>("ppid", 0, kMaxPid));
    e.uid = TRY(p.integer<uint32_t>("uid", 0, 0xffffffff));
    e.tty = TRY(p.text("tty", 64, false));
    e.time_ms = TRY(p.integer_or<uint64_t>("time_ms", 0, 0, kU64Max));
    e.start_time_ms = TRY(p.integer_or<uint64_t>("start_time_ms", 0, 0, kU64Max));
    e.cmd = TRY(p.bytes("cmd", 64 * 1024, false));
    std::string state = TRY(p.text("state", 1, false));
    if (!state.empty()) {
      if (!std::isalpha(static_cast<unsigned char>(state[0])) && state[0] != '?')
        return fail("ps.processes[" + std::to_string(i) + "].state: expected a letter or ?");
      e.state = state[0];
    }
    a.processes.push_back(std::move(e));
  }
  a.uptime_ms = TRY(f.integer_or<uint64_t>("uptime_ms", 0, 0, kU64Max));
  return a;
}
json PsAnswer::to_json() const {
  json list = json::array();
  for (const auto& p : processes)
    list.push_back({{"pid", p.pid},
                    {"ppid", p.ppid},
                    {"uid", p.uid},
                    {"tty", p.tty},
                    {"time_ms", p.time_ms},
                    {"start_time_ms", p.start_time_ms},
                    {"cmd", json_bytes::encode(p.cmd)},
                    {"state", std::string(1, p.state)}});
  return with_type(kType, {{"request", request}, {"processes", list}, {"uptime_ms", uptime_ms}});
}

Result<StatsAnswer> StatsAnswer::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  StatsAnswer s;
  s.request = TRY(request_number(f));
  Fields cpu = TRY(f.section("cpu"));
  s.cpu.usage_ns = TRY(cpu.integer_or<uint64_t>("usage_ns", 0, 0, kU64Max));
  s.cpu.user_ns = TRY(cpu.integer_or<uint64_t>("user_ns", 0, 0, kU64Max));
  s.cpu.system_ns = TRY(cpu.integer_or<uint64_t>("system_ns", 0, 0, kU64Max));
  Fields memory = TRY(f.section("memory"));
  s.memory.usage = TRY(memory.integer_or<uint64_t>("usage", 0, 0, kU64Max));
  s.memory.limit = TRY(memory.integer_or<uint64_t>("limit", 0, 0, kU64Max));
  s.memory.cache = TRY(memory.integer_or<uint64_t>("cache", 0, 0, kU64Max));
  s.memory.total = TRY(memory.integer_or<uint64_t>("total", 0, 0, kU64Max));
  Fields pids = TRY(f.section("pids"));
  s.pids.current = TRY(pids.integer_or<uint64_t>("current", 0, 0, kU64Max));
  s.pids.limit = TRY(pids.integer_or<uint64_t>("limit", 0, 0, kU64Max));
  s.oom_kills = TRY(f.integer_or<uint64_t>("oom_kills", 0, 0, kU64Max));
  if (!f.value("throttling").is_null()) {
    Fields t = TRY(f.section("throttling"));
    s.throttling.periods = TRY(t.integer_or<uint64_t>("periods", 0, 0, kU64Max));
    s.throttling.throttled_periods = TRY(t.integer_or<uint64_t>("throttled_periods", 0, 0, kU64Max));
    s.throttling.throttled_ns = TRY(t.integer_or<uint64_t>("throttled_ns", 0, 0, kU64Max));
  }
  s.memory_failcnt = TRY(memory.integer_or<uint64_t>("failcnt", 0, 0, kU64Max));
  s.swap.usage = TRY(memory.integer_or<uint64_t>("swap_usage", 0, 0, kU64Max));
  s.swap.limit = TRY(memory.integer_or<uint64_t>("swap_limit", 0, 0, kU64Max));
  const json& raw = memory.value("raw");
  if (!raw.is_null()) {
    if (!raw.is_object() || raw.size() > kMaxRawStats)
      return fail("stats.memory.raw: expected an object of at most " + std::to_string(kMaxRawStats) + " counters");
    for (const auto& [key, value] : raw.items()) {
      if (key.empty() || key.size() > 64 || !value.is_number_unsigned())
        return fail("stats.memory.raw: expected counters named in at most 64 bytes");
      s.memory_raw[key] = value.get<uint64_t>();
    }
  }
  const json& unavailable = f.value("unavailable");
  if (!unavailable.is_null()) {
    if (!unavailable.is_array() || unavailable.size() > 16) return fail("stats.unavailable: expected a short array");
    for (const auto& c : unavailable) {
      if (!c.is_string() || c.get_ref<const std::string&>().size() > 64)
        return fail("stats.unavailable: expected controller names");
      s.unavailable.push_back(c.get<std::string>());
    }
  }
  return s;
}
json StatsAnswer::to_json() const {
  json j = {{"request", request},
            {"cpu", {{"usage_ns", cpu.usage_ns}, {"user_ns", cpu.user_ns}, {"system_ns", cpu.system_ns}}},
            {"memory",
             {{"usage", memory.usage},
              {"limit", memory.limit},
              {"cache", memory.cache},
              {"total", memory.total},
              {"failcnt", memory_failcnt},
              {"swap_usage", swap.usage},
              {"swap_limit", swap.limit},
              {"raw", memory_raw}}},
            {"throttling",
             {{"periods", throttling.periods},
              {"throttled_periods", throttling.throttled_periods},
              {"throttled_ns", throttling.throttled_ns}}},
            {"pids", {{"current", pids.current}, {"limit", pids.limit}}},
            {"oom_kills", oom_kills}};
  if (!unavailable.empty()) j["unavailable"] = unavailable;
  return with_type(kType, j);
}

Result<Updated> Updated::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Updated{TRY(request_number(f))};
}
json Updated::to_json() const { return with_type(kType, {{"request", request}}); }

Result<Failed> Failed::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return Failed{TRY(request_number(f)), TRY(f.text("message", kMaxTextSize))};
}
json Failed::to_json() const { return with_type(kType, {{"request", request}, {"message", message}}); }

Result<StatPathAnswer> StatPathAnswer::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  StatPathAnswer a;
  a.request = TRY(request_number(f));
  a.error_number = TRY(f.optional_integer<int>("errno", 0, 4095));
  if (a.error_number) {
    a.message = TRY(f.text("message", kMaxTextSize, false));
    return a;
  }
  a.kind = TRY(f.text("kind", 16));
  if (a.kind != "file" && a.kind != "directory" && a.kind != "symlink" && a.kind != "other")
    return fail("stat_path.kind: expected file, directory, symlink or other");
  a.mode = TRY(f.integer<uint32_t>("mode", 0, 0xffff));
  a.size = TRY(f.integer_or<uint64_t>("size", 0, 0, kU64Max));
  a.link_target = TRY(f.bytes("link_target", kMaxPathSize, false));
  if (f.find("root_share")) a.root_share = TRY(f.flag("root_share"));
  return a;
}
json StatPathAnswer::to_json() const {
  json j = {{"request", request}};
  if (error_number) {
    j["errno"] = *error_number;
    j["message"] = message;
    return with_type(kType, j);
  }
  j["kind"] = kind;
  j["mode"] = mode;
  j["size"] = size;
  if (kind == "symlink") j["link_target"] = json_bytes::encode(link_target);
  if (root_share) j["root_share"] = *root_share;
  return with_type(kType, j);
}

Result<DnsQuery> DnsQuery::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  DnsQuery q;
  q.query = TRY(f.integer<uint64_t>("query", 0, kU64Max));
  q.data = TRY(hex_data(f));
  q.tcp = TRY(f.flag("tcp"));
  return q;
}
json DnsQuery::to_json() const {
  json j = {{"query", query}, {"data", hex::encode(data)}};
  if (tcp) j["tcp"] = true;
  return with_type(kType, j);
}

Result<NetworkUpdated> NetworkUpdated::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  return NetworkUpdated{TRY(f.optional_text("error", kMaxTextSize))};
}
json NetworkUpdated::to_json() const {
  json j = json::object();
  if (error) j["error"] = *error;
  return with_type(kType, j);
}

Result<ForwardFailed> ForwardFailed::parse(const json& j) {
  Fields f = TRY(fields(j, kType));
  ForwardFailed m;
  m.id = TRY(process_id(f));
  m.error_number = TRY(f.integer<int>("errno", 0, 4095));
  m.message = TRY(f.text("message", kMaxTextSize));
  return m;
}
json ForwardFailed::to_json() const {
  return with_type(kType, {{"id", id}, {"errno", error_number}, {"message", message}});
}

// ---------------------------------------------------------------------------

Result<HostMessage> parse_host_message(const json& body) {
  std::string_view type = TRY(type_of(body));
  return parse_one_of<HostMessage>(body, type, static_cast<HostMessage*>(nullptr));
}

Result<GuestMessage> parse_guest_message(const json& body) {
  std::string_view type = TRY(type_of(body));
  return parse_one_of<GuestMessage>(body, type, static_cast<GuestMessage*>(nullptr));
}

ProcessRef process_ref(const json& body) {
  ProcessRef ref;
  if (!body.is_object()) return ref;
  auto text = [](const json& j, const char* key) -> std::string {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return "";
    const auto& s = it->get_ref<const std::string&>();
    return s.size() <= 255 ? s : "";
  };
  ref.id = text(body, "id");
  if (ref.id.size() > kMaxIdSize) ref.id.clear();
  auto stdio = body.find("stdio");
  if (stdio == body.end() || !stdio->is_object()) return ref;
  if (std::string tty = text(*stdio, "tty"); !tty.empty()) {
    ref.outputs.push_back(tty);
    return ref;
  }
  for (const char* key : {"stdout", "stderr"})
    if (std::string s = text(*stdio, key); !s.empty()) ref.outputs.push_back(s);
  ref.stdin_stream = text(*stdio, "stdin");
  return ref;
}

uint64_t request_ref(const json& body) {
  if (!body.is_object()) return 0;
  auto it = body.find("request");
  return it != body.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

}  // namespace runvm::msg
