#include "agent/requests.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace runvm::agent {
namespace {

using nlohmann::json;

TEST(ParseStdio, PipesOrTty) {
  auto s = parse_stdio(json::parse(R"({"stdin":"e1/stdin","stdout":"e1/stdout","stderr":"e1/stderr"})"),
                       false);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_FALSE(s->terminal());
  EXPECT_EQ(s->outputs(), (std::vector<std::string>{"e1/stdout", "e1/stderr"}));
  auto t = parse_stdio(json::parse(R"({"tty":"e1/tty"})"), true);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_TRUE(t->terminal());
  EXPECT_EQ(t->outputs(), (std::vector<std::string>{"e1/tty"}));
}

TEST(ParseStdio, ShapeMustMatchTerminal) {
  EXPECT_EQ(parse_stdio(json::parse(R"({"stdin":"a","stdout":"b","stderr":"c"})"), true)
                .error().message(),
            "stdio.tty: is required");
  EXPECT_EQ(parse_stdio(json::parse(R"({"tty":"a"})"), false).error().message(),
            "stdio.tty: given for a process without a terminal");
  EXPECT_EQ(parse_stdio(json::parse(R"({"stdin":"a","stdout":"a","stderr":"c"})"), false)
                .error().message(),
            "stdio: stdin, stdout and stderr must be distinct streams");
  EXPECT_EQ(parse_stdio(json(), false).error().message(), "stdio: expected an object");
  EXPECT_EQ(parse_stdio(json::parse(R"({"stdin":1,"stdout":"b","stderr":"c"})"), false)
                .error().message(),
            "stdio.stdin: expected a string");
}

TEST(ParseHooks, ReadsAndValidates) {
  auto hooks = parse_hooks(json::parse(
      R"([{"path":"/bin/hook","args":["hook","x"],"env":["A=1"],"timeout":5},{"path":"/h2"}])"));
  ASSERT_TRUE(hooks) << hooks.error().message();
  ASSERT_EQ(hooks->size(), 2u);
  EXPECT_EQ((*hooks)[0].args, (std::vector<std::string>{"hook", "x"}));
  EXPECT_EQ((*hooks)[0].timeout, 5);
  EXPECT_FALSE((*hooks)[1].timeout);
  EXPECT_TRUE(parse_hooks(json())->empty());
  EXPECT_EQ(parse_hooks(json::parse(R"([{"path":"hook"}])")).error().message(),
            "hooks[0].path: must be an absolute path");
  EXPECT_EQ(parse_hooks(json::parse(R"([{"path":"/h","timeout":0}])")).error().message(),
            "hooks[0].timeout: expected a positive number of seconds");
  EXPECT_EQ(parse_hooks(json::parse(R"({})")).error().message(), "hooks: expected an array");
}

TEST(ParseProcessId, Bounded) {
  EXPECT_EQ(*parse_process_id(json::parse(R"({"id":"e1"})")), "e1");
  EXPECT_FALSE(parse_process_id(json::parse(R"({"id":""})")));
  EXPECT_FALSE(parse_process_id(json::parse(R"({"id":3})")));
  EXPECT_FALSE(parse_process_id(json::object()));
  EXPECT_FALSE(parse_process_id(json{{"id", std::string(65, 'x')}}));
}

TEST(ParseBinds, AcceptsFilesAndDirectories) {
  auto binds = parse_binds(nlohmann::json::parse(
      R"([{"destination":"/data","share":"m0","subpath":"","readonly":true},
          {"destination":"/etc/hosts","share":"m1","subpath":"hosts","file":true}])"));
  ASSERT_TRUE(binds) << binds.error().describe();
  ASSERT_EQ(binds->size(), 2u);
  EXPECT_TRUE((*binds)[0].readonly);
  EXPECT_TRUE((*binds)[1].file);
  EXPECT_EQ((*binds)[1].subpath, "hosts");
  EXPECT_TRUE(parse_binds(nlohmann::json()));
}

TEST(ParseBinds, RefusesEscapesAndOddTags) {
  for (const char* bad : {R"([{"destination":"rel","share":"m0","subpath":""}])",
                          R"([{"destination":"/a/../b","share":"m0","subpath":""}])",
                          R"([{"destination":"/a","share":"M/0","subpath":""}])",
                          R"([{"destination":"/a","share":"m0","subpath":"../etc"}])",
                          R"([{"destination":"/a","share":"m0","subpath":"/etc"}])",
                          R"([{"destination":"/a","share":"m0"}])", R"({"x":1})"})
    EXPECT_FALSE(parse_binds(nlohmann::json::parse(bad))) << bad;
}

TEST(ParseDevices, KeepsPermissionBitsOnly) {
  auto devices = parse_devices(nlohmann::json::parse(
      R"([{"path":"/dev/net/tun","type":"c","major":10,"minor":200,"mode":8630,"uid":0,"gid":5}])"));
  ASSERT_TRUE(devices) << devices.error().describe();
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].file_mode, 0666u) << "the S_IFCHR bits Docker sends are dropped";
  EXPECT_EQ((*devices)[0].gid, 5u);
  EXPECT_TRUE(parse_devices(nlohmann::json()));
}

TEST(ParseDevices, RefusesPathsOutsideDevAndBadNumbers) {
  for (const char* bad :
       {R"([{"path":"/etc/x","type":"c","major":1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/../etc/x","type":"c","major":1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/x","type":"s","major":1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/x","type":"c","major":-1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/x","type":"c","major":1,"minor":3}])", R"({"x":1})"})
    EXPECT_FALSE(parse_devices(nlohmann::json::parse(bad))) << bad;
}

}  // namespace
}  // namespace runvm::agent
