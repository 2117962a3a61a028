#include "agent/requests.h"

#include <nlohmann/json.hpp>

namespace runvm::agent {
namespace {

using nlohmann::json;

constexpr size_t kMaxIdSize = 64;

Result<std::string> string_member(const json& object, const std::string& path,
                                  const char* key, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return fail(path + "." + key + ": is required");
    return std::string();
  }
  if (!it->is_string()) return fail(path + "." + key + ": expected a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> strings_member(const json& object, const std::string& path,
                                                const char* key) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_array()) return fail(path + "." + key + ": expected an array");
  for (const auto& v : *it) {
    if (!v.is_string()) return fail(path + "." + key + ": expected strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

std::vector<std::string> StdioStreams::outputs() const {
  if (terminal()) return {tty};
  return {stdout_stream, stderr_stream};
}

Result<StdioStreams> parse_stdio(const json& stdio, bool terminal) {
  if (!stdio.is_object()) return fail("stdio: expected an object");
  StdioStreams s;
  if (terminal) {
    s.tty = TRY(string_member(stdio, "stdio", "tty", true));
    if (s.tty.empty()) return fail("stdio.tty: must not be empty");
    return s;
  }
  if (stdio.contains("tty")) return fail("stdio.tty: given for a process without a terminal");
  s.stdin_stream = TRY(string_member(stdio, "stdio", "stdin", true));
  s.stdout_stream = TRY(string_member(stdio, "stdio", "stdout", true));
  s.stderr_stream = TRY(string_member(stdio, "stdio", "stderr", true));
  if (s.stdin_stream.empty() || s.stdout_stream.empty() || s.stderr_stream.empty())
    return fail("stdio: stream names must not be empty");
  if (s.stdin_stream == s.stdout_stream || s.stdin_stream == s.stderr_stream ||
      s.stdout_stream == s.stderr_stream)
    return fail("stdio: stdin, stdout and stderr must be distinct streams");
  return s;
}

Result<std::vector<oci::Hook>> parse_hooks(const json& hooks) {
  std::vector<oci::Hook> out;
  if (hooks.is_null()) return out;
  if (!hooks.is_array()) return fail("hooks: expected an array");
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string path = "hooks[" + std::to_string(i) + "]";
    const json& h = hooks[i];
    if (!h.is_object()) return fail(path + ": expected an object");
    oci::Hook hook;
    hook.path = TRY(string_member(h, path, "path", true));
    if (!hook.path.starts_with('/')) return fail(path + ".path: must be an absolute path");
    hook.args = TRY(strings_member(h, path, "args"));
    hook.env = TRY(strings_member(h, path, "env"));
    auto t = h.find("timeout");
    if (t != h.end() && !t->is_null()) {
      if (!t->is_number_integer() || t->get<int64_t>() <= 0 || t->get<int64_t>() > 86400 * 365)
        return fail(path + ".timeout: expected a positive number of seconds");
      hook.timeout = static_cast<int>(t->get<int64_t>());
    }
    out.push_back(std::move(hook));
  }
  return out;
}

Result<std::string> parse_process_id(const json& request) {
  std::string id = TRY(string_member(request, "request", "id", true));
  if (id.empty() || id.size() > kMaxIdSize)
    return fail("id: must be 1 to " + std::to_string(kMaxIdSize) + " bytes");
  return id;
}

Result<std::vector<BindMount>> parse_binds(const nlohmann::json& binds) {
  std::vector<BindMount> out;
  if (binds.is_null()) return out;
  if (!binds.is_array()) return fail("binds: expected an array");
  for (const auto& b : binds) {
    if (!b.is_object()) return fail("binds: expected objects");
    BindMount m;
    auto text = [&](const char* key) -> Result<std::string> {
      auto it = b.find(key);
      if (it == b.end() || !it->is_string()) return fail(std::string("binds: ") + key + " must be a string");
      return it->get<std::string>();
    };
    m.destination = TRY(text("destination"));
    m.share = TRY(text("share"));
    m.subpath = TRY(text("subpath"));
    m.readonly = b.value("readonly", false);
    m.file = b.value("file", false);
    if (m.destination.empty() || m.destination[0] != '/' || m.destination.find("/../") != std::string::npos ||
        m.destination.ends_with("/.."))
      return fail("binds: destination " + m.destination + " must be an absolute path without ..");
    if (m.share.empty() || m.share.size() > 16 ||
        m.share.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
      return fail("binds: bad share tag " + m.share);
    if (!m.subpath.empty() && (m.subpath[0] == '/' || m.subpath == ".." || m.subpath.starts_with("../") ||
                               m.subpath.find("/../") != std::string::npos || m.subpath.ends_with("/..")))
      return fail("binds: subpath " + m.subpath + " must stay inside its share");
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<oci::Device>> parse_devices(const nlohmann::json& devices) {
  std::vector<oci::Device> out;
  if (devices.is_null()) return out;
  if (!devices.is_array()) return fail("devices: expected an array");
  for (const auto& d : devices) {
    if (!d.is_object() || !d.contains("path") || !d["path"].is_string() || !d.contains("type") ||
        !d["type"].is_string())
      return fail("devices: each needs a path and a type");
    oci::Device dev;
    dev.path = d["path"].get<std::string>();
    std::string type = d["type"].get<std::string>();
    if (!dev.path.starts_with("/dev/") || dev.path.find("/..") != std::string::npos)
      return fail("devices: " + dev.path + " must be under /dev without ..");
    if (type != "c" && type != "b" && type != "p") return fail("devices: bad type " + type);
    dev.type = type[0];
    auto number = [&](const char* key, int64_t max) -> Result<int64_t> {
      auto it = d.find(key);
      if (it == d.end() || !it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > max)
        return fail("devices: " + dev.path + ": bad " + key);
      return it->get<int64_t>();
    };
    dev.major = TRY(number("major", 0xfff));
    dev.minor = TRY(number("minor", 0xfffff));
    dev.file_mode = static_cast<uint32_t>(TRY(number("mode", 0xffffffff)) & 07777);
    dev.uid = static_cast<uint32_t>(TRY(number("uid", 0xffffffff)));
    dev.gid = static_cast<uint32_t>(TRY(number("gid", 0xffffffff)));
    out.push_back(std::move(dev));
  }
  return out;
}

}  // namespace runvm::agent
