// Export a tree with every kind of entry, import it elsewhere, and compare
// entry by entry (we run as root: owners and device nodes are kept).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <random>

#include "transfer/export.h"
#include "transfer/import.h"
#include "transfer/testing.h"

namespace runvm::transfer {
namespace {

using testing::TempDir;
using testing::write_file;

constexpr off_t kSparseSize = 64 << 20;

void set_mtime(const std::string& path, time_t sec, long nsec) {
  timespec times[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

std::string random_bytes(size_t size) {
  std::mt19937 gen(42);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

// Returns whether the file system kept a user.* xattr.
bool build_tree(const std::string& t) {
  if (::mkdir(t.c_str(), 0755) != 0) {
    ADD_FAILURE() << "mkdir " << t;
    return false;
  }
  write_file(t + "/file.txt", "hello\n", 0640);
  ::chown((t + "/file.txt").c_str(), 1234, 5678);
  bool xattrs = ::setxattr((t + "/file.txt").c_str(), "user.test", "value", 5, 0) == 0;
  write_file(t + "/empty", "");
  write_file(t + "/big", random_bytes(5 << 20));
  testing::make_dirs(t + "/dir/sub");
  write_file(t + "/dir/sub/deep.txt", "deep");
  ::chmod((t + "/dir").c_str(), 0750);
  ::symlink("file.txt", (t + "/link").c_str());
  ::symlink("/etc/passwd", (t + "/abs_link").c_str());
  ::lchown((t + "/link").c_str(), 42, 43);
  write_file(t + "/hard1", "shared");
  ::link((t + "/hard1").c_str(), (t + "/dir/hard2").c_str());
  write_file(t + "/setuid", "#!/bin/sh\n", 04755);
  write_file(t + "/setgid", "#!/bin/sh\n", 02755);
  ::mkdir((t + "/sticky").c_str(), 0755);
  ::chmod((t + "/sticky").c_str(), 01777);
  int fd = ::open((t + "/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  (void)!::pwrite(fd, "data", 4, 1 << 20);
  (void)!::pwrite(fd, "tail", 4, kSparseSize - 4);
  ::close(fd);
  write_file(t + "/" + std::string(200, 'n'), "long name");
  testing::make_dirs(t + "/" + std::string(120, 'a') + "/" + std::string(120, 'b'));
  write_file(t + "/" + std::string(120, 'a') + "/" + std::string(120, 'b') + "/f", "long path");
  write_file(t + "/bad\xff\xfe", "not utf-8");
  write_file(t + "/caf\xc3\xa9", "utf-8");
  ::mkfifo((t + "/fifo").c_str(), 0600);
  ::mknod((t + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
  set_mtime(t + "/file.txt", 1700000000, 123456789);
  set_mtime(t + "/link", 1600000000, 5);
  set_mtime(t + "/dir/sub", 1500000000, 999999999);
  set_mtime(t + "/dir", 1400000000, 1);
  return xattrs;
}

struct Roundtrip {
  TempDir tmp;
  bool xattrs = false;
  TransferSummary exported, imported;
  std::string archive;

  void run(const ImportOptions& options) {
    testing::make_dirs(tmp / "src");
    testing::make_dirs(tmp / "dst/out");
    xattrs = build_tree(tmp / "src/tree");
    UniqueFd src = testing::open_dir(tmp / "src");
    testing::StringSink sink;
    auto e = export_tar(src.get(), "tree", sink, {});
    ASSERT_TRUE(e) << e.error().describe();
    exported = *e;
    archive = sink.data();
    UniqueFd dst = testing::open_dir(tmp / "dst");
    testing::StringSource source(archive, 10000);  // odd chunks: no alignment luck
    auto i = import_tar(dst.get(), "/out", source, options);
    ASSERT_TRUE(i) << i.error().describe();
    imported = *i;
  }
};

TEST(Roundtrip, EveryKindOfEntry) {
  ASSERT_EQ(::geteuid(), 0u) << "the round trip needs root (owners, device nodes)";
  Roundtrip rt;
  ImportOptions options;
  options.allow_devices = true;
  ASSERT_NO_FATAL_FAILURE(rt.run(options));

  auto src = testing::describe_tree(rt.tmp / "src/tree");
  auto dst = testing::describe_tree(rt.tmp / "dst/out/tree");
  if (!rt.xattrs) {
    std::cerr << "user xattrs not kept by this file system: not compared\n";
  } else {
    EXPECT_NE(src["file.txt"].find("user.test=value"), std::string::npos);
  }
  for (const auto& [name, desc] : src) EXPECT_EQ(dst[name], desc) << name;
  EXPECT_EQ(dst.size(), src.size());
  EXPECT_EQ(rt.imported.entries, rt.exported.entries);
  EXPECT_EQ(rt.imported.bytes, rt.exported.bytes);
  EXPECT_FALSE(rt.imported.first_error);
}

TEST(Roundtrip, SparseStaysSparse) {
  Roundtrip rt;
  ImportOptions options;
  options.allow_devices = true;
  ASSERT_NO_FATAL_FAILURE(rt.run(options));
  EXPECT_LT(rt.archive.size(), 8u << 20);  // 5 MiB "big" + headers, not 64 MiB of holes
  struct stat st;
  ASSERT_EQ(::stat((rt.tmp / "dst/out/tree/sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, kSparseSize);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);
}

TEST(Roundtrip, NoSameOwnerNoSamePermissionsTouch) {
  Roundtrip rt;
  ImportOptions options;
  options.same_owner = false;
  options.same_permissions = false;
  options.umask = 027;
  options.touch = true;
  options.allow_devices = true;
  ASSERT_NO_FATAL_FAILURE(rt.run(options));
  struct stat st;
  ASSERT_EQ(::stat((rt.tmp / "dst/out/tree/file.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_GT(st.st_mtim.tv_sec, 1700000000);
  ASSERT_EQ(::stat((rt.tmp / "dst/out/tree/setuid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat((rt.tmp / "dst/out/tree/sticky").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

TEST(Roundtrip, SetIdNeedsSameOwner) {
  Roundtrip rt;
  ImportOptions options;
  options.same_owner = false;  // same_permissions stays on
  options.allow_devices = true;
  ASSERT_NO_FATAL_FAILURE(rt.run(options));
  struct stat st;
  ASSERT_EQ(::stat((rt.tmp / "dst/out/tree/setuid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((rt.tmp / "dst/out/tree/sticky").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

// Archives from GNU tar (sparse maps, xattrs, long names in its own pax
// and GNU formats) import to the same tree.
TEST(Roundtrip, ImportsGnuTarArchives) {
  if (::access("/usr/bin/tar", X_OK) != 0) GTEST_SKIP() << "no GNU tar";
  for (const char* format : {"posix", "gnu"}) {
    TempDir tmp;
    testing::make_dirs(tmp / "src");
    testing::make_dirs(tmp / "dst");
    build_tree(tmp / "src/tree");
    std::string cmd = "tar -C " + tmp / "src" + " --format=" + format +
                      " --sparse --xattrs --numeric-owner -cf " + tmp / "a.tar" + " tree";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    UniqueFd archive(::open((tmp / "a.tar").c_str(), O_RDONLY | O_CLOEXEC));
    FdSource source(archive.get());
    UniqueFd dst = testing::open_dir(tmp / "dst");
    ImportOptions options;
    options.allow_devices = true;
    auto r = import_tar(dst.get(), ".", source, options);
    ASSERT_TRUE(r) << r.error().describe();
    // GNU tar's gnu format has no nanoseconds: compare without mtimes there.
    bool ns = std::string(format) == "posix";
    auto src = testing::describe_tree(tmp / "src/tree", ns);
    auto dst_tree = testing::describe_tree(tmp / "dst/tree", ns);
    for (const auto& [name, desc] : src) EXPECT_EQ(dst_tree[name], desc) << format << " " << name;
    struct stat st;
    ASSERT_EQ(::stat((tmp / "dst/tree/sparse").c_str(), &st), 0);
    EXPECT_LT(st.st_blocks * 512, 1 << 20) << format;
  }
}

}  // namespace
}  // namespace runvm::transfer
