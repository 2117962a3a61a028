#include "runtime/container_state.h"

#include <time.h>

#include <cstdio>
#include <limits>

#include "common/io.h"
#include "common/json_bytes.h"
#include "proto/fields.h"
#include "proto/messages.h"
#include "host/proc.h"

namespace runvm::runtime {

using nlohmann::json;

namespace {

std::string state_text(const ContainerState& s) {
  json j = {{"ociVersion", s.oci_version}, {"id", s.id},
            {"pid", s.pid},                {"pidStart", s.pid_start},
            {"status", s.status},          {"bundle", json_bytes::encode(s.bundle)},
            {"rootfs", json_bytes::encode(s.rootfs)}, {"rootReadonly", s.root_readonly},
            {"created", s.created},
            {"annotations", s.annotations}, {"hooks", s.hooks},
            {"cgroup", s.cgroup},          {"vmVcpus", s.vm_vcpus},
            {"vmMemoryMiB", s.vm_memory_mib}, {"netnsPath", json_bytes::encode(s.netns_path)},
            {"redirectedLinks", s.redirected_links}};
  if (s.is_pod_member()) {
    json mounts = json::array();
    for (const auto& m : s.pod_mounts) mounts.push_back(json_bytes::encode(m));
    j["podOwner"] = s.pod_owner;
    j["guestName"] = s.guest_name;
    j["podDir"] = json_bytes::encode(s.pod_dir);
    j["podMounts"] = mounts;
  }
  // Byte strings are encoded; anything else that is not UTF-8 (a host
  // cgroup path) is replaced rather than thrown on.
  return json_bytes::to_text(j);
}

// state.json, member by member (the bundle and paths as byte strings).
Result<ContainerState> parse_state(const json& j) {
  constexpr size_t kMaxText = 64 * 1024;
  msg::Fields f = TRY(msg::Fields::of(j, "state"));
  ContainerState s;
  s.oci_version = TRY(f.text("ociVersion", kMaxText, false));
  s.id = TRY(f.text("id", 1024));
  s.pid = TRY(f.integer_or<pid_t>("pid", 0, 0, std::numeric_limits<pid_t>::max()));
  s.pid_start = TRY(f.integer_or<uint64_t>("pidStart", 0, 0, std::numeric_limits<uint64_t>::max()));
  s.status = TRY(f.text("status", 64));
  s.bundle = TRY(f.bytes("bundle", kMaxText, false));
  s.rootfs = TRY(f.bytes("rootfs", kMaxText, false));
  s.root_readonly = TRY(f.flag("rootReadonly"));
  s.created = TRY(f.text("created", 64, false));
  if (const json* a = f.find("annotations")) {
    if (!a->is_object()) return fail("state.annotations: expected an object");
    s.annotations = *a;
  }
  if (const json* h = f.find("hooks")) {
    if (!h->is_object()) return fail("state.hooks: expected an object");
    s.hooks = *h;
  }
  s.cgroup = TRY(f.text("cgroup", kMaxText, false));
  s.vm_vcpus = TRY(f.integer_or<unsigned>("vmVcpus", 0, 0, 4096));
  s.vm_memory_mib = TRY(f.integer_or<uint64_t>("vmMemoryMiB", 0, 0, std::numeric_limits<uint64_t>::max()));
  s.netns_path = TRY(f.bytes("netnsPath", kMaxText, false));
  if (const json* links = f.find("redirectedLinks")) {
    if (!links->is_array() || links->size() > 1024) return fail("state.redirectedLinks: expected an array");
    for (const auto& l : *links)
      s.redirected_links.push_back(TRY(msg::Fields::integer_value<int>(l, "state.redirectedLinks", 1, INT32_MAX)));
  }
  s.pod_owner = TRY(f.text("podOwner", 1024, false));
  s.guest_name = TRY(f.text("guestName", msg::kMaxContainerNameSize, false));
  s.pod_dir = TRY(f.bytes("podDir", kMaxText, false));
  if (const json* mounts = f.find("podMounts")) {
    if (!mounts->is_array() || mounts->size() > 4096) return fail("state.podMounts: expected an array");
    for (const auto& m : *mounts) s.pod_mounts.push_back(TRY(json_bytes::decode(m, "state.podMounts")));
  }
  return s;
}

}  // namespace

Status save_state(const std::string& state_dir, const ContainerState& s) {
  return io::write_file_atomic(state_dir + "/state.json", state_text(s), 0600);
}

Status save_state_at(int state_dir_fd, const ContainerState& s) {
  return io::write_file_atomic_at(state_dir_fd, "state.json", state_text(s), 0600);
}

Result<ContainerState> load_state(const std::string& state_dir) {
  auto text = io::read_file(state_dir + "/state.json");
  if (!text) {
    if (text.error().errno_value() == ENOENT) return fail("container does not exist");
    return std::move(text).error();
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(state_dir + "/state.json is corrupt; remove the container with delete --force");
  auto parsed = parse_state(j);
  if (!parsed)
    return fail(state_dir + "/state.json is corrupt (" + parsed.error().message() +
                "); remove the container with delete --force");
  return parsed;
}

std::string live_status(const ContainerState& s) {
  if (s.status == "stopped") return "stopped";
  if (!host::process_is(s.pid, s.pid_start)) return "stopped";
  return s.status;
}

nlohmann::ordered_json state_for_output(const ContainerState& s, const std::string& owner) {
  std::string status = live_status(s);
  nlohmann::ordered_json j;
  j["ociVersion"] = s.oci_version;
  j["id"] = s.id;
  j["pid"] = status == "stopped" ? 0 : s.pid;
  j["status"] = status;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  if (s.annotations.is_object() && !s.annotations.empty()) j["annotations"] = s.annotations;
  j["owner"] = owner;
  return j;
}

json state_for_hooks(const ContainerState& s, const std::string& status) {
  json j = {{"ociVersion", s.oci_version}, {"id", s.id}, {"status", status}, {"bundle", s.bundle}};
  if (status != "stopped" && s.pid > 0) j["pid"] = s.pid;
  if (s.annotations.is_object() && !s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

std::string rfc3339_now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

}  // namespace runvm::runtime
