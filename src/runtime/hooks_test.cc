#include "runtime/hooks.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace runvm::runtime {
namespace {

oci::Hook shell(const std::string& script, std::optional<int> timeout = std::nullopt) {
  return {"/bin/sh", {"sh", "-c", script}, {"HOOK_VAR=set"}, timeout};
}

TEST(Hooks, GetTheStateOnStdinAndTheirOwnEnvironment) {
  char tmpl[] = "/tmp/hooks-XXXXXX";
  std::string out = std::string(::mkdtemp(tmpl)) + "/out";
  ASSERT_TRUE(run_hooks({shell("cat > " + out + "; echo \" $HOOK_VAR\" >> " + out)},
                        {{"id", "c1"}, {"status", "creating"}}));
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), R"({"id":"c1","status":"creating"} set)" "\n");
  std::system(("rm -rf " + std::string(tmpl)).c_str());
}

TEST(Hooks, AFailureNamesTheHookAndCarriesItsOutput) {
  auto s = run_hooks({shell("true"), shell("echo said; echo moaned >&2; exit 4")}, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().describe(),
            "error running hook #1: error running hook: exited with status 4, stdout: said\n"
            ", stderr: moaned\n");
}

TEST(Hooks, ATimeoutKillsTheHookInTime) {
  auto start = std::chrono::steady_clock::now();
  auto s = run_hooks({shell("sleep 30", 1)}, {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().describe().find("hook ran past specified timeout of 1.0s"), std::string::npos)
      << s.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Hooks, AMissingHookIsAnErrorNotACrash) {
  auto s = run_hooks({{"/nonexistent/hook", {}, {}, std::nullopt}}, {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().describe().find("error running hook #0"), std::string::npos);
}

TEST(Hooks, SurviveTheJsonRoundTrip) {
  std::vector<oci::Hook> hooks = {shell("x", 5), {"/a", {}, {}, std::nullopt}};
  auto back = hooks_from_json(hooks_to_json(hooks));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].args, hooks[0].args);
  EXPECT_EQ(back[0].timeout, 5);
  EXPECT_FALSE(back[1].timeout);
}

}  // namespace
}  // namespace runvm::runtime
