// The control socket's messages (<state>/control.sock, docs/protocol.md,
// "The control socket"): what runvm's commands ask a container's monitor,
// and what it replies. One struct per request, with parse (checked member
// by member into typed values) and to_json; the commands build them, the
// monitor parses them, and nothing else reads a request's or a reply's
// JSON. The guest's answers travel inside a reply as the typed guest
// messages (proto/messages.h), checked again by the command that reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "proto/messages.h"

namespace runvm::control {

using nlohmann::json;

struct Start {
  static constexpr std::string_view kOp = "start";
};
// Stdio descriptors come with it: three, or one terminal.
struct Exec {
  static constexpr std::string_view kOp = "exec";
  msg::ProcessSpec process;
  std::string cgroup;  // exec --cgroup: a sub-cgroup (msg::valid_sub_cgroup)
  bool ignore_paused = false;  // exec --ignore-paused: wait for resume
};
// The tar stream's descriptor and stderr come with copies.
struct CopyIn {
  static constexpr std::string_view kOp = "copy_in";
  std::string dest;
  bool same_owner = false;
};
struct CopyOut {
  static constexpr std::string_view kOp = "copy_out";
  std::string path;
  std::string name;
  bool contents_only = false;
  bool follow_link = false;
};
struct StatPath {
  static constexpr std::string_view kOp = "stat_path";
  std::string path;
  bool follow_link = false;
  bool root_share = false;
};
// runvm cp wrote on the host's view of the rootfs: the guest drops its caches.
struct ForgetCached {
  static constexpr std::string_view kOp = "forget_cached";
};
struct Kill {
  static constexpr std::string_view kOp = "kill";
  int signal = 15;  // 0-64
  bool all = false;
};
struct Pause {
  static constexpr std::string_view kOp = "pause";
};
struct Resume {
  static constexpr std::string_view kOp = "resume";
};
struct HostPids {
  static constexpr std::string_view kOp = "host_pids";
};
struct Ps {
  static constexpr std::string_view kOp = "ps";
};
struct Stats {
  static constexpr std::string_view kOp = "stats";
};
struct Update {
  static constexpr std::string_view kOp = "update";
  msg::Resources resources;
};
// From an exec's stand-in, for its process.
struct Signal {
  static constexpr std::string_view kOp = "signal";
  int signal = 0;  // 1-64
};
struct Resize {
  static constexpr std::string_view kOp = "resize";
  uint16_t rows = 0, cols = 0;
};
// From the stand-in of a container that joins the VM (a pod's; see
// docs/ARCHITECTURE.md, "Pods"), to the VM's owner: create it in the VM.
// Its stdio descriptors come with it, as an exec's do. The connection
// stays open for the container's life: its exit comes back on it, and its
// closing kills the container's processes.
struct AddContainer {
  static constexpr std::string_view kOp = "add_container";
  std::string id;   // the OCI container ID, for the owner's log
  msg::Create create;  // its `id`, `container` and `stdio` are the owner's to set
  std::vector<oci::Hook> start_hooks;  // startContainer, run by `start`
  std::string hook_state;  // the OCI state (JSON text) the hooks get
};

using Request = std::variant<Start, Exec, CopyIn, CopyOut, StatPath, ForgetCached, Kill, Pause, Resume, HostPids,
                             Ps, Stats, Update, Signal, Resize, AddContainer>;

Result<Request> parse_request(const json& body);
json to_json(const Request& request);

// A request and the container of the VM it is for: "" for the VM's own
// (its first), or the name the owner gave a container that joined it
// (msg::valid_container_name). The stand-in of a joined container sends
// every request it serves on to the owner this way.
struct Addressed {
  std::string container;
  Request request;
};
Result<Addressed> parse_addressed(const json& body);
json to_json(const Addressed& addressed);

// A reply. One of: ok; an error (with the exit code an exec's stand-in
// exits with when its process could not start); an exec or copy started;
// its process exited (with a copy's result); the host PIDs; a guest answer.
struct Reply {
  bool ok = false;
  std::optional<std::string> error;
  std::optional<int> exit_code;  // with error
  std::optional<int64_t> started;  // the guest PID of an exec or copy that started
  std::optional<int> exit;         // an exec's or copy's status
  std::optional<msg::Copied> copied;
  std::optional<std::vector<int64_t>> pids;
  std::optional<msg::PsAnswer> ps;
  std::optional<msg::StatsAnswer> stats;
  std::optional<msg::StatPathAnswer> stat_path;
  std::optional<std::string> container;  // add_container: the name it got in the VM

  static Reply success() { return Reply{.ok = true}; }
  static Reply failure(std::string message, std::optional<int> exit_code = std::nullopt) {
    Reply r;
    r.error = std::move(message);
    r.exit_code = exit_code;
    return r;
  }

  static Result<Reply> parse(const json& body);
  json to_json() const;
};

}  // namespace runvm::control
