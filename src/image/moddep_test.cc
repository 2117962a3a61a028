#include "image/moddep.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace runvm::image {
namespace {

using Paths = std::vector<std::string>;

// A trimmed copy of what depmod writes for Debian's cloud kernel.
constexpr const char* kVirtioDep =
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko\n"
    "\n"
    "kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko "
    "kernel/drivers/virtio/virtio_ring.ko\n"
    "kernel/fs/fuse/fuse.ko:\n"
    "kernel/fs/fuse/virtiofs.ko: kernel/fs/fuse/fuse.ko "
    "kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n";

ModuleDb parse_or_die(const std::string& text) {
  auto db = parse_modules_dep(text);
  EXPECT_TRUE(db) << db.error().describe();
  return db ? *db : ModuleDb{};
}

// A predicate rather than gmock's HasSubstr: unit tests link gtest only.
bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

size_t index_of(const Paths& paths, const std::string& path) {
  auto it = std::find(paths.begin(), paths.end(), path);
  EXPECT_NE(it, paths.end()) << path << " missing";
  return static_cast<size_t>(it - paths.begin());
}

TEST(ModuleName, StripsDirectoryAndEveryCompressionSuffix) {
  EXPECT_EQ(module_name_from_path("kernel/drivers/virtio/virtio_mmio.ko"), "virtio_mmio");
  EXPECT_EQ(module_name_from_path("kernel/fs/fuse/fuse.ko.xz"), "fuse");
  EXPECT_EQ(module_name_from_path("kernel/fs/fuse/fuse.ko.zst"), "fuse");
  EXPECT_EQ(module_name_from_path("kernel/fs/fuse/fuse.ko.gz"), "fuse");
  EXPECT_EQ(module_name_from_path("overlay.ko"), "overlay");
}

TEST(ModuleName, FoldsDashesToUnderscores) {
  EXPECT_EQ(normalize_module_name("virtio-rng"), "virtio_rng");
  EXPECT_EQ(normalize_module_name("virtio_rng"), "virtio_rng");
  EXPECT_EQ(module_name_from_path("kernel/drivers/char/hw_random/virtio-rng.ko"),
            "virtio_rng");
}

TEST(ParseModulesDep, RecordsPathsAndDirectDeps) {
  ModuleDb db = parse_or_die(kVirtioDep);
  EXPECT_EQ(db.path_of.size(), 6u);
  EXPECT_EQ(db.path_of.at("virtio_mmio"), "kernel/drivers/virtio/virtio_mmio.ko");
  EXPECT_EQ(db.deps_of.at("virtio_mmio"), (Paths{"virtio", "virtio_ring"}));
  EXPECT_TRUE(db.deps_of.at("virtio_ring").empty());
}

TEST(ParseModulesDep, AcceptsCompressedModulesAndStrayWhitespace) {
  ModuleDb db = parse_or_die(
      "  kernel/fs/fuse/virtiofs.ko.zst:   kernel/fs/fuse/fuse.ko.zst\t\r\n"
      "\n   \n"
      "kernel/fs/fuse/fuse.ko.zst:\n");
  EXPECT_EQ(db.path_of.at("virtiofs"), "kernel/fs/fuse/virtiofs.ko.zst");
  EXPECT_EQ(db.deps_of.at("virtiofs"), (Paths{"fuse"}));
}

TEST(ParseModulesDep, EmptyTextIsAnEmptyDb) {
  ModuleDb db = parse_or_die("");
  EXPECT_TRUE(db.path_of.empty());
}

TEST(ParseModulesDep, MalformedLineIsNamedByNumber) {
  auto db = parse_modules_dep("kernel/a.ko:\n\nkernel/b.ko kernel/a.ko\n");
  ASSERT_FALSE(db);
  EXPECT_PRED2(contains, db.error().message(), "line 3");
  EXPECT_PRED2(contains, db.error().message(), "kernel/b.ko kernel/a.ko");
}

TEST(ParseModulesDep, DuplicateModuleIsAnError) {
  auto db = parse_modules_dep("kernel/a.ko:\nother/a.ko:\n");
  ASSERT_FALSE(db);
  EXPECT_PRED2(contains, db.error().message(), "line 2");
}

TEST(ResolveLoadOrder, DependenciesComeFirstAndSharedOnesOnce) {
  ModuleDb db = parse_or_die(kVirtioDep);
  auto order = resolve_load_order(db, {"virtio_mmio", "virtio_console", "virtiofs"});
  ASSERT_TRUE(order) << order.error().describe();
  EXPECT_EQ(*order, (Paths{
                        "kernel/drivers/virtio/virtio_ring.ko",
                        "kernel/drivers/virtio/virtio.ko",
                        "kernel/drivers/virtio/virtio_mmio.ko",
                        "kernel/drivers/char/virtio_console.ko",
                        "kernel/fs/fuse/fuse.ko",
                        "kernel/fs/fuse/virtiofs.ko",
                    }));
}

// top needs left and right, which both need base: base loads once, first.
TEST(ResolveLoadOrder, DiamondLoadsTheSharedBaseOnceBeforeBothSides) {
  ModuleDb db = parse_or_die(
      "top.ko: left.ko right.ko\n"
      "left.ko: base.ko\n"
      "right.ko: base.ko\n"
      "base.ko:\n");
  auto order = resolve_load_order(db, {"top"});
  ASSERT_TRUE(order) << order.error().describe();
  EXPECT_EQ(*order, (Paths{"base.ko", "left.ko", "right.ko", "top.ko"}));
}

TEST(ResolveLoadOrder, FollowsTheWantedListAndIgnoresRepeats) {
  ModuleDb db = parse_or_die(kVirtioDep);
  auto order = resolve_load_order(db, {"fuse", "virtio-ring", "fuse", "virtio_ring"});
  ASSERT_TRUE(order) << order.error().describe();
  EXPECT_EQ(*order, (Paths{"kernel/fs/fuse/fuse.ko", "kernel/drivers/virtio/virtio_ring.ko"}));
}

TEST(ResolveLoadOrder, EveryModuleFollowsItsDependencies) {
  ModuleDb db = parse_or_die(kVirtioDep);
  auto order = resolve_load_order(db, {"virtiofs", "virtio_mmio", "virtio_console"});
  ASSERT_TRUE(order) << order.error().describe();
  for (const auto& [name, deps] : db.deps_of) {
    for (const std::string& dep : deps) {
      EXPECT_LT(index_of(*order, db.path_of.at(dep)), index_of(*order, db.path_of.at(name)))
          << dep << " must load before " << name;
    }
  }
}

TEST(ResolveLoadOrder, UnknownModuleIsNamed) {
  ModuleDb db = parse_or_die(kVirtioDep);
  auto order = resolve_load_order(db, {"virtio_mmio", "9pnet_virtio"});
  ASSERT_FALSE(order);
  EXPECT_EQ(order.error().message(),
            "unknown kernel module \"9pnet_virtio\": not in modules.dep");
}

TEST(ResolveLoadOrder, MissingDependencyNamesWhoNeedsIt) {
  ModuleDb db = parse_or_die("kernel/fs/fuse/virtiofs.ko: kernel/fs/fuse/fuse.ko\n");
  auto order = resolve_load_order(db, {"virtiofs"});
  ASSERT_FALSE(order);
  EXPECT_PRED2(contains, order.error().message(),
               "unknown kernel module \"fuse\": not in modules.dep");
  EXPECT_PRED2(contains, order.error().message(), "needed by virtiofs");
}

TEST(ResolveLoadOrder, CycleIsAnErrorNamingAModuleOnIt) {
  ModuleDb db = parse_or_die(
      "a.ko: b.ko\n"
      "b.ko: c.ko\n"
      "c.ko: a.ko\n");
  auto order = resolve_load_order(db, {"a"});
  ASSERT_FALSE(order);
  EXPECT_PRED2(contains, order.error().message(), "dependency cycle through module a");
  EXPECT_PRED2(contains, order.error().message(), "a -> b -> c -> a");
}

TEST(ResolveLoadOrder, SelfDependencyIsACycle) {
  ModuleDb db = parse_or_die("a.ko: a.ko\n");
  auto order = resolve_load_order(db, {"a"});
  ASSERT_FALSE(order);
  EXPECT_PRED2(contains, order.error().message(), "dependency cycle through module a");
}

}  // namespace
}  // namespace runvm::image
