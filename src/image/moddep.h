// Kernel module dependency resolution for the guest initramfs: reads a
// modules.dep (as written by depmod) and turns a list of wanted modules into
// the files to carry, in an order in which each loads after its dependencies.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace runvm::image {

// Module name as the kernel spells it: basename without .ko[.xz|.zst|.gz],
// '-' folded to '_' ("virtio-rng" and "virtio_rng" are one module).
std::string module_name_from_path(const std::string& path);
std::string normalize_module_name(const std::string& name);

struct ModuleDb {
  // normalized name -> path relative to the modules dir (as in modules.dep)
  std::map<std::string, std::string> path_of;
  // normalized name -> direct dependencies (normalized names)
  std::map<std::string, std::vector<std::string>> deps_of;
};

// Parses modules.dep text: lines "path.ko: dep1.ko dep2.ko". Malformed lines
// (no colon) are an error naming the line number.
Result<ModuleDb> parse_modules_dep(const std::string& text);

// Paths (relative, from modules.dep) of `wanted` and all their dependencies,
// dependencies first, each once. An unknown module or a dependency cycle is
// an error naming the module.
Result<std::vector<std::string>> resolve_load_order(
    const ModuleDb& db, const std::vector<std::string>& wanted);

}  // namespace runvm::image
