#include "runtime/container_state.h"

#include <time.h>

#include <cstdio>

#include "common/io.h"
#include "host/proc.h"

namespace runvm::runtime {

using nlohmann::json;

namespace {

std::string state_text(const ContainerState& s) {
  json j = {{"ociVersion", s.oci_version}, {"id", s.id},
            {"pid", s.pid},                {"pidStart", s.pid_start},
            {"status", s.status},          {"bundle", s.bundle},
            {"rootfs", s.rootfs},          {"created", s.created},
            {"annotations", s.annotations}, {"hooks", s.hooks},
            {"cgroup", s.cgroup},          {"vmVcpus", s.vm_vcpus},
            {"vmMemoryMiB", s.vm_memory_mib}, {"netnsPath", s.netns_path},
            {"redirectedLinks", s.redirected_links}};
  return j.dump();
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
  ContainerState s;
  try {
    s.oci_version = j.value("ociVersion", "");
    s.id = j.at("id").get<std::string>();
    s.pid = j.value("pid", 0);
    s.pid_start = j.value("pidStart", uint64_t{0});
    s.status = j.at("status").get<std::string>();
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.annotations = j.value("annotations", json::object());
    s.hooks = j.value("hooks", json::object());
    s.cgroup = j.value("cgroup", "");
    s.vm_vcpus = j.value("vmVcpus", 0u);
    s.vm_memory_mib = j.value("vmMemoryMiB", uint64_t{0});
    s.netns_path = j.value("netnsPath", "");
    s.redirected_links = j.value("redirectedLinks", std::vector<int>{});
  } catch (const json::exception& e) {
    return fail(state_dir + "/state.json is corrupt (" + e.what() +
                "); remove the container with delete --force");
  }
  return s;
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
