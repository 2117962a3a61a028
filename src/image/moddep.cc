#include "image/moddep.h"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>

namespace runvm::image {
namespace {

// Suffixes depmod may write, longest first so ".ko.xz" is not cut as ".ko".
constexpr std::array<std::string_view, 4> kModuleSuffixes = {".ko.zst", ".ko.xz",
                                                             ".ko.gz", ".ko"};

constexpr std::string_view kSpace = " \t\r\v\f";

std::string_view trim(std::string_view s) {
  size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  size_t last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while ((pos = s.find_first_not_of(kSpace, pos)) != std::string_view::npos) {
    size_t end = s.find_first_of(kSpace, pos);
    if (end == std::string_view::npos) end = s.size();
    words.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

std::string line_error(size_t line_no, const std::string& what) {
  return "modules.dep line " + std::to_string(line_no) + ": " + what;
}

// Adds one "path: dep dep" line to db.
Status parse_line(std::string_view line, size_t line_no, ModuleDb& db) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return fail(line_error(line_no, "expected \"module.ko: deps...\", got \"" +
                                        std::string(line) + "\""));
  }
  std::string path(trim(line.substr(0, colon)));
  if (path.empty()) return fail(line_error(line_no, "empty module path"));
  std::string name = module_name_from_path(path);
  if (db.path_of.contains(name)) {
    return fail(line_error(line_no, "module " + name + " listed twice"));
  }
  std::vector<std::string> deps;
  for (std::string_view dep : split_words(line.substr(colon + 1))) {
    deps.push_back(module_name_from_path(std::string(dep)));
  }
  db.path_of.emplace(name, std::move(path));
  db.deps_of.emplace(std::move(name), std::move(deps));
  return ok();
}

// Depth-first topological sort. The modules whose dependencies are being
// walked form the stack; meeting one of them again means a cycle, and the
// stack is then the cycle's path, which is what a user needs to see.
class LoadOrder {
 public:
  explicit LoadOrder(const ModuleDb& db) : db_(db) {}

  Status visit(const std::string& name) {
    if (done_.contains(name)) return ok();
    if (std::find(stack_.begin(), stack_.end(), name) != stack_.end()) {
      return fail("dependency cycle through module " + name + " (" + cycle_path(name) + ")");
    }
    auto path = db_.path_of.find(name);
    if (path == db_.path_of.end()) return unknown(name);
    stack_.push_back(name);
    if (auto deps = db_.deps_of.find(name); deps != db_.deps_of.end()) {
      for (const std::string& dep : deps->second) TRY(visit(dep));
    }
    stack_.pop_back();
    done_.insert(name);
    order_.push_back(path->second);
    return ok();
  }

  std::vector<std::string> take() && { return std::move(order_); }

 private:
  Failure unknown(const std::string& name) const {
    std::string msg = "unknown kernel module \"" + name + "\": not in modules.dep";
    // A dependency missing from modules.dep means the file itself is broken,
    // not the wanted list: say who asked for it.
    if (!stack_.empty()) msg += " (needed by " + stack_.back() + ")";
    return fail(std::move(msg));
  }

  std::string cycle_path(const std::string& name) const {
    auto it = std::find(stack_.begin(), stack_.end(), name);
    std::string out;
    for (; it != stack_.end(); ++it) out += *it + " -> ";
    return out + name;
  }

  const ModuleDb& db_;
  std::vector<std::string> stack_;
  std::set<std::string> done_;
  std::vector<std::string> order_;
};

}  // namespace

std::string module_name_from_path(const std::string& path) {
  std::string_view name = path;
  if (size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  for (std::string_view suffix : kModuleSuffixes) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      name.remove_suffix(suffix.size());
      break;
    }
  }
  return normalize_module_name(std::string(name));
}

std::string normalize_module_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

Result<ModuleDb> parse_modules_dep(const std::string& text) {
  ModuleDb db;
  std::string_view rest = text;
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    std::string_view line = trim(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.empty()) continue;
    TRY(parse_line(line, line_no, db));
  }
  return db;
}

Result<std::vector<std::string>> resolve_load_order(
    const ModuleDb& db, const std::vector<std::string>& wanted) {
  LoadOrder order(db);
  for (const std::string& name : wanted) {
    TRY(order.visit(normalize_module_name(name)));
  }
  return std::move(order).take();
}

}  // namespace runvm::image
