#include "oci/mount_options.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>

namespace runvm::oci {
namespace {

TEST(MountOptions, FlagsAreNotData) {
  auto o = parse_mount_options({"nosuid", "dirsync", "mand", "nodiratime", "silent", "iversion",
                                "lazytime", "strictatime", "mode=755", "size=64k"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_DIRSYNC | MS_MANDLOCK | MS_NODIRATIME |
                                                 MS_SILENT | MS_I_VERSION | MS_LAZYTIME | MS_STRICTATIME));
  EXPECT_EQ(o.data, "mode=755,size=64k");
}

TEST(MountOptions, TheLastOfAPairWins) {
  EXPECT_FALSE(parse_mount_options({"ro", "rw"}).readonly());
  EXPECT_TRUE(parse_mount_options({"rw", "ro"}).readonly());
  auto o = parse_mount_options({"norelatime", "loud", "noiversion", "nolazytime", "nostrictatime"});
  EXPECT_EQ(o.flags, 0u);
  EXPECT_EQ(o.data, "");
  EXPECT_EQ(parse_mount_options({"silent", "loud"}).flags, 0u);
}

TEST(MountOptions, PropagationIsKeptApartInOrder) {
  auto o = parse_mount_options({"rbind", "rslave", "shared", "unbindable", "runbindable", "private",
                                "rprivate", "slave", "rshared"});
  EXPECT_TRUE(o.bind());
  EXPECT_TRUE(o.recursive_bind());
  EXPECT_EQ(o.data, "");
  std::vector<unsigned long> expected = {MS_SLAVE | MS_REC, MS_SHARED, MS_UNBINDABLE,
                                         MS_UNBINDABLE | MS_REC, MS_PRIVATE, MS_PRIVATE | MS_REC,
                                         MS_SLAVE, MS_SHARED | MS_REC};
  EXPECT_EQ(o.propagation, expected);
}

TEST(MountOptions, RecursiveAttributes) {
  auto o = parse_mount_options({"rbind", "rro", "rnosuid", "rnoatime"});
  EXPECT_TRUE(o.recursive_readonly());
  EXPECT_FALSE(o.readonly());
  EXPECT_EQ(o.attr_set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME));
  EXPECT_EQ(o.attr_clr, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
  auto back = parse_mount_options({"rro", "rrw"});
  EXPECT_FALSE(back.recursive_readonly());
  EXPECT_EQ(back.attr_clr, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
  EXPECT_EQ(back.data, "");
}

TEST(MountOptions, BindOnlyWithTheOptionOrType) {
  EXPECT_FALSE(parse_mount_options({"ro"}).bind());
  EXPECT_TRUE(parse_mount_options({"bind"}).bind());
  EXPECT_FALSE(parse_mount_options({"bind"}).recursive_bind());
  EXPECT_TRUE(is_bind(Mount{"/x", "bind", "/src", {}}));
  EXPECT_TRUE(is_bind(Mount{"/x", "", "/src", {"rbind"}}));
  EXPECT_TRUE(is_bind(Mount{"/x", "none", "/src", {"bind"}}));
  EXPECT_FALSE(is_bind(Mount{"/x", "tmpfs", "tmpfs", {"nosuid"}}));
}

TEST(MountOptions, TmpcopyupIsAnExtension) {
  auto o = parse_mount_options({"tmpcopyup", "mode=1777"});
  EXPECT_TRUE(o.tmpcopyup);
  EXPECT_EQ(o.data, "mode=1777");
}

TEST(MountOptions, KnownOptionsListsEveryWord) {
  auto known = known_mount_options();
  for (const char* word : {"rro", "rslave", "dirsync", "tmpcopyup", "ro", "rbind", "nosymfollow"})
    EXPECT_NE(std::find(known.begin(), known.end(), word), known.end()) << word;
  EXPECT_TRUE(std::is_sorted(known.begin(), known.end()));
}

TEST(RootPropagation, RuncsValues) {
  EXPECT_EQ(root_propagation_flags(""), 0u);
  EXPECT_EQ(root_propagation_flags("rslave"), static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(root_propagation_flags("shared"), static_cast<unsigned long>(MS_SHARED));
  EXPECT_EQ(root_propagation_flags("runbindable"), static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
  EXPECT_FALSE(root_propagation_flags("bogus"));
  EXPECT_FALSE(root_propagation_flags("ro"));
}

}  // namespace
}  // namespace runvm::oci
