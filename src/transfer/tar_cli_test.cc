#include "transfer/tar_cli.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io.h"
#include "transfer/testing.h"

namespace runvm::transfer {
namespace {

using testing::TempDir;

UniqueFd memfd(const std::string& content = "") {
  UniqueFd fd(::memfd_create("tar-test", MFD_CLOEXEC));
  EXPECT_TRUE(io::write_all(fd.get(), content));
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

std::string contents(int fd) {
  ::lseek(fd, 0, SEEK_SET);
  return io::read_to_end(fd);
}

// `tar ARGS` inside tmp/root, working directory /work there.
struct Tar {
  int status;
  std::string out, err;
};

class TarCli : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_dirs(tmp_ / "root/work/src/sub");
    testing::make_dirs(tmp_ / "root/dest");
    testing::write_file(tmp_ / "root/work/src/a", "a");
    testing::write_file(tmp_ / "root/work/src/sub/b", "b", 0600);
    root_ = testing::open_dir(tmp_ / "root");
  }
  Tar tar(std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), "tar");
    UniqueFd in_fd = memfd(in), out_fd = memfd(), err_fd = memfd();
    int status =
        run_tar_command_at(root_.get(), "/work", args, in_fd.get(), out_fd.get(), err_fd.get());
    return {status, contents(out_fd.get()), contents(err_fd.get())};
  }
  std::string in_root(const std::string& p) const { return tmp_ / ("root/" + p); }

  TempDir tmp_;
  UniqueFd root_;
};

TEST_F(TarCli, CreateThenExtractLikeKubectlCp) {
  Tar c = tar({"cf", "-", "src"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, "");
  Tar x = tar({"--no-same-permissions", "--no-same-owner", "-xmf", "-", "-C", "/dest"}, c.out);
  ASSERT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(testing::read_file(in_root("dest/src/sub/b")), "b");
  struct stat st;
  ASSERT_EQ(::stat(in_root("dest/src/sub/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u & ~0022u);
}

TEST_F(TarCli, DirectoryOptionAndRelativeNames) {
  Tar c = tar({"-cf", "-", "-C", "src", "sub", "a"});
  ASSERT_EQ(c.status, 0) << c.err;
  Tar x = tar({"xf", "-", "-C", "../dest"}, c.out);
  ASSERT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(testing::read_file(in_root("dest/sub/b")), "b");
  EXPECT_EQ(testing::read_file(in_root("dest/a")), "a");
}

TEST_F(TarCli, VerboseGoesWhereGnuTarPutsIt) {
  Tar c = tar({"cvf", "-", "src/a"});
  ASSERT_EQ(c.status, 0);
  EXPECT_EQ(c.err, "src/a\n");  // the archive is on stdout
  Tar x = tar({"-xvf", "-", "-C", "/dest"}, c.out);
  ASSERT_EQ(x.status, 0);
  EXPECT_EQ(x.out, "src/a\n");
}

TEST_F(TarCli, LeadingSlashRemovedWithANote) {
  Tar c = tar({"cf", "-", "/work/src/a"});
  ASSERT_EQ(c.status, 0);
  EXPECT_EQ(c.err, "tar: Removing leading `/' from member names\n");
  Tar x = tar({"xf", "-", "-C", "/dest"}, c.out);
  ASSERT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(testing::read_file(in_root("dest/work/src/a")), "a");
}

TEST_F(TarCli, ArchiveFilesInsideTheRoot) {
  Tar c = tar({"-c", "-f", "/out.tar", "src"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(testing::exists(in_root("out.tar")));
  Tar x = tar({"-x", "--file=/out.tar", "--directory=/dest"});
  ASSERT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(testing::read_file(in_root("dest/src/a")), "a");
}

TEST_F(TarCli, ErrorsExitTwoWithGnuWording) {
  Tar bogus = tar({"-x", "--bogus"});
  EXPECT_EQ(bogus.status, 2);
  EXPECT_EQ(bogus.err.substr(0, bogus.err.find('\n')), "tar: unrecognized option '--bogus'");
  Tar gz = tar({"-xzf", "-"});
  EXPECT_EQ(gz.status, 2);
  EXPECT_NE(gz.err.find("compression"), std::string::npos);
  Tar missing = tar({"cf", "-", "nope", "src/a"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("nope"), std::string::npos);
  EXPECT_NE(missing.err.find("Exiting with failure status due to previous errors"), std::string::npos);
  EXPECT_NE(missing.out.size(), 0u);  // the archive still has src/a
  Tar garbage = tar({"xf", "-"}, std::string(2048, 'x'));
  EXPECT_EQ(garbage.status, 2);
  EXPECT_NE(garbage.err.find("tar: "), std::string::npos);
}

TEST_F(TarCli, BadEntriesSkippedAndReported) {
  std::string archive = testing::ArchiveBuilder().file("../evil", "x").file("ok", "ok").finish();
  Tar x = tar({"xf", "-", "-C", "/dest"}, archive);
  EXPECT_EQ(x.status, 2);
  EXPECT_NE(x.err.find("tar: ../evil: member name contains '..'"), std::string::npos) << x.err;
  EXPECT_EQ(testing::read_file(in_root("dest/ok")), "ok");
}

}  // namespace
}  // namespace runvm::transfer
