#include "runtime/copy_plan.h"

#include <vector>

#include "transfer/in_root.h"

namespace runvm::runtime {
namespace {

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// A missing destination is created in its parent, which must be there.
Status check_parent(const CopyEnds& e, const std::string& dest) {
  std::string parent = parent_of(dest);
  if (e.dest_parent_kind == PathKind::kMissing)
    return fail("destination " + e.dest_label + ": parent directory " + parent + " does not exist");
  if (e.dest_parent_kind == PathKind::kFile)
    return fail("destination " + e.dest_label + ": " + parent + " is not a directory");
  return ok();
}

Status check_source(const CopyEnds& e) {
  if (e.src_kind == PathKind::kMissing) return fail(e.src_label + ": no such file or directory");
  if (wants_directory(e.src) && e.src_kind != PathKind::kDirectory)
    return fail(e.src_label + ": not a directory");
  return ok();
}

}  // namespace

CopyOperand parse_operand(const std::string& arg) {
  if (!arg.empty() && arg[0] == '/') return {"", arg};
  size_t colon = arg.find(':');
  if (colon == std::string::npos || arg[0] == '.') return {"", arg};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

bool wants_contents(const std::string& path) {
  std::string p = without_trailing_slashes(path);
  return p == "." || p.ends_with("/.");
}

bool wants_directory(const std::string& path) {
  return (!path.empty() && path.back() == '/') || wants_contents(path);
}

std::string clean_path(const std::string& path) {
  std::vector<std::string> parts = transfer::clean_components(path);
  return "/" + transfer::join_components(parts, parts.size());
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string link_destination(const std::string& link_path, const std::string& target) {
  if (!target.empty() && target[0] == '/') return clean_path(target);
  return clean_path(parent_of(clean_path(link_path)) + "/" + target);
}

Result<CopyPlan> plan_copy(const CopyEnds& e) {
  TRY(check_source(e));
  CopyPlan plan;
  plan.source = clean_path(e.src);
  std::string dest = clean_path(e.dest_path.empty() ? e.dest : e.dest_path);
  bool src_is_dir = e.src_kind == PathKind::kDirectory;
  switch (e.dest_kind) {
    case PathKind::kMissing:
      if (wants_directory(e.dest))
        return fail("destination directory " + e.dest_label + " does not exist");
      TRY(check_parent(e, dest));
      // The top entry takes the new name: a file becomes DEST, a directory
      // DEST with the source's contents (with or without "/.").
      plan.name = basename_of(dest);
      plan.extract_dir = parent_of(dest);
      return plan;
    case PathKind::kFile:
      if (src_is_dir)
        return fail("cannot copy directory " + e.src_label + " to file " + e.dest_label);
      if (wants_directory(e.dest)) return fail("destination " + e.dest_label + ": not a directory");
      plan.name = basename_of(dest);
      plan.extract_dir = parent_of(dest);
      return plan;
    case PathKind::kDirectory:
      plan.extract_dir = dest;
      plan.contents_only = src_is_dir && wants_contents(e.src);
      return plan;
  }
  return fail("unknown destination kind");
}

Result<CopyPlan> plan_stream_in(const CopyEnds& e) {
  if (e.dest_kind != PathKind::kDirectory)
    return fail("destination " + e.dest_label + " must be a directory");
  CopyPlan plan;
  plan.extract_dir = clean_path(e.dest_path.empty() ? e.dest : e.dest_path);
  return plan;
}

Result<CopyPlan> plan_stream_out(const CopyEnds& e) {
  TRY(check_source(e));
  CopyPlan plan;
  plan.source = clean_path(e.src);
  plan.contents_only = e.src_kind == PathKind::kDirectory && wants_contents(e.src);
  return plan;
}

}  // namespace runvm::runtime
