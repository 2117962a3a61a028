#include "transfer/tar_args.h"

#include <gtest/gtest.h>

namespace runvm::transfer {
namespace {

using Mode = TarCommand::Mode;

Result<TarCommand> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "tar");
  return parse_tar_args(args);
}

TEST(TarArgs, OldStyleBundle) {
  auto cmd = parse({"cf", "-", "a", "b"});
  ASSERT_TRUE(cmd) << cmd.error().describe();
  EXPECT_EQ(cmd->mode, Mode::kCreate);
  EXPECT_EQ(cmd->archive, "-");
  ASSERT_EQ(cmd->members.size(), 2u);
  EXPECT_EQ(cmd->members[1].path, "b");
}

TEST(TarArgs, OldStyleValuesTakenInOrder) {
  auto cmd = parse({"cfC", "out.tar", "dir", "x"});
  ASSERT_TRUE(cmd) << cmd.error().describe();
  EXPECT_EQ(cmd->archive, "out.tar");
  EXPECT_EQ(cmd->directory, "dir");
  ASSERT_EQ(cmd->members.size(), 1u);
  EXPECT_EQ(cmd->members[0].directory, "dir");
}

TEST(TarArgs, KubectlExtract) {
  auto cmd = parse({"--no-same-permissions", "--no-same-owner", "-xmf", "-", "-C", "/dest"});
  ASSERT_TRUE(cmd) << cmd.error().describe();
  EXPECT_EQ(cmd->mode, Mode::kExtract);
  EXPECT_EQ(cmd->archive, "-");
  EXPECT_TRUE(cmd->touch);
  EXPECT_EQ(cmd->same_owner, false);
  EXPECT_EQ(cmd->same_permissions, false);
  EXPECT_EQ(cmd->directory, "/dest");
}

TEST(TarArgs, CreateWithDirectoryIsPositionalAndCumulative) {
  auto cmd = parse({"-cf", "-", "a", "-C", "/d", "b", "-C", "sub", "c", "--", "-weird"});
  ASSERT_TRUE(cmd) << cmd.error().describe();
  ASSERT_EQ(cmd->members.size(), 4u);
  EXPECT_EQ(cmd->members[0].directory, "");
  EXPECT_EQ(cmd->members[1].directory, "/d");
  EXPECT_EQ(cmd->members[2].directory, "/d/sub");
  EXPECT_EQ(cmd->members[3].path, "-weird");
}

TEST(TarArgs, ClusterValueInline) {
  auto cmd = parse({"-xvf-", "-Cdir", "-p", "-o"});
  ASSERT_TRUE(cmd) << cmd.error().describe();
  EXPECT_EQ(cmd->archive, "-");
  EXPECT_TRUE(cmd->verbose);
  EXPECT_EQ(cmd->directory, "dir");
  EXPECT_EQ(cmd->same_permissions, true);
  EXPECT_EQ(cmd->same_owner, false);  // -o when extracting
}

TEST(TarArgs, LongOptionsWithValues) {
  auto cmd = parse({"--extract", "--file=a.tar", "--directory", "d", "--touch", "--xattrs"});
  ASSERT_TRUE(cmd) << cmd.error().describe();
  EXPECT_EQ(cmd->archive, "a.tar");
  EXPECT_EQ(cmd->directory, "d");
  EXPECT_TRUE(cmd->xattrs);
  EXPECT_FALSE(cmd->same_owner.has_value());
}

TEST(TarArgs, CompressionRefused) {
  using Args = std::vector<std::string>;
  for (const Args& args : std::vector<Args>{{"-xzf", "-"}, {"xjf", "-"}, {"-x", "--gzip"}}) {
    auto cmd = parse(args);
    ASSERT_FALSE(cmd) << args[0];
    EXPECT_NE(cmd.error().message().find("compression"), std::string::npos) << cmd.error().message();
  }
}

TEST(TarArgs, UnknownOptionsNamed) {
  auto shrt = parse({"-xqf", "-"});
  ASSERT_FALSE(shrt);
  EXPECT_EQ(shrt.error().message(), "invalid option -- 'q'");
  auto lng = parse({"-x", "--bogus=1"});
  ASSERT_FALSE(lng);
  EXPECT_EQ(lng.error().message(), "unrecognized option '--bogus=1'");
}

TEST(TarArgs, ModeErrors) {
  EXPECT_FALSE(parse({"-f", "-"}));
  EXPECT_FALSE(parse({"-cx"}));
  auto empty = parse({"cf", "-"});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(), "Cowardly refusing to create an empty archive");
  EXPECT_FALSE(parse({"-xf"}));  // -f needs a value
}

}  // namespace
}  // namespace runvm::transfer
