#include "runtime/copy_request.h"

namespace runvm::runtime {

using nlohmann::json;

Result<GuestCopy> guest_copy(const json& request, std::vector<UniqueFd> fds) {
  std::string op = request.value("op", "");
  bool in = op == "copy_in";
  const char* key = in ? "dest" : "path";
  auto path = request.find(key);
  if (path == request.end() || !path->is_string() || path->get<std::string>().empty())
    return fail(op + ": " + key + " must be a non-empty string");
  json options = request.value("options", json::object());
  if (!options.is_object()) return fail(op + ": options must be an object");
  if (fds.size() != 2) return fail(op + " takes two descriptors (the tar stream, stderr)");
  GuestCopy copy;
  (in ? copy.io.in : copy.io.out) = fds[0].get();
  copy.io.err = fds[1].get();
  copy.io.owned = std::move(fds);
  copy.message = {{"type", op}, {key, *path}, {"options", options}};
  return copy;
}

json stat_path_query(const json& request) {
  auto path = request.find("path");
  auto flag = [&](const char* key) {
    auto it = request.find(key);
    return it != request.end() && it->is_boolean() && it->get<bool>();
  };
  return {{"type", "stat_path"},
          {"path", path != request.end() && path->is_string() ? *path : json("")},
          {"follow_link", flag("follow_link")},
          {"root_share", flag("root_share")}};
}

}  // namespace runvm::runtime
