#include "runtime/control.h"

#include <limits>

#include "common/json_bytes.h"
#include "proto/fields.h"

namespace runvm::control {
namespace {

using msg::Fields;

constexpr size_t kMaxPathSize = 4096;

template <typename R>
Result<Request> parse_as(const Fields& f);

template <>
Result<Request> parse_as<Exec>(const Fields& f) {
  Exec e{TRY(msg::ProcessSpec::parse(f.value("process")))};
  e.cgroup = TRY(f.text("cgroup", msg::kMaxSubCgroupSize, false));
  if (!msg::valid_sub_cgroup(e.cgroup)) return fail("exec.cgroup: expected a relative path of plain names");
  e.ignore_paused = TRY(f.flag("ignore_paused"));
  return Request(std::move(e));
}
template <>
Result<Request> parse_as<CopyIn>(const Fields& f) {
  CopyIn c;
  c.dest = TRY(f.bytes("dest", kMaxPathSize));
  if (c.dest.empty()) return fail(f.name("dest") + ": must not be empty");
  c.same_owner = TRY(TRY(f.section("options")).flag("same_owner"));
  return Request(c);
}
template <>
Result<Request> parse_as<CopyOut>(const Fields& f) {
  CopyOut c;
  c.path = TRY(f.bytes("path", kMaxPathSize));
  if (c.path.empty()) return fail(f.name("path") + ": must not be empty");
  Fields options = TRY(f.section("options"));
  c.name = TRY(options.bytes("name", 256, false));
  c.contents_only = TRY(options.flag("contents_only"));
  c.follow_link = TRY(options.flag("follow_link"));
  return Request(c);
}
template <>
Result<Request> parse_as<StatPath>(const Fields& f) {
  return Request(StatPath{TRY(f.bytes("path", kMaxPathSize)), TRY(f.flag("follow_link")), TRY(f.flag("root_share"))});
}
template <>
Result<Request> parse_as<Kill>(const Fields& f) {
  return Request(Kill{TRY(f.integer_or<int>("signal", 15, 0, 64)), TRY(f.flag("all"))});
}
template <>
Result<Request> parse_as<Update>(const Fields& f) {
  return Request(Update{TRY(msg::Resources::parse(f.value("resources")))});
}
template <>
Result<Request> parse_as<Signal>(const Fields& f) {
  return Request(Signal{TRY(f.integer<int>("signal", 1, 64))});
}
template <>
Result<Request> parse_as<Resize>(const Fields& f) {
  return Request(Resize{TRY(f.integer<uint16_t>("rows", 0, 0xffff)), TRY(f.integer<uint16_t>("cols", 0, 0xffff))});
}
template <>
Result<Request> parse_as<AddContainer>(const Fields& f) {
  AddContainer a;
  a.id = TRY(f.text("id", 1024));
  a.create = TRY(msg::Create::parse(f.value("create")));
  a.start_hooks = TRY(msg::parse_hooks(f.value("start_hooks"), "add_container.start_hooks"));
  const json& state = f.value("hook_state");
  if (!state.is_null() && !state.is_object()) return fail("add_container.hook_state: expected an object");
  a.hook_state = json_bytes::to_text(state.is_null() ? json::object() : state);
  return Request(std::move(a));
}
// The requests without members.
template <typename R>
Result<Request> parse_as(const Fields&) {
  return Request(R{});
}

template <typename... Ts>
Result<Request> parse_one_of(const Fields& f, std::string_view op, std::variant<Ts...>*) {
  std::optional<Result<Request>> out;
  auto try_one = [&]<typename T>(T*) {
    if (!out && op == T::kOp) out.emplace(parse_as<T>(f));
  };
  (try_one(static_cast<Ts*>(nullptr)), ...);
  if (!out) return fail("unknown request " + json_bytes::to_text(json(std::string(op.substr(0, 64)))));
  return std::move(*out);
}

json body_of(const Start&) { return json::object(); }
json body_of(const Exec& r) {
  json j = {{"process", r.process.to_json()}};
  if (!r.cgroup.empty()) j["cgroup"] = r.cgroup;
  if (r.ignore_paused) j["ignore_paused"] = true;
  return j;
}
json body_of(const CopyIn& r) {
  return {{"dest", json_bytes::encode(r.dest)}, {"options", {{"same_owner", r.same_owner}}}};
}
json body_of(const CopyOut& r) {
  return {{"path", json_bytes::encode(r.path)},
          {"options",
           {{"name", json_bytes::encode(r.name)}, {"contents_only", r.contents_only}, {"follow_link", r.follow_link}}}};
}
json body_of(const StatPath& r) {
  return {{"path", json_bytes::encode(r.path)}, {"follow_link", r.follow_link}, {"root_share", r.root_share}};
}
json body_of(const Kill& r) { return {{"signal", r.signal}, {"all", r.all}}; }
json body_of(const Update& r) { return {{"resources", r.resources.to_json()}}; }
json body_of(const Signal& r) { return {{"signal", r.signal}}; }
json body_of(const Resize& r) { return {{"rows", r.rows}, {"cols", r.cols}}; }
json body_of(const AddContainer& r) {
  json state = json::parse(r.hook_state.empty() ? "{}" : r.hook_state, nullptr, false);
  if (!state.is_object()) state = json::object();
  return {{"id", r.id}, {"create", r.create.to_json()}, {"start_hooks", msg::hooks_to_json(r.start_hooks)},
          {"hook_state", state}};
}
template <typename R>
json body_of(const R&) {
  return json::object();
}

}  // namespace

Result<Request> parse_request(const json& body) {
  Fields f = TRY(Fields::of(body, "request"));
  std::string op = TRY(f.text("op", 64));
  Fields named = TRY(Fields::of(body, op));
  return parse_one_of(named, op, static_cast<Request*>(nullptr));
}

Result<Addressed> parse_addressed(const json& body) {
  Fields f = TRY(Fields::of(body, "request"));
  Addressed a;
  a.container = TRY(f.text("container", msg::kMaxContainerNameSize, false));
  if (!a.container.empty() && !msg::valid_container_name(a.container))
    return fail("request.container: not a container name: " + json_bytes::to_text(json(a.container)));
  a.request = TRY(parse_request(body));
  return a;
}

json to_json(const Addressed& addressed) {
  json j = to_json(addressed.request);
  if (!addressed.container.empty()) j["container"] = addressed.container;
  return j;
}

json to_json(const Request& request) {
  return std::visit(
      [](const auto& r) {
        json j = body_of(r);
        j["op"] = std::string(std::decay_t<decltype(r)>::kOp);
        return j;
      },
      request);
}

Result<Reply> Reply::parse(const json& body) {
  Fields f = TRY(Fields::of(body, "reply"));
  Reply r;
  r.ok = TRY(f.flag("ok"));
  r.error = TRY(f.optional_text("error", msg::kMaxTextSize));
  r.exit_code = TRY(f.optional_integer<int>("exit_code", 0, 255));
  // A monitor started by the runvm before this one (it outlives upgrades)
  // replies {"started": true, "pid": N}, and its guest answers unwrapped.
  if (const json* started = f.find("started"); started && started->is_boolean()) {
    if (started->get<bool>()) r.started = TRY(f.integer_or<int64_t>("pid", 0, 0, 4194304));
  } else {
    r.started = TRY(f.optional_integer<int64_t>("started", 0, 4194304));
  }
  r.exit = TRY(f.optional_integer<int>("exit", 0, 255));
  if (f.find("copied")) r.copied = TRY(msg::Copied::parse(f.value("copied")));
  if (const json* pids = f.find("pids")) {
    if (!pids->is_array() || pids->size() > 65536) return fail("reply.pids: expected an array");
    r.pids.emplace();
    for (const auto& p : *pids) r.pids->push_back(TRY(Fields::integer_value<int64_t>(p, "reply.pids", 1, 4194304)));
  }
  if (f.find("ps")) r.ps = TRY(msg::PsAnswer::parse(f.value("ps")));
  if (f.find("stats")) r.stats = TRY(msg::StatsAnswer::parse(f.value("stats")));
  if (f.find("stat_path")) r.stat_path = TRY(msg::StatPathAnswer::parse(f.value("stat_path")));
  if (f.find("container")) {
    r.container = TRY(f.text("container", msg::kMaxContainerNameSize));
    if (!msg::valid_container_name(*r.container)) return fail("reply.container: not a container name");
  }
  if (const json* type = f.find("type"); type && type->is_string()) {
    const std::string& t = type->get_ref<const std::string&>();
    if (t == msg::PsAnswer::kType) r.ps = TRY(msg::PsAnswer::parse(body));
    else if (t == msg::StatsAnswer::kType) r.stats = TRY(msg::StatsAnswer::parse(body));
    else if (t == msg::StatPathAnswer::kType) r.stat_path = TRY(msg::StatPathAnswer::parse(body));
  }
  return r;
}

json Reply::to_json() const {
  json j = json::object();
  if (ok) j["ok"] = true;
  if (error) j["error"] = *error;
  if (exit_code) j["exit_code"] = *exit_code;
  if (started) j["started"] = *started;
  if (exit) j["exit"] = *exit;
  if (copied) j["copied"] = copied->to_json();
  if (pids) j["pids"] = *pids;
  if (ps) j["ps"] = ps->to_json();
  if (stats) j["stats"] = stats->to_json();
  if (stat_path) j["stat_path"] = stat_path->to_json();
  if (container) j["container"] = *container;
  return j;
}

}  // namespace runvm::control
