// The host-guest messages (docs/protocol.md, "Messages"): one struct per
// MESSAGE, each with `parse` (the JSON body checked member by member,
// bounded, into typed values, or an error naming the member) and `to_json`.
// Both ends use them: the host's monitor sends host messages and parses
// guest ones, the agent the other way round, and neither touches a
// message's JSON anywhere else. A message's name is its handler's name
// (`create` is the agent's on_create, `exit` the monitor's
// on_process_message<Exit>), as in
// Kata's agent.proto.
//
// Peer data is untrusted both ways (the guest especially: whatever runs in
// it may have taken the agent over), so parse() accepts only what the
// contract allows: integers in range, strings within their bounds, known
// enumerations, no missing required member.
#pragma once

#include <cstdint>
#include <map>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "net/config.h"
#include "net/nic_slots.h"
#include "oci/seccomp.h"
#include "oci/spec.h"

namespace runvm::msg {

using nlohmann::json;

// Bounds on what a peer may send, beyond the frame's 1 MiB.
inline constexpr size_t kMaxIdSize = 64;            // process IDs: init, e1, t2
// A container's name in the guest: the owner's monitor gives each container
// of its VM one (the VM's own first: kFirstContainer), 1 to
// kMaxContainerNameSize of [a-z0-9] (valid_container_name).
inline constexpr size_t kMaxContainerNameSize = 16;
inline constexpr std::string_view kFirstContainer = "c0";
inline constexpr size_t kMaxTextSize = 64 * 1024;   // messages for people
inline constexpr size_t kMaxDnsSize = 64 * 1024;    // a DNS datagram or TCP message
inline constexpr size_t kMaxPsEntries = 4096;
inline constexpr size_t kMaxListSize = 4096;        // binds, devices, hooks
// What a sender puts in a text for people (a start_failed message, an
// error): the receiver refuses more than kMaxTextSize, and invalid UTF-8
// triples in size when replaced, so senders clip to this (clip_text).
inline constexpr size_t kClippedTextSize = 4096;
// A ps answer's total size, so that it fits a frame and the control
// socket's 256 KiB packets with room to spare: entries past it are left out.
inline constexpr size_t kMaxPsAnswerBytes = 160 * 1024;
inline constexpr size_t kMaxSubCgroupSize = 1024;
inline constexpr size_t kMaxRawStats = 128;  // memory.stat keys in a stats answer

bool valid_container_name(std::string_view name);

// A sub-cgroup path for exec --cgroup: relative, components neither empty,
// "." nor "..", no NUL, within kMaxSubCgroupSize. "" is the container's own.
bool valid_sub_cgroup(std::string_view path);

// `text` cut to at most `max` bytes, on a UTF-8 character boundary, with
// "..." to show it was cut.
std::string clip_text(std::string text, size_t max = kClippedTextSize);

// ---------------------------------------------------------------------------
// Parts shared by several messages.

// Stream names of a process's stdio: a tty alone, or stdin/stdout/stderr.
struct Stdio {
  std::string tty;  // set for a terminal
  std::string stdin_stream, stdout_stream, stderr_stream;
  // With a terminal: clear ONLCR on the guest's pty, as runc does for the
  // terminal it relays itself (run/exec in the foreground without
  // --console-socket); the host terminal's own output processing stays.
  bool no_onlcr = false;
  bool terminal() const { return !tty.empty(); }
  // The streams the agent writes on (and EOFs).
  std::vector<std::string> outputs() const;

  // `terminal` is process.terminal, which the shape must agree with.
  static Result<Stdio> parse(const json& j, bool terminal);
  json to_json() const;
};

// A process to run: the OCI process (its consoleSize and oomScoreAdj
// included).
struct ProcessSpec {
  oci::Process process;

  static Result<ProcessSpec> parse(const json& j);
  json to_json() const;
};

// A bind mount served from an extra virtio-fs share: the share's tag, the
// path inside it ("" for its root), where it goes in the container.
struct BindShare {
  std::string destination;
  std::string share;  // [a-z0-9], 1-16
  std::string subpath;  // relative, never climbing out of the share
  bool readonly = false;
  bool file = false;  // a single file: the mount point is a file

  static Result<BindShare> parse(const json& j, const std::string& path);
  json to_json() const;
};

// The members of linux.resources the guest applies. Absent: leave as is;
// as runc, 0 leaves a value alone and -1 removes a limit.
struct Resources {
  std::optional<int64_t> memory_limit;        // bytes
  std::optional<int64_t> memory_reservation;  // bytes: memory.low
  std::optional<int64_t> memory_swap;         // memory + swap (runc's sense): memory.swap.max = swap - limit
  std::optional<int64_t> cpu_quota;     // us
  std::optional<uint64_t> cpu_period;   // us
  std::optional<uint64_t> cpu_shares;
  std::string cpuset_cpus, cpuset_mems;  // "" leaves them alone
  std::optional<int64_t> pids_limit;
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value, written last

  static Resources from_spec(const oci::Resources& r);
  static Result<Resources> parse(const json& j);  // null: nothing
  json to_json() const;
};

// Hooks (start's startContainer hooks; the runtime's record of poststart
// and poststop in state.json): byte strings encoded, timeouts positive.
json hooks_to_json(const std::vector<oci::Hook>& hooks);
Result<std::vector<oci::Hook>> parse_hooks(const json& hooks, const std::string& path);  // null: none

// ---------------------------------------------------------------------------
// Host -> guest.

struct Create {
  static constexpr std::string_view kType = "create";
  std::string id;
  ProcessSpec process;
  bool readonly_root = false;
  std::string hostname;
  std::vector<oci::Mount> mounts;
  Resources resources;
  // One for each bind mount of `mounts` (oci::is_bind), in their order:
  // the share that carries its source.
  std::vector<BindShare> binds;
  std::vector<oci::Device> devices;
  // linux.rootfsPropagation: "" or one of runc's values.
  std::string root_propagation;
  // linux.maskedPaths, linux.readonlyPaths and linux.seccomp, as runc
  // applies them (ARCHITECTURE, "What the guest enforces").
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::optional<oci::Seccomp> seccomp;
  // linux.sysctl, written in the container's namespaces before its process
  // starts; domainname set in its UTS namespace.
  std::map<std::string, std::string> sysctl;
  std::string domainname;
  net::NetworkConfig network;
  std::vector<net::NicSlot> nics;
  bool dns_relay = false;
  Stdio stdio;
  // The container this creates in the VM (valid_container_name): the VM's
  // first, or one that joins it (a pod's, docs/ARCHITECTURE.md "Pods").
  std::string container = std::string(kFirstContainer);
  // Where its root comes from: the directory `root_subpath` (relative, ""
  // for the root) of the virtio-fs share `root_share`. The first
  // container's is the root share; a joining container's rootfs reaches the
  // running VM through the pod share.
  std::string root_share = "rootfs";
  std::string root_subpath;
  // The namespaces it shares with another container of the VM, by that
  // container's name; "" for one of its own. The network is always the
  // VM's.
  struct Join {
    std::string ipc, uts, pid;
    bool any() const { return !ipc.empty() || !uts.empty() || !pid.empty(); }
  } join;

  static Result<Create> parse(const json& j);
  json to_json() const;
};

struct Start {
  static constexpr std::string_view kType = "start";
  std::string id;
  std::vector<oci::Hook> hooks;  // startContainer
  std::string state;             // the OCI state, as JSON text for the hooks' stdin

  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<Start> parse(const json& j);
  json to_json() const;
};

struct Exec {
  static constexpr std::string_view kType = "exec";
  std::string id;
  ProcessSpec process;
  Stdio stdio;
  // exec --cgroup: an existing sub-cgroup of the container's guest cgroup
  // to run in ("" for the container's own); relative, each component a
  // plain name (valid_sub_cgroup), at most kMaxSubCgroupSize bytes.
  std::string cgroup;

  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<Exec> parse(const json& j);
  json to_json() const;
};

struct Signal {
  static constexpr std::string_view kType = "signal";
  std::string id;
  int signal = 0;  // 1-64
  bool all = false;

  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<Signal> parse(const json& j);
  json to_json() const;
};

struct Resize {
  static constexpr std::string_view kType = "resize";
  std::string id;
  uint16_t rows = 0, cols = 0;

  static Result<Resize> parse(const json& j);
  json to_json() const;
};

// The queries carry a request number that the answer repeats.
struct Ps {
  static constexpr std::string_view kType = "ps";
  uint64_t request = 0;
  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<Ps> parse(const json& j);
  json to_json() const;
};

struct Stats {
  static constexpr std::string_view kType = "stats";
  uint64_t request = 0;
  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<Stats> parse(const json& j);
  json to_json() const;
};

struct Update {
  static constexpr std::string_view kType = "update";
  uint64_t request = 0;
  Resources resources;
  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<Update> parse(const json& j);
  json to_json() const;
};

struct StatPath {
  static constexpr std::string_view kType = "stat_path";
  uint64_t request = 0;
  std::string path;  // bytes
  bool follow_link = false;
  bool root_share = false;
  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<StatPath> parse(const json& j);
  json to_json() const;
};

struct CopyIn {
  static constexpr std::string_view kType = "copy_in";
  std::string id;
  std::string dest;  // bytes
  bool same_owner = false;
  Stdio stdio;
  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<CopyIn> parse(const json& j);
  json to_json() const;
};

struct CopyOut {
  static constexpr std::string_view kType = "copy_out";
  std::string id;
  std::string path;  // bytes
  std::string name;  // the top entry's name; "" the basename of path
  bool contents_only = false;
  bool follow_link = false;
  Stdio stdio;
  // The container of the VM the message concerns (valid_container_name).
  std::string container = std::string(kFirstContainer);
  static Result<CopyOut> parse(const json& j);
  json to_json() const;
};

struct DnsAnswer {
  static constexpr std::string_view kType = "dns_answer";
  uint64_t query = 0;
  std::string data;
  static Result<DnsAnswer> parse(const json& j);
  json to_json() const;
};

struct NetworkUpdate {
  static constexpr std::string_view kType = "network_update";
  net::NetworkConfig network;
  std::vector<net::NicSlot> nics;
  bool dns_relay = false;
  static Result<NetworkUpdate> parse(const json& j);
  json to_json() const;
};

// A query the agent answers at once (`updated`): the host sends it to a
// guest that is late with an answer, as a second wake-up and to learn
// whether the guest still reads (docs/ARCHITECTURE.md, "Deadlines on the
// guest").
struct Ping {
  static constexpr std::string_view kType = "ping";
  uint64_t request = 0;
  static Result<Ping> parse(const json& j);
  json to_json() const;
};

// Freezes (or thaws) one container of the VM: `pause` of a container that
// shares the VM with others. Answered `updated` or `failed`.
struct Freeze {
  static constexpr std::string_view kType = "freeze";
  uint64_t request = 0;
  bool frozen = true;
  std::string container = std::string(kFirstContainer);
  static Result<Freeze> parse(const json& j);
  json to_json() const;
};

// A connection made to 127.0.0.1:`port` in the VM's network namespace on
// the host (`kubectl port-forward`), carried into the VM: the agent
// connects to 127.0.0.1:`port` in the guest and bridges it to the stream
// `id`, which the host opened first. Refused or failed: `forward_failed`,
// and the stream ends.
struct Forward {
  static constexpr std::string_view kType = "forward";
  std::string id;
  uint16_t port = 0;
  static Result<Forward> parse(const json& j);
  json to_json() const;
};

struct ReclaimCaches {
  static constexpr std::string_view kType = "reclaim_caches";
  static Result<ReclaimCaches> parse(const json& j);
  json to_json() const;
};

struct Shutdown {
  static constexpr std::string_view kType = "shutdown";
  static Result<Shutdown> parse(const json& j);
  json to_json() const;
};

using HostMessage = std::variant<Create, Start, Exec, Signal, Resize, Ps, Stats, Update, StatPath, CopyIn,
                                 CopyOut, DnsAnswer, NetworkUpdate, ReclaimCaches, Shutdown, Freeze, Ping,
                                 Forward>;

// ---------------------------------------------------------------------------
// Guest -> host.

struct Created {
  static constexpr std::string_view kType = "created";
  std::string id;
  int64_t pid = 0;
  static Result<Created> parse(const json& j);
  json to_json() const;
};

struct Started {
  static constexpr std::string_view kType = "started";
  std::string id;
  int64_t pid = 0;
  static Result<Started> parse(const json& j);
  json to_json() const;
};

struct StartFailed {
  static constexpr std::string_view kType = "start_failed";
  std::string id;
  std::string message;
  int exit_code = 1;  // 1-255
  static Result<StartFailed> parse(const json& j);
  json to_json() const;
};

struct Exit {
  static constexpr std::string_view kType = "exit";
  std::string id;
  int exit_code = 0;          // 0-255
  std::optional<int> signal;  // 1-64
  static Result<Exit> parse(const json& j);
  json to_json() const;
};

struct Copied {
  static constexpr std::string_view kType = "copied";
  std::string id;
  int exit_code = 0;
  uint64_t bytes = 0, entries = 0, errors = 0;
  std::optional<std::string> error;
  static Result<Copied> parse(const json& j);
  json to_json() const;
};

struct PsEntry {
  int64_t pid = 0, ppid = 0;
  uint32_t uid = 0;
  std::string tty;
  uint64_t time_ms = 0, start_time_ms = 0;  // start: since the guest booted
  std::string cmd;  // bytes
  char state = '?';  // /proc/PID/stat's state letter (R, S, D, Z, T, ...)
};

struct PsAnswer {
  static constexpr std::string_view kType = "ps";
  uint64_t request = 0;
  std::vector<PsEntry> processes;
  // The guest's time since boot when it answered, so that the host can
  // place each process's start in its own clock (ps's STIME).
  uint64_t uptime_ms = 0;
  static Result<PsAnswer> parse(const json& j);
  json to_json() const;
};

struct StatsAnswer {
  static constexpr std::string_view kType = "stats";
  uint64_t request = 0;
  struct {
    uint64_t usage_ns = 0, user_ns = 0, system_ns = 0;
  } cpu;
  struct {
    uint64_t usage = 0, limit = 0, cache = 0, total = 0;
  } memory;
  struct {
    uint64_t current = 0, limit = 0;
  } pids;
  // memory.events' oom_kill: processes the kernel killed for the
  // container's memory limit since it started (events' "oom").
  uint64_t oom_kills = 0;
  // What runc's stats report besides (cpu.stat's throttling; memory.events'
  // max as the fail count; swap; memory.stat whole, at most kMaxRawStats
  // keys of at most 64 bytes).
  struct {
    uint64_t periods = 0, throttled_periods = 0, throttled_ns = 0;
  } throttling;
  uint64_t memory_failcnt = 0;
  struct {
    uint64_t usage = 0, limit = 0;
  } swap;
  std::map<std::string, uint64_t> memory_raw;
  std::vector<std::string> unavailable;  // controllers the guest lacks
  static Result<StatsAnswer> parse(const json& j);
  json to_json() const;
};

struct Updated {
  static constexpr std::string_view kType = "updated";
  uint64_t request = 0;
  static Result<Updated> parse(const json& j);
  json to_json() const;
};

// Any query answered with a failure.
struct Failed {
  static constexpr std::string_view kType = "failed";
  uint64_t request = 0;
  std::string message;
  static Result<Failed> parse(const json& j);
  json to_json() const;
};

struct StatPathAnswer {
  static constexpr std::string_view kType = "stat_path";
  uint64_t request = 0;
  // A path that could not be looked up: its errno (0: the container is not
  // running) and why; the rest is then unset.
  std::optional<int> error_number;
  std::string message;
  std::string kind;  // file, directory, symlink, other
  uint32_t mode = 0;
  uint64_t size = 0;
  std::string link_target;  // bytes; symlink only
  std::optional<bool> root_share;
  static Result<StatPathAnswer> parse(const json& j);
  json to_json() const;
};

struct DnsQuery {
  static constexpr std::string_view kType = "dns_query";
  uint64_t query = 0;
  std::string data;
  bool tcp = false;
  static Result<DnsQuery> parse(const json& j);
  json to_json() const;
};

struct NetworkUpdated {
  static constexpr std::string_view kType = "network_updated";
  std::optional<std::string> error;
  static Result<NetworkUpdated> parse(const json& j);
  json to_json() const;
};

// The guest could not connect a `forward`: the connect's errno and why.
struct ForwardFailed {
  static constexpr std::string_view kType = "forward_failed";
  std::string id;
  int error_number = 0;
  std::string message;
  static Result<ForwardFailed> parse(const json& j);
  json to_json() const;
};

using GuestMessage = std::variant<Created, Started, StartFailed, Exit, Copied, PsAnswer, StatsAnswer, Updated,
                                  Failed, StatPathAnswer, DnsQuery, NetworkUpdated, ForwardFailed>;

// ---------------------------------------------------------------------------
// The boundary: a MESSAGE body to one of the above, or an error that names
// the message and the member.

Result<HostMessage> parse_host_message(const json& body);
Result<GuestMessage> parse_guest_message(const json& body);

// What a host message that starts a process (create, exec, copy_in,
// copy_out) names, read even when the rest of it is malformed, so that the
// agent can still refuse it with start_failed and end the streams the host
// opened for it.
struct ProcessRef {
  std::string id;                    // "" when unreadable
  std::vector<std::string> outputs;  // stdout/stderr or tty
  std::string stdin_stream;
};
ProcessRef process_ref(const json& body);
// A malformed query's request number (0 when unreadable), for its `failed`.
uint64_t request_ref(const json& body);

template <typename M>
json to_json(const M& m) {
  return m.to_json();
}

}  // namespace runvm::msg
