#include "transfer/export.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "transfer/testing.h"

namespace runvm::transfer {
namespace {

using testing::TempDir;

struct Listed {
  std::string name;
  mode_t type;
  std::string link;      // symlink target or hardlink target
  std::string data;
};

std::vector<Listed> list(const std::string& archive) {
  testing::StringSource source(archive);
  auto reader = TarReader::open(source);
  EXPECT_TRUE(reader);
  std::vector<Listed> out;
  while (true) {
    auto e = reader->next();
    EXPECT_TRUE(e) << e.error().describe();
    if (!e || *e == nullptr) break;
    Listed l{archive_entry_pathname(*e), archive_entry_filetype(*e), "", ""};
    if (archive_entry_symlink(*e)) l.link = archive_entry_symlink(*e);
    if (archive_entry_hardlink(*e)) l.link = archive_entry_hardlink(*e);
    for (;;) {
      auto b = reader->read_block();
      if (!b || b->size == 0) break;
      l.data.append(b->data, b->size);
    }
    out.push_back(l);
  }
  return out;
}

std::vector<std::string> names(const std::vector<Listed>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

class Export : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_dirs(tmp_ / "root/data/sub");
    testing::make_dirs(tmp_ / "outside");
    testing::write_file(tmp_ / "outside/secret", "TOP-SECRET");
    testing::write_file(tmp_ / "root/data/a", "a");
    testing::write_file(tmp_ / "root/data/sub/b", "b");
    root_ = testing::open_dir(tmp_ / "root");
  }
  Result<std::string> run(const std::string& path, ExportOptions options = {}) {
    testing::StringSink sink;
    TRY(export_tar(root_.get(), path, sink, options));
    return sink.data();
  }
  std::string outside() const { return tmp_ / "outside"; }

  TempDir tmp_;
  UniqueFd root_;
};

TEST_F(Export, NamesFollowDockerCp) {
  auto plain = run("/data");
  ASSERT_TRUE(plain) << plain.error().describe();
  EXPECT_EQ(names(list(*plain)),
            (std::vector<std::string>{"data/", "data/a", "data/sub/", "data/sub/b"}));
  auto renamed = run("data/sub/b", {.name = "renamed"});
  ASSERT_TRUE(renamed);
  EXPECT_EQ(names(list(*renamed)), std::vector<std::string>{"renamed"});
  auto contents = run("data/", {.contents_only = true});
  ASSERT_TRUE(contents);
  EXPECT_EQ(names(list(*contents)), (std::vector<std::string>{"a", "sub/", "sub/b"}));
  auto root = run("/");
  ASSERT_TRUE(root);
  EXPECT_EQ(list(*root).at(0).name, "./");
}

TEST_F(Export, SymlinksBelowTheTopAreNeverFollowed) {
  ASSERT_EQ(::symlink((outside() + "/secret").c_str(), (tmp_ / "root/data/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../../../outside", (tmp_ / "root/data/rel").c_str()), 0);
  auto archive = run("data");
  ASSERT_TRUE(archive) << archive.error().describe();
  EXPECT_EQ(archive->find("TOP-SECRET"), std::string::npos);
  for (const Listed& e : list(*archive)) {
    if (e.name == "data/abs") {
      EXPECT_EQ(e.type, AE_IFLNK);
    }
    if (e.name == "data/rel") {
      EXPECT_EQ(e.link, "../../../outside");
    }
  }
}

TEST_F(Export, TopSymlinkFollowedOnlyOnRequestAndInsideTheRoot) {
  ASSERT_EQ(::symlink("/data/a", (tmp_ / "root/link").c_str()), 0);
  ASSERT_EQ(::symlink((outside() + "/secret").c_str(), (tmp_ / "root/escape").c_str()), 0);
  auto as_link = run("link");
  ASSERT_TRUE(as_link);
  auto entries = list(*as_link);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].type, AE_IFLNK);
  auto followed = run("link", {.follow_link = true});
  ASSERT_TRUE(followed) << followed.error().describe();
  entries = list(*followed);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "link");
  EXPECT_EQ(entries[0].data, "a");
  auto escaped = run("escape", {.follow_link = true});
  ASSERT_FALSE(escaped);  // the host's path does not exist inside the root
  EXPECT_EQ(escaped.error().errno_value(), ENOENT);
  // Intermediate symlinks of the path resolve inside the root too.
  ASSERT_EQ(::symlink("../../../..", (tmp_ / "root/up").c_str()), 0);
  auto up = run("up/data/a");
  ASSERT_TRUE(up) << up.error().describe();
  EXPECT_EQ(list(*up).at(0).data, "a");
}

TEST_F(Export, HardlinksBecomeLinkEntries) {
  ASSERT_EQ(::link((tmp_ / "root/data/a").c_str(), (tmp_ / "root/data/sub/a2").c_str()), 0);
  auto archive = run("data");
  ASSERT_TRUE(archive);
  auto entries = list(*archive);
  auto it = std::find_if(entries.begin(), entries.end(),
                         [](auto& e) { return e.name == "data/sub/a2"; });
  ASSERT_NE(it, entries.end());
  EXPECT_EQ(it->link, "data/a");
  EXPECT_EQ(it->data, "");
}

TEST_F(Export, SparseFilesAreStoredWithTheirMap) {
  int fd = ::open((tmp_ / "root/data/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 1 << 30), 0);  // 1 GiB, all hole
  ASSERT_EQ(::pwrite(fd, "x", 1, 12345), 1);
  ::close(fd);
  auto archive = run("data/sparse");
  ASSERT_TRUE(archive);
  EXPECT_LT(archive->size(), 64u * 1024);
}

TEST_F(Export, MissingTopFails) {
  auto missing = run("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errno_value(), ENOENT);
}

TEST_F(Export, BrokenSinkStopsTheExport) {
  struct Broken : ByteSink {
    Status write(std::string_view) override { return fail("sink closed"); }
  } sink;
  testing::write_file(tmp_ / "root/data/big", std::string(1 << 20, 'x'));
  auto r = export_tar(root_.get(), "data", sink, {.keep_going = true});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("sink closed"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace runvm::transfer
