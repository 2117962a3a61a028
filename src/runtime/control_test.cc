// The control socket's codec without a monitor: requests and replies
// survive the wire, malformed ones are errors, and the replies of a monitor
// started by the previous runvm are still understood.
#include "runtime/control.h"

#include <gtest/gtest.h>

namespace runvm::control {
namespace {

Request round_trip(const Request& r) {
  auto back = parse_request(json::parse(to_json(r).dump()));
  EXPECT_TRUE(back) << (back ? "" : back.error().message());
  return back ? *back : Request(Start{});
}

TEST(ControlRequests, RoundTrip) {
  EXPECT_TRUE(std::holds_alternative<Start>(round_trip(Start{})));
  auto kill = std::get<Kill>(round_trip(Kill{0, true}));
  EXPECT_EQ(kill.signal, 0) << "0 is runc's liveness check";
  EXPECT_TRUE(kill.all);
  auto out = std::get<CopyOut>(round_trip(CopyOut{std::string("/a\xff", 3), "n", true, false}));
  EXPECT_EQ(out.path, std::string("/a\xff", 3));
  EXPECT_TRUE(out.contents_only);
  Exec e;
  e.process.process.args = {"ls", std::string("\xfe", 1)};
  EXPECT_EQ(std::get<Exec>(round_trip(e)).process.process.args, e.process.process.args);
  msg::Resources r;
  r.memory_limit = 1 << 20;
  EXPECT_EQ(std::get<Update>(round_trip(Update{r})).resources.memory_limit, 1 << 20);
  EXPECT_EQ(std::get<Resize>(round_trip(Resize{40, 120})).cols, 120);
}

TEST(ControlRequests, MalformedOnesAreErrors) {
  auto error = [](const char* text) {
    auto r = parse_request(json::parse(text));
    return r ? std::string() : r.error().message();
  };
  EXPECT_EQ(error(R"({"op":"kill","signal":"TERM"})"), "kill.signal: expected an integer from 0 to 64");
  EXPECT_EQ(error(R"({"op":"signal","signal":99})"), "signal.signal: expected an integer from 1 to 64");
  EXPECT_EQ(error(R"({"op":"copy_in","dest":""})"), "copy_in.dest: must not be empty");
  EXPECT_EQ(error(R"({"op":"exec","process":{"args":[]}})"), "process.args: must not be empty");
  EXPECT_EQ(error(R"({"op":"format_disk"})"), "unknown request \"format_disk\"");
  EXPECT_EQ(error(R"({"signal":9})"), "request.op: is required");
  EXPECT_EQ(error(R"("kill")"), "request: expected an object");
}

TEST(ControlReplies, RoundTripAndCheckWhatTheGuestSaid) {
  Reply r{.exit = 3, .copied = msg::Copied{"t1", 0, 5, 1, 0, std::nullopt}};
  auto back = Reply::parse(json::parse(r.to_json().dump()));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->exit, 3);
  EXPECT_EQ(back->copied->bytes, 5u);
  auto bad = Reply::parse(json::parse(R"({"ps":{"type":"ps","request":1,"processes":[{"pid":"x"}]}})"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("ps.processes[0].pid"), std::string::npos) << bad.error().message();
}

TEST(ControlReplies, APreviousMonitorsRepliesAreUnderstood) {
  auto started = Reply::parse(json::parse(R"({"started":true,"pid":57})"));
  ASSERT_TRUE(started);
  EXPECT_EQ(started->started, 57);
  auto ps = Reply::parse(json::parse(R"({"type":"ps","request":3,"processes":[{"pid":1,"ppid":0,"uid":0}]})"));
  ASSERT_TRUE(ps);
  ASSERT_TRUE(ps->ps);
  EXPECT_EQ(ps->ps->processes.size(), 1u);
  auto stat = Reply::parse(json::parse(R"({"type":"stat_path","request":4,"errno":2,"message":"open /x"})"));
  ASSERT_TRUE(stat && stat->stat_path);
  EXPECT_EQ(stat->stat_path->error_number, 2);
}

}  // namespace
}  // namespace runvm::control
