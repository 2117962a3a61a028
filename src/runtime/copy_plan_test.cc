// docker cp's path semantics as runvm cp applies them: for each kind of
// source and destination, where the archive goes and under which name, or
// which error the user reads. Also the operand syntax, the progress text
// and which failure a copy reports.
#include "runtime/copy_plan.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "runtime/copy_progress.h"
#include "runtime/copy_side.h"

namespace runvm::runtime {
namespace {

using K = PathKind;

CopyEnds ends(const std::string& src, K src_kind, const std::string& dest, K dest_kind,
              K parent_kind = K::kDirectory) {
  CopyEnds e;
  e.src = src;
  e.src_kind = src_kind;
  e.dest = dest;
  e.dest_kind = dest_kind;
  e.dest_parent_kind = parent_kind;
  e.src_label = src;
  e.dest_label = "c1:" + dest;
  return e;
}

struct Expect {
  std::string source, name, extract_dir;
  bool contents_only = false;
};

void expect_plan(const CopyEnds& e, const Expect& want) {
  auto plan = plan_copy(e);
  ASSERT_TRUE(plan) << plan.error().describe();
  EXPECT_EQ(plan->source, want.source);
  EXPECT_EQ(plan->name, want.name);
  EXPECT_EQ(plan->extract_dir, want.extract_dir);
  EXPECT_EQ(plan->contents_only, want.contents_only);
}

std::string plan_error(const CopyEnds& e) {
  auto plan = plan_copy(e);
  return plan ? "(no error)" : plan.error().describe();
}

TEST(CopyPlan, FileToMissingDestBecomesThatFile) {
  expect_plan(ends("/h/a.txt", K::kFile, "/tmp/b.txt", K::kMissing), {"/h/a.txt", "b.txt", "/tmp"});
}

TEST(CopyPlan, FileToMissingDestWithTrailingSlashIsAnError) {
  EXPECT_EQ(plan_error(ends("/h/a", K::kFile, "/tmp/new/", K::kMissing)),
            "destination directory c1:/tmp/new/ does not exist");
}

TEST(CopyPlan, FileOverwritesAFile) {
  expect_plan(ends("/h/a", K::kFile, "/etc/hosts", K::kFile), {"/h/a", "hosts", "/etc"});
}

TEST(CopyPlan, FileIntoADirectoryKeepsItsName) {
  expect_plan(ends("/h/a.txt", K::kFile, "/tmp", K::kDirectory), {"/h/a.txt", "", "/tmp"});
  expect_plan(ends("/h/a.txt", K::kFile, "/tmp/", K::kDirectory), {"/h/a.txt", "", "/tmp"});
}

TEST(CopyPlan, DirectoryToMissingDestIsCreatedWithTheContents) {
  expect_plan(ends("/h/d", K::kDirectory, "/tmp/new", K::kMissing), {"/h/d", "new", "/tmp"});
  // "/." makes no difference when DEST is created.
  expect_plan(ends("/h/d/.", K::kDirectory, "/tmp/new", K::kMissing), {"/h/d", "new", "/tmp"});
}

TEST(CopyPlan, DirectoryOntoAFileIsAnError) {
  EXPECT_EQ(plan_error(ends("/h/d", K::kDirectory, "/etc/hosts", K::kFile)),
            "cannot copy directory /h/d to file c1:/etc/hosts");
}

TEST(CopyPlan, DirectoryIntoADirectory) {
  expect_plan(ends("/h/d", K::kDirectory, "/tmp", K::kDirectory), {"/h/d", "", "/tmp"});
  expect_plan(ends("/h/d/", K::kDirectory, "/tmp", K::kDirectory), {"/h/d", "", "/tmp"});
}

TEST(CopyPlan, DirectoryDotCopiesItsContents) {
  expect_plan(ends("/h/d/.", K::kDirectory, "/tmp", K::kDirectory), {"/h/d", "", "/tmp", true});
  expect_plan(ends("/h/d/./", K::kDirectory, "/tmp", K::kDirectory), {"/h/d", "", "/tmp", true});
  expect_plan(ends(".", K::kDirectory, "/tmp", K::kDirectory), {"/", "", "/tmp", true});
}

TEST(CopyPlan, MissingSourceIsNamed) {
  EXPECT_EQ(plan_error(ends("c1:/nope", K::kMissing, "/tmp", K::kDirectory)),
            "c1:/nope: no such file or directory");
}

TEST(CopyPlan, TrailingSlashOnAFileSourceIsAnError) {
  EXPECT_EQ(plan_error(ends("/h/a/", K::kFile, "/tmp", K::kDirectory)), "/h/a/: not a directory");
  EXPECT_EQ(plan_error(ends("/h/a/.", K::kFile, "/tmp", K::kDirectory)), "/h/a/.: not a directory");
}

TEST(CopyPlan, TrailingSlashOnAFileDestIsAnError) {
  EXPECT_EQ(plan_error(ends("/h/a", K::kFile, "/etc/hosts/", K::kFile)),
            "destination c1:/etc/hosts/: not a directory");
}

TEST(CopyPlan, MissingDestNeedsItsParent) {
  EXPECT_EQ(plan_error(ends("/h/a", K::kFile, "/nope/x", K::kMissing, K::kMissing)),
            "destination c1:/nope/x: parent directory /nope does not exist");
  EXPECT_EQ(plan_error(ends("/h/d", K::kDirectory, "/etc/hosts/x", K::kMissing, K::kFile)),
            "destination c1:/etc/hosts/x: /etc/hosts is not a directory");
}

TEST(CopyPlan, ARelativeContainerPathIsFromItsRoot) {
  expect_plan(ends("/h/a", K::kFile, "tmp/b", K::kMissing), {"/h/a", "b", "/tmp"});
  expect_plan(ends("/h/a", K::kFile, "b", K::kMissing), {"/h/a", "b", "/"});
}

TEST(CopyPlan, ASymlinkDestIsTheTargetsPath) {
  CopyEnds e = ends("/h/a", K::kFile, "/etc/link", K::kFile);
  e.dest_path = "/etc/real";
  expect_plan(e, {"/h/a", "real", "/etc"});
  EXPECT_EQ(link_destination("/etc/link", "real"), "/etc/real");
  EXPECT_EQ(link_destination("/etc/link", "../var/x/"), "/var/x");
  EXPECT_EQ(link_destination("/etc/link", "/abs/y"), "/abs/y");
}

TEST(CopyPlan, StreamIn) {
  auto plan = plan_stream_in(ends("-", K::kMissing, "/tmp", K::kDirectory));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->extract_dir, "/tmp");
  auto bad = plan_stream_in(ends("-", K::kMissing, "/etc/hosts", K::kFile));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().describe(), "destination c1:/etc/hosts must be a directory");
  EXPECT_FALSE(plan_stream_in(ends("-", K::kMissing, "/nope", K::kMissing)));
}

TEST(CopyPlan, StreamOut) {
  auto plan = plan_stream_out(ends("/etc/.", K::kDirectory, "-", K::kMissing));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->source, "/etc");
  EXPECT_TRUE(plan->contents_only);
  EXPECT_EQ(plan->name, "");
  EXPECT_FALSE(plan_stream_out(ends("/nope", K::kMissing, "-", K::kMissing)));
}

TEST(CopyPlan, PathHelpers) {
  EXPECT_EQ(clean_path("a/../b//c/"), "/b/c");
  EXPECT_EQ(clean_path(""), "/");
  EXPECT_EQ(parent_of("/a"), "/");
  EXPECT_EQ(parent_of("/a/b"), "/a");
  EXPECT_EQ(basename_of("/a/b"), "b");
  EXPECT_TRUE(wants_contents("d/."));
  EXPECT_TRUE(wants_contents("."));
  EXPECT_FALSE(wants_contents("d/.x"));
  EXPECT_FALSE(wants_contents("d"));
  EXPECT_TRUE(wants_directory("d/"));
  EXPECT_FALSE(wants_directory("d"));
}

TEST(CopyOperandTest, DockerSyntax) {
  CopyOperand a = parse_operand("c1:/etc/hosts");
  EXPECT_EQ(a.container, "c1");
  EXPECT_EQ(a.path, "/etc/hosts");
  CopyOperand b = parse_operand("/abs/with:colon");
  EXPECT_EQ(b.container, "");
  EXPECT_EQ(b.path, "/abs/with:colon");
  CopyOperand c = parse_operand("./rel:colon");
  EXPECT_EQ(c.container, "");
  EXPECT_EQ(c.path, "./rel:colon");
  CopyOperand d = parse_operand("-");
  EXPECT_TRUE(d.is_stream());
  CopyOperand e = parse_operand("relative");
  EXPECT_EQ(e.container, "");
  EXPECT_FALSE(e.is_stream());
  EXPECT_FALSE(parse_operand("c1:-").is_stream());  // a file named "-" in the container
}

TEST(CopyProgress, Text) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(64ull << 20), "64.0 MiB");
  EXPECT_EQ(progress_line("Copying to c1:/tmp", 8ull << 20, 2.0), "Copying to c1:/tmp: 8.0 MiB, 4.0 MiB/s");
  EXPECT_EQ(progress_line("x", 10, 0), "x: 10 B");
}

TEST(CopySettle, TheWritersFailureUnlessItOnlySawTheReaderGo) {
  Status fine;
  Status broken_pipe = Error("write the archive", EPIPE);
  Status unreadable = Error("read /h/f", EACCES);
  Status truncated = Error("truncated tar archive");
  EXPECT_EQ(settle(unreadable, truncated).error().describe(), "read /h/f: Permission denied");
  EXPECT_EQ(settle(broken_pipe, truncated).error().describe(), "truncated tar archive");
  EXPECT_TRUE(settle(broken_pipe, fine));  // the reader had it all
  EXPECT_EQ(settle(fine, truncated).error().describe(), "truncated tar archive");
  EXPECT_TRUE(settle(fine, fine));
}

}  // namespace
}  // namespace runvm::runtime
