// Malicious archives and a hostile container: each test checks that no
// file outside the root changed (a sentinel directory beside the root is
// described before and after).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include "transfer/import.h"
#include "transfer/testing.h"

namespace runvm::transfer {
namespace {

using testing::ArchiveBuilder;
using testing::exists;
using testing::TempDir;

class ImportSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_dirs(tmp_ / "root/dest");
    testing::make_dirs(tmp_ / "outside/sub");
    testing::write_file(tmp_ / "outside/secret", "secret");
    testing::write_file(tmp_ / "outside/sub/file", "file");
    before_ = testing::describe_tree(tmp_ / "outside");
    root_ = testing::open_dir(tmp_ / "root");
  }
  void TearDown() override {
    EXPECT_EQ(testing::describe_tree(tmp_ / "outside"), before_)
        << "something outside the root changed";
  }

  Result<TransferSummary> import(const std::string& archive, ImportOptions options = {},
                                 std::function<void(size_t)> hook = {}) {
    testing::StringSource source(archive, 512, std::move(hook));
    return import_tar(root_.get(), "dest", source, options);
  }
  std::string outside() const { return tmp_ / "outside"; }
  std::string in_root(const std::string& path) const { return tmp_ / ("root/" + path); }

  TempDir tmp_;
  UniqueFd root_;
  std::map<std::string, std::string> before_;
};

TEST_F(ImportSafety, DotDotEntriesAreRejected) {
  for (const char* name : {"../../outside/secret", "a/../../../outside/secret", "../escape"}) {
    auto r = import(ArchiveBuilder().file(name, "pwned").finish());
    ASSERT_FALSE(r) << name;
    EXPECT_NE(r.error().message().find(".."), std::string::npos) << r.error().message();
  }
}

TEST_F(ImportSafety, OnlyUnderRefusesOtherNames) {
  ImportOptions options;
  options.only_under = "asked";
  auto good = import(ArchiveBuilder().dir("asked").file("asked/f", "ok").finish(), options);
  ASSERT_TRUE(good) << good.error().describe();
  EXPECT_EQ(testing::read_file(in_root("dest/asked/f")), "ok");
  for (const std::string& archive :
       {ArchiveBuilder().file("asked/f", "ok").file(".bashrc", "pwned").finish(),
        ArchiveBuilder().file("/asked-not", "pwned").finish(),
        ArchiveBuilder().hardlink("asked/l", "other").finish()}) {
    auto bad = import(archive, options);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().describe().find("outside asked"), std::string::npos) << bad.error().describe();
  }
  EXPECT_FALSE(exists(in_root("dest/.bashrc")));
  EXPECT_FALSE(exists(in_root("dest/asked-not")));
}

// A symlink the archive made aims a later entry elsewhere in the root (tar
// semantics, still inside the root); no_symlinks refuses to go through it.
TEST_F(ImportSafety, NoSymlinksKeepsEntriesWhereTheirNamesSay) {
  std::string archive = ArchiveBuilder().symlink("asked", ".").file("asked/.bashrc", "pwned").finish();
  ImportOptions options;
  options.only_under = "asked";
  options.no_symlinks = true;
  auto refused = import(archive, options);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().describe().find("refusing to go through a symlink"), std::string::npos)
      << refused.error().describe();
  EXPECT_FALSE(exists(in_root("dest/.bashrc")));
  // A hardlink whose target goes through such a link: to a file of the
  // root beside the destination.
  testing::write_file(in_root("secret"), "beside the destination");
  std::string via_link = ArchiveBuilder().dir("asked").symlink("asked/up", "/")
                             .hardlink("asked/h", "asked/up/secret").finish();
  auto linked = import(via_link, options);
  ASSERT_FALSE(linked);
  EXPECT_NE(linked.error().describe().find("Too many levels of symbolic links"), std::string::npos)
      << linked.error().describe();
  EXPECT_FALSE(exists(in_root("dest/asked/h")));
  std::filesystem::remove_all(in_root("dest/asked"));
  // Without it, as tar: the link is followed, inside the root.
  options.no_symlinks = false;
  options.only_under = "";
  auto followed = import(archive, options);
  ASSERT_TRUE(followed) << followed.error().describe();
  EXPECT_EQ(testing::read_file(in_root("dest/.bashrc")), "pwned");
}

TEST_F(ImportSafety, KeepGoingSkipsOnlyTheBadEntry) {
  ImportOptions options;
  options.keep_going = true;
  auto r = import(ArchiveBuilder().file("../x", "pwned").file("good", "ok").finish(), options);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->errors, 1u);
  ASSERT_TRUE(r->first_error);
  EXPECT_NE(r->first_error->message().find("../x"), std::string::npos);
  EXPECT_EQ(testing::read_file(in_root("dest/good")), "ok");
}

TEST_F(ImportSafety, AbsoluteNamesAreStrippedAndStayInTheDestination) {
  auto r = import(ArchiveBuilder().file(outside() + "/secret", "pwned").finish());
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(testing::read_file(in_root("dest" + outside() + "/secret")), "pwned");
}

TEST_F(ImportSafety, SymlinkThenWriteThroughStaysInRoot) {
  auto r = import(ArchiveBuilder()
                      .symlink("abs", outside())
                      .symlink("rel", "../../../../../../../../" + outside())
                      .symlink("top", "/")
                      .file("abs/secret", "pwned")
                      .file("rel/secret", "pwned")
                      .file("top/evil", "inside")
                      .finish(),
                  {.keep_going = true});
  ASSERT_TRUE(r) << r.error().describe();
  // The targets do not exist inside the root: those entries failed...
  EXPECT_EQ(r->errors, 2u);
  // ...and a target that does (the root itself) got the write, inside.
  EXPECT_EQ(testing::read_file(in_root("evil")), "inside");
}

TEST_F(ImportSafety, SymlinkFromAnEarlierImportStaysInRoot) {
  ASSERT_TRUE(import(ArchiveBuilder().symlink("link", outside()).finish()));
  testing::make_dirs(in_root(outside().substr(1)));
  auto r = import(ArchiveBuilder().file("link/secret", "pwned").file("link/sub/file", "x").finish());
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(testing::read_file(in_root(outside().substr(1) + "/secret")), "pwned");
}

TEST_F(ImportSafety, ExistingSymlinkIsReplacedNotWrittenThrough) {
  ASSERT_EQ(::symlink((outside() + "/secret").c_str(), in_root("dest/f").c_str()), 0);
  ASSERT_EQ(::symlink(outside().c_str(), in_root("dest/d").c_str()), 0);
  auto r = import(ArchiveBuilder().file("f", "pwned").dir("d", 0700).finish());
  ASSERT_TRUE(r) << r.error().describe();
  struct stat st;
  ASSERT_EQ(::lstat(in_root("dest/f").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_EQ(::lstat(in_root("dest/d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(ImportSafety, HardlinksCannotReachOutside) {
  auto dotdot = import(ArchiveBuilder().hardlink("h", "../../outside/secret").finish());
  ASSERT_FALSE(dotdot);
  auto absolute = import(ArchiveBuilder().hardlink("h", outside() + "/secret").finish());
  ASSERT_FALSE(absolute);  // resolved inside the root, where it does not exist
  EXPECT_EQ(absolute.error().errno_value(), ENOENT) << absolute.error().describe();
  // Through a symlink to outside: also resolved inside the root, where
  // there is no such file, so no link is made.
  auto via_link = import(ArchiveBuilder().symlink("l", outside()).hardlink("h", "l/secret").finish(),
                         {.keep_going = true});
  ASSERT_TRUE(via_link);
  EXPECT_EQ(via_link->errors, 1u);
  EXPECT_FALSE(exists(in_root("dest/h")));
}

TEST_F(ImportSafety, HardlinkThenWriteDoesNotWriteTheTarget) {
  testing::write_file(in_root("dest/victim"), "original");
  auto r = import(ArchiveBuilder().hardlink("h", "victim").file("h", "pwned").finish());
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(testing::read_file(in_root("dest/victim")), "original");
  EXPECT_EQ(testing::read_file(in_root("dest/h")), "pwned");
}

TEST_F(ImportSafety, DevicesAndFifosRefusedByDefault) {
  auto chr = import(ArchiveBuilder().node("sda", AE_IFBLK, makedev(8, 0)).finish());
  ASSERT_FALSE(chr);
  EXPECT_NE(chr.error().message().find("device"), std::string::npos);
  auto fifo = import(ArchiveBuilder().node("fifo", AE_IFIFO).finish());
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message().find("FIFO"), std::string::npos);
  EXPECT_FALSE(exists(in_root("dest/sda")));
  EXPECT_FALSE(exists(in_root("dest/fifo")));
}

TEST_F(ImportSafety, NonEmptyDirectoryIsNotReplacedByAFile) {
  testing::make_dirs(in_root("dest/d"));
  testing::write_file(in_root("dest/d/keep"), "keep");
  auto r = import(ArchiveBuilder().file("d", "file").finish());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("non-empty directory"), std::string::npos);
  EXPECT_EQ(testing::read_file(in_root("dest/d/keep")), "keep");
}

TEST_F(ImportSafety, DestinationSwappedForSymlinkDuringImport) {
  std::string archive = ArchiveBuilder()
                            .file("first", "1")
                            .dir("sub")
                            .file("second", "pwned")
                            .file("sub/third", "pwned")
                            .finish();
  for (std::string target : {outside(), std::string("../../../../../..") + outside()}) {
    bool swapped = false;
    // After the first entry (a header and one data block): the container
    // renames the destination away and puts a symlink to outside there.
    auto hook = [&](size_t pos) {
      if (swapped || pos < 1024) return;
      swapped = true;
      ASSERT_EQ(::rename(in_root("dest").c_str(), in_root("dest.orig").c_str()), 0);
      ASSERT_EQ(::symlink(target.c_str(), in_root("dest").c_str()), 0);
    };
    auto r = import(archive, {.keep_going = true}, hook);
    EXPECT_TRUE(swapped);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_GE(r->errors, 1u);  // the symlink's target does not exist in the root
    EXPECT_EQ(testing::read_file(in_root("dest.orig/first")), "1");
    ::unlink(in_root("dest").c_str());
    ASSERT_EQ(::rename(in_root("dest.orig").c_str(), in_root("dest").c_str()), 0);
  }
}

TEST_F(ImportSafety, ParentSwappedForSymlinkDuringImport) {
  std::string archive = ArchiveBuilder().dir("sub").file("sub/a", "1").file("sub/b", "pwned").finish();
  bool swapped = false;
  auto hook = [&](size_t pos) {
    if (swapped || !exists(in_root("dest/sub/a"))) return;
    swapped = true;
    ASSERT_EQ(::rename(in_root("dest/sub").c_str(), in_root("dest/sub.orig").c_str()), 0);
    ASSERT_EQ(::symlink(outside().c_str(), in_root("dest/sub").c_str()), 0);
    (void)pos;
  };
  auto r = import(archive, {.keep_going = true}, hook);
  EXPECT_TRUE(swapped);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(exists(outside() + "/b"));
}

TEST_F(ImportSafety, TruncatedAndGarbageStreamsFailCleanly) {
  std::string archive = ArchiveBuilder().file("f", std::string(5000, 'x')).finish();
  EXPECT_FALSE(import(archive.substr(0, 2000)));
  EXPECT_FALSE(import(std::string(3000, '\x7f')));
}

}  // namespace
}  // namespace runvm::transfer
