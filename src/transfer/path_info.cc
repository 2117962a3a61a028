#include "transfer/path_info.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "transfer/in_root.h"

namespace runvm::transfer {
namespace {

PathInfo::Kind kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return PathInfo::Kind::kDirectory;
  if (S_ISREG(mode)) return PathInfo::Kind::kFile;
  if (S_ISLNK(mode)) return PathInfo::Kind::kSymlink;
  return PathInfo::Kind::kOther;
}

std::string shown(const std::vector<std::string>& parts) {
  return "/" + join_components(parts, parts.size());
}

Result<std::string> read_link(int dir_fd, const std::string& name, const std::string& label) {
  std::string target(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    if (n < 0) return fail_errno("read symlink " + label);
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      return target;
    }
    target.resize(target.size() * 2);
  }
}

}  // namespace

Result<PathInfo> stat_in_root(int root_fd, const std::string& path, bool follow_link) {
  std::vector<std::string> parts = clean_components(path);
  struct stat st;
  PathInfo info;
  if (parts.empty() || follow_link) {
    // O_PATH opens FIFOs and devices without side effects.
    UniqueFd fd = TRY(open_in_root(root_fd, join_components(parts, parts.size()), O_PATH));
    if (::fstat(fd.get(), &st) < 0) return fail_errno("stat " + shown(parts));
  } else {
    // The parent is resolved inside the root; the last component is not
    // followed, so a symlink is reported as one.
    UniqueFd parent = TRY(open_in_root(root_fd, join_components(parts, parts.size() - 1),
                                       O_PATH | O_DIRECTORY));
    if (::fstatat(parent.get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno("stat " + shown(parts));
    if (S_ISLNK(st.st_mode)) info.link_target = TRY(read_link(parent.get(), parts.back(), shown(parts)));
  }
  info.kind = kind_of(st.st_mode);
  info.mode = st.st_mode;
  info.size = static_cast<uint64_t>(st.st_size);
  return info;
}

const char* kind_name(PathInfo::Kind kind) {
  switch (kind) {
    case PathInfo::Kind::kFile: return "file";
    case PathInfo::Kind::kDirectory: return "directory";
    case PathInfo::Kind::kSymlink: return "symlink";
    case PathInfo::Kind::kOther: return "other";
  }
  return "other";
}

nlohmann::json path_info_to_json(const PathInfo& info) {
  nlohmann::json j = {{"kind", kind_name(info.kind)}, {"mode", info.mode}, {"size", info.size}};
  if (info.kind == PathInfo::Kind::kSymlink) j["link_target"] = info.link_target;
  return j;
}

Result<PathInfo> path_info_from_json(const nlohmann::json& j) {
  auto kind = j.find("kind");
  if (!j.is_object() || kind == j.end() || !kind->is_string()) return fail("stat answer without a kind");
  PathInfo info;
  std::string name = kind->get<std::string>();
  for (auto k : {PathInfo::Kind::kFile, PathInfo::Kind::kDirectory, PathInfo::Kind::kSymlink,
                 PathInfo::Kind::kOther})
    if (name == kind_name(k)) info.kind = k;
  auto number = [&](const char* key) -> uint64_t {
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  info.mode = static_cast<mode_t>(number("mode"));
  info.size = number("size");
  auto target = j.find("link_target");
  if (target != j.end() && target->is_string()) info.link_target = target->get<std::string>();
  return info;
}

}  // namespace runvm::transfer
