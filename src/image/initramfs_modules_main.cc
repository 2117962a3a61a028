// runvm-initramfs-modules MODULES_DIR NAME...
//
// Build-time helper for guest/mkinitramfs.sh: prints, one per line, the
// files under MODULES_DIR (paths relative to it, as in modules.dep) that the
// guest must load for NAME... to work, dependencies first.
#include <cstdio>
#include <string>
#include <vector>

#include "common/io.h"
#include "image/moddep.h"

namespace {

using runvm::Result;
using namespace runvm::image;

Result<std::vector<std::string>> load_order(const std::string& modules_dir,
                                            const std::vector<std::string>& wanted) {
  std::string dep_path = modules_dir + "/modules.dep";
  std::string text = TRY_CTX(runvm::io::read_file(dep_path), "reading kernel modules list");
  ModuleDb db = TRY_CTX(parse_modules_dep(text), dep_path);
  return resolve_load_order(db, wanted);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODULES_DIR NAME...\n", argv[0]);
    return 1;
  }
  std::vector<std::string> wanted(argv + 2, argv + argc);
  auto order = load_order(argv[1], wanted);
  if (!order) {
    std::fprintf(stderr, "runvm-initramfs-modules: %s\n", order.error().describe().c_str());
    return 1;
  }
  for (const std::string& path : *order) std::printf("%s\n", path.c_str());
  return std::fflush(stdout) == 0 ? 0 : 1;
}
