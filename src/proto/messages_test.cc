#include "proto/messages.h"

#include <gtest/gtest.h>

namespace runvm::msg {
namespace {

json parse(const char* text) { return json::parse(text); }

std::string error_of(const json& body, bool from_guest = true) {
  if (from_guest) {
    auto m = parse_guest_message(body);
    return m ? "" : m.error().message();
  }
  auto m = parse_host_message(body);
  return m ? "" : m.error().message();
}

// Every message survives to_json -> parse unchanged: both ends agree.
template <typename M>
M round_trip(const M& m) {
  json j = m.to_json();
  std::string text = j.dump();  // never throws: byte strings are encoded
  auto back = M::parse(json::parse(text));
  EXPECT_TRUE(back) << (back ? "" : back.error().message());
  return back ? *back : M{};
}

TEST(Messages, ExitRoundTripsAndIsCheckedByType) {
  Exit e{"e1", 137, 9};
  Exit back = round_trip(e);
  EXPECT_EQ(back.id, "e1");
  EXPECT_EQ(back.exit_code, 137);
  EXPECT_EQ(back.signal, 9);
  auto m = parse_guest_message(parse(R"({"type":"exit","id":"init","exit_code":0,"signal":null})"));
  ASSERT_TRUE(m);
  EXPECT_TRUE(std::holds_alternative<Exit>(*m));
}

TEST(Messages, FreezeNamesItsContainerAndSaysWhichWay) {
  Freeze thaw{7, false, "c2"};
  auto parsed = parse_host_message(thaw.to_json());
  ASSERT_TRUE(parsed) << parsed.error().describe();
  const Freeze& back = std::get<Freeze>(*parsed);
  EXPECT_EQ(back.request, 7u);
  EXPECT_FALSE(back.frozen);
  EXPECT_EQ(back.container, "c2");
  json j = thaw.to_json();
  j.erase("frozen");
  auto missing = parse_host_message(j);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().describe().find("freeze.frozen"), std::string::npos);
  j = thaw.to_json();
  j["container"] = "C2";
  EXPECT_FALSE(parse_host_message(j));
}

TEST(Messages, ForwardNamesItsStreamAndAPortInRange) {
  auto parsed = parse_host_message(Forward{"p3", 8080}.to_json());
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(std::get<Forward>(*parsed).id, "p3");
  EXPECT_EQ(std::get<Forward>(*parsed).port, 8080);
  for (const char* bad : {R"({"type":"forward","id":"p1","port":0})", R"({"type":"forward","id":"p1","port":65536})",
                          R"({"type":"forward","id":"","port":80})", R"({"type":"forward","port":80})",
                          R"({"type":"forward","id":"p1","port":"80"})"})
    EXPECT_FALSE(parse_host_message(json::parse(bad))) << bad;
}

TEST(Messages, ForwardFailedCarriesTheErrnoAndIsBounded) {
  auto parsed = parse_guest_message(ForwardFailed{"p3", 111, "connect 127.0.0.1:81: Connection refused"}.to_json());
  ASSERT_TRUE(parsed) << parsed.error().describe();
  const ForwardFailed& back = std::get<ForwardFailed>(*parsed);
  EXPECT_EQ(back.id, "p3");
  EXPECT_EQ(back.error_number, 111);
  EXPECT_EQ(back.message, "connect 127.0.0.1:81: Connection refused");
  EXPECT_FALSE(parse_guest_message(json::parse(R"({"type":"forward_failed","id":"p1","errno":-1,"message":""})")));
  EXPECT_FALSE(parse_guest_message(
      json{{"type", "forward_failed"}, {"id", "p1"}, {"errno", 1}, {"message", std::string(kMaxTextSize + 1, 'x')}}));
}

TEST(Messages, IllTypedGuestMessagesAreErrorsNotExceptions) {
  EXPECT_EQ(error_of(parse(R"({"type":"exit","id":"init","exit_code":"x"})")),
            "exit.exit_code: expected an integer from 0 to 255");
  EXPECT_EQ(error_of(parse(R"({"type":"exit","id":"init","exit_code":256})")),
            "exit.exit_code: expected an integer from 0 to 255");
  EXPECT_EQ(error_of(parse(R"({"type":"exit","id":"init","exit_code":-1})")),
            "exit.exit_code: expected an integer from 0 to 255");
  EXPECT_EQ(error_of(parse(R"({"type":"exit","id":7,"exit_code":0})")), "exit.id: expected a string");
  EXPECT_EQ(error_of(parse(R"({"type":"exit","exit_code":0})")), "exit.id: is required");
  EXPECT_EQ(error_of(parse(R"({"type":"started","id":"e1","pid":1.5})")),
            "started.pid: expected an integer from 1 to 4194304");
  EXPECT_EQ(error_of(parse(R"({"type":"start_failed","id":"e1","message":["x"],"exit_code":1})")),
            "start_failed.message: expected a string");
  EXPECT_EQ(error_of(parse(R"({"type":"ps","request":1,"processes":{}})")), "ps.processes: expected an array");
  EXPECT_EQ(error_of(parse(R"({"type":"ps","request":-1,"processes":[]})")),
            "ps.request: expected an integer from 0 to 18446744073709551615");
  EXPECT_EQ(error_of(parse(R"({"type":"dns_query","query":1,"data":"zz"})")), "dns_query.data: expected hex");
  EXPECT_EQ(error_of(parse(R"({"type":"stat_path","request":1,"kind":"socket","mode":1})")),
            "stat_path.kind: expected file, directory, symlink or other");
  EXPECT_EQ(error_of(parse(R"({"type":"copied","id":"t1","exit_code":0,"bytes":-5})")),
            "copied.bytes: expected an integer from 0 to 18446744073709551615");
  EXPECT_EQ(error_of(parse(R"({"type":"stats","request":1,"cpu":[]})")), "stats.cpu: expected an object");
  EXPECT_EQ(error_of(parse(R"({"type":"nonsense"})")), "unknown message type \"nonsense\"");
  EXPECT_EQ(error_of(parse(R"({"id":"init"})")), "a message without a type");
  EXPECT_EQ(error_of(parse(R"([1,2])")), "a message must be a JSON object");
  // A host message is not a guest message.
  EXPECT_EQ(error_of(parse(R"({"type":"create","id":"init"})")), "unknown message type \"create\"");
}

TEST(Messages, OversizedTextIsRefused) {
  json m = {{"type", "start_failed"}, {"id", "e1"}, {"message", std::string(kMaxTextSize + 1, 'x')},
            {"exit_code", 1}};
  EXPECT_EQ(error_of(m), "start_failed.message: longer than 65536 bytes");
  json ps = {{"type", "ps"}, {"request", 1}, {"processes", json::array()}};
  for (size_t i = 0; i <= kMaxPsEntries; ++i) ps["processes"].push_back({{"pid", 1}, {"ppid", 0}, {"uid", 0}});
  EXPECT_EQ(error_of(ps), "ps.processes: more than 4096");
  EXPECT_EQ(error_of(json{{"type", "exit"}, {"id", std::string(65, 'e')}, {"exit_code", 0}}),
            "exit.id: longer than 64 bytes");
}

TEST(Messages, GuestAnswersRoundTrip) {
  PsAnswer ps{3, {{1, 0, 0, "pts/0", 20, 1500, std::string("sh\xff -c", 6)}}};
  PsAnswer ps_back = round_trip(ps);
  ASSERT_EQ(ps_back.processes.size(), 1u);
  EXPECT_EQ(ps_back.processes[0].cmd, ps.processes[0].cmd);
  EXPECT_EQ(ps_back.processes[0].start_time_ms, 1500u);
  ps.processes[0].state = 'S';
  ps.uptime_ms = 90000;
  ps_back = round_trip(ps);
  EXPECT_EQ(ps_back.processes[0].state, 'S');
  EXPECT_EQ(ps_back.uptime_ms, 90000u);
  EXPECT_EQ(error_of(json{{"type", "ps"}, {"request", 1},
                          {"processes", {{{"pid", 1}, {"ppid", 0}, {"uid", 0}, {"state", "\n"}}}}}),
            "ps.processes[0].state: expected a letter or ?");

  StatsAnswer stats;
  stats.request = 4;
  stats.memory.limit = 1 << 20;
  stats.unavailable = {"memory"};
  StatsAnswer stats_back = round_trip(stats);
  EXPECT_EQ(stats_back.memory.limit, 1u << 20);
  EXPECT_EQ(stats_back.unavailable, stats.unavailable);
  stats.oom_kills = 3;
  stats.throttling.throttled_ns = 5000;
  stats.memory_failcnt = 2;
  stats.swap.limit = 1 << 20;
  stats.memory_raw = {{"anon", 4096}, {"file", 8192}};
  StatsAnswer more = round_trip(stats);
  EXPECT_EQ(more.oom_kills, 3u);
  EXPECT_EQ(more.throttling.throttled_ns, 5000u);
  EXPECT_EQ(more.memory_failcnt, 2u);
  EXPECT_EQ(more.swap.limit, 1u << 20);
  EXPECT_EQ(more.memory_raw, stats.memory_raw);
  json flood = stats.to_json();
  for (size_t i = 0; i <= kMaxRawStats; ++i) flood["memory"]["raw"]["k" + std::to_string(i)] = 1;
  EXPECT_EQ(error_of(flood), "stats.memory.raw: expected an object of at most 128 counters");
  json negative = stats.to_json();
  negative["memory"]["raw"]["anon"] = -1;
  EXPECT_EQ(error_of(negative), "stats.memory.raw: expected counters named in at most 64 bytes");

  StatPathAnswer missing;
  missing.request = 5;
  missing.error_number = 2;
  missing.message = "open /nope";
  EXPECT_EQ(round_trip(missing).error_number, 2);
  StatPathAnswer link;
  link.kind = "symlink";
  link.mode = 0120777;
  link.link_target = "/run/x";
  link.root_share = false;
  StatPathAnswer link_back = round_trip(link);
  EXPECT_EQ(link_back.link_target, "/run/x");
  EXPECT_EQ(link_back.root_share, false);

  Copied copied{"t1", 1, 5, 1, 0, std::string("destination: open /srv")};
  EXPECT_EQ(round_trip(copied).error, copied.error);
  EXPECT_EQ(round_trip(DnsQuery{7, std::string("\x00\x01", 2), true}).data, std::string("\x00\x01", 2));
  EXPECT_EQ(round_trip(NetworkUpdated{std::string("no")}).error, "no");
  EXPECT_EQ(round_trip(StartFailed{"e1", "exec: \"x\": executable file not found in $PATH", 127}).exit_code, 127);
}

TEST(Messages, ProcessBytesThatAreNotUtf8SurviveTheWire) {
  Exec e;
  e.id = "e1";
  e.process.process.args = {"/bin/echo", std::string("caf\xe9", 4)};
  e.process.process.env = {std::string("X=\xff", 3)};
  e.process.process.cwd = std::string("/tmp/\xfe", 6);
  e.stdio = {"", "e1/stdin", "e1/stdout", "e1/stderr"};
  Exec back = round_trip(e);
  EXPECT_EQ(back.process.process.args, e.process.process.args);
  EXPECT_EQ(back.process.process.env, e.process.process.env);
  EXPECT_EQ(back.process.process.cwd, e.process.process.cwd);
  EXPECT_EQ(back.stdio.outputs(), (std::vector<std::string>{"e1/stdout", "e1/stderr"}));
}

TEST(Messages, AnExecSubCgroupStaysInsideTheContainersCgroup) {
  Exec e;
  e.id = "e1";
  e.process.process.args = {"true"};
  e.stdio = {"", "e1/stdin", "e1/stdout", "e1/stderr"};
  e.cgroup = "batch/low";
  EXPECT_EQ(round_trip(e).cgroup, "batch/low");
  for (const char* bad : {"..", "a/../../b", "/abs", "a//b", "a/", "./a"}) {
    json j = e.to_json();
    j["cgroup"] = bad;
    auto parsed = parse_host_message(j);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_NE(parsed.error().describe().find("exec.cgroup"), std::string::npos) << parsed.error().describe();
  }
  EXPECT_TRUE(valid_sub_cgroup(""));
  EXPECT_FALSE(valid_sub_cgroup(std::string(kMaxSubCgroupSize + 1, 'a')));
}

TEST(Messages, CreateRoundTrips) {
  Create c;
  c.id = "init";
  c.process.process.args = {"sh"};
  c.process.process.console_size = oci::ConsoleSize{40, 120};
  c.process.process.oom_score_adj = -500;
  c.sysctl = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "65536"}};
  c.domainname = "example.org";
  c.resources.memory_reservation = 1 << 27;
  c.resources.memory_swap = 1 << 29;
  c.resources.cpuset_cpus = "0-1";
  c.resources.cpuset_mems = "0";
  c.resources.unified = {{"memory.high", "1000000"}};
  c.readonly_root = true;
  c.hostname = "c1";
  c.mounts = {{"/proc", "proc", "proc", {}}, {"/data", "bind", "/host/data", {"rbind", "rro"}}};
  c.root_propagation = "rshared";
  c.resources.memory_limit = 1 << 28;
  c.resources.cpu_quota = 50000;
  c.binds = {{"/data", "m0", "", true, false}};
  oci::Device tun;
  tun.path = "/dev/net/tun";
  tun.major = 10;
  tun.minor = 200;
  c.devices = {tun};
  c.dns_relay = true;
  c.stdio = {"", "init/stdin", "init/stdout", "init/stderr"};
  Create back = round_trip(c);
  EXPECT_EQ(back.hostname, "c1");
  EXPECT_TRUE(back.readonly_root);
  ASSERT_TRUE(back.process.process.console_size);
  EXPECT_EQ(back.process.process.console_size->width, 120);
  EXPECT_EQ(back.process.process.console_size->height, 40);
  EXPECT_EQ(back.process.process.oom_score_adj, -500);
  EXPECT_EQ(back.sysctl, c.sysctl);
  EXPECT_EQ(back.domainname, "example.org");
  EXPECT_EQ(back.resources.memory_reservation, 1 << 27);
  EXPECT_EQ(back.resources.memory_swap, 1 << 29);
  EXPECT_EQ(back.resources.cpuset_cpus, "0-1");
  EXPECT_EQ(back.resources.cpuset_mems, "0");
  EXPECT_EQ(back.resources.unified, c.resources.unified);
  EXPECT_EQ(back.resources.memory_limit, 1 << 28);
  ASSERT_EQ(back.binds.size(), 1u);
  EXPECT_TRUE(back.binds[0].readonly);
  EXPECT_EQ(back.mounts[1].options, (std::vector<std::string>{"rbind", "rro"}));
  EXPECT_EQ(back.root_propagation, "rshared");
  ASSERT_EQ(back.devices.size(), 1u);
  EXPECT_EQ(back.devices[0].file_mode, 0666u);
  EXPECT_TRUE(back.dns_relay);
}

TEST(Messages, HostQueriesRoundTrip) {
  EXPECT_EQ(round_trip(Signal{"init", 15, true}).all, true);
  EXPECT_EQ(round_trip(Resize{"e1", 40, 120}).cols, 120);
  EXPECT_EQ(round_trip(Ps{9}).request, 9u);
  Update u;
  u.request = 2;
  u.resources.pids_limit = 100;
  EXPECT_EQ(round_trip(u).resources.pids_limit, 100);
  StatPath s{3, std::string("/a\xff", 3), true, true};
  EXPECT_EQ(round_trip(s).path, s.path);
  CopyOut out;
  out.id = "t2";
  out.path = "/etc";
  out.name = "etc";
  out.contents_only = true;
  out.stdio = {"", "t2/stdin", "t2/stdout", "t2/stderr"};
  EXPECT_TRUE(round_trip(out).contents_only);
  Start st;
  st.id = "init";
  st.state = R"({"id":"c1"})";
  st.hooks = {oci::Hook{"/bin/hook", {"hook"}, {}, 5}};
  Start st_back = round_trip(st);
  EXPECT_EQ(st_back.state, st.state);
  ASSERT_EQ(st_back.hooks.size(), 1u);
  EXPECT_EQ(st_back.hooks[0].timeout, 5);
}

// Each host message about a process or a container names its container of
// the VM; the name crosses the wire unchanged.
TEST(Messages, HostMessagesNameTheirContainer) {
  Create c;
  c.id = "init";
  c.process.process.args = {"sh"};
  c.stdio = {"", "init/stdin", "init/stdout", "init/stderr"};
  EXPECT_EQ(round_trip(c).container, "c0") << "the default is the VM's first container";
  c.container = "c1";
  EXPECT_EQ(round_trip(c).container, "c1");
  Start st;
  st.id = "p1";
  st.container = "c1";
  EXPECT_EQ(round_trip(st).container, "c1");
  Exec e;
  e.id = "e1";
  e.container = "c2";
  e.process.process.args = {"true"};
  e.stdio = {"", "e1/stdin", "e1/stdout", "e1/stderr"};
  EXPECT_EQ(round_trip(e).container, "c2");
  Signal sig{"e1", 9, false, "c3"};
  EXPECT_EQ(round_trip(sig).container, "c3");
  EXPECT_EQ(round_trip(Ps{1, "c4"}).container, "c4");
  EXPECT_EQ(round_trip(Stats{2, "c5"}).container, "c5");
  Update u;
  u.request = 3;
  u.container = "c6";
  EXPECT_EQ(round_trip(u).container, "c6");
  StatPath sp{4, "/etc", false, false, "c7"};
  EXPECT_EQ(round_trip(sp).container, "c7");
  CopyIn in;
  in.id = "t1";
  in.dest = "/srv";
  in.container = "c8";
  in.stdio = {"", "t1/stdin", "t1/stdout", "t1/stderr"};
  EXPECT_EQ(round_trip(in).container, "c8");
  CopyOut out;
  out.id = "t2";
  out.path = "/etc";
  out.container = std::string(kMaxContainerNameSize, 'z');
  out.stdio = {"", "t2/stdin", "t2/stdout", "t2/stderr"};
  EXPECT_EQ(round_trip(out).container, out.container) << "16 characters is the most, and allowed";
}

// The host messages that must name a container, each valid as to_json writes it.
std::vector<json> messages_with_a_container() {
  Create c;
  c.id = "init";
  c.process.process.args = {"sh"};
  c.stdio = {"", "init/stdin", "init/stdout", "init/stderr"};
  Start st;
  st.id = "init";
  Exec e;
  e.id = "e1";
  e.process.process.args = {"true"};
  e.stdio = {"", "e1/stdin", "e1/stdout", "e1/stderr"};
  CopyIn in;
  in.id = "t1";
  in.dest = "/srv";
  in.stdio = {"", "t1/stdin", "t1/stdout", "t1/stderr"};
  CopyOut out;
  out.id = "t2";
  out.path = "/etc";
  out.stdio = {"", "t2/stdin", "t2/stdout", "t2/stderr"};
  return {c.to_json(), st.to_json(), e.to_json(), Signal{"e1", 15}.to_json(), Ps{1}.to_json(), Stats{2}.to_json(),
          Update{3}.to_json(), StatPath{4, "/etc"}.to_json(), in.to_json(), out.to_json()};
}

TEST(Messages, EveryHostMessageAboutAContainerRequiresAValidName) {
  std::vector<json> messages = messages_with_a_container();
  ASSERT_EQ(messages.size(), 10u);
  for (const json& m : messages) {
    std::string type = m["type"];
    std::string member = type + ".container";
    ASSERT_EQ(error_of(m, false), "") << type;
    json missing = m;
    missing.erase("container");
    EXPECT_EQ(error_of(missing, false), member + ": is required");
    json absent = m;
    absent["container"] = nullptr;
    EXPECT_EQ(error_of(absent, false), member + ": is required");
    json number = m;
    number["container"] = 0;
    EXPECT_EQ(error_of(number, false), member + ": expected a string");
    for (const std::string& bad : {std::string(""), std::string("C0"), std::string("c/0"), std::string(".."),
                                   std::string("c-1"), std::string("c 1"), std::string("c\0", 2),
                                   std::string(kMaxContainerNameSize + 1, 'c')}) {
      json named = m;
      named["container"] = bad;
      std::string error = error_of(named, false);
      EXPECT_TRUE(error.starts_with(member + ": ")) << type << " with " << json(bad).dump() << ": " << error;
    }
  }
  EXPECT_TRUE(valid_container_name("c0"));
  EXPECT_TRUE(valid_container_name("0"));
  EXPECT_TRUE(valid_container_name(std::string(kMaxContainerNameSize, 'a')));
  EXPECT_FALSE(valid_container_name(""));
  EXPECT_FALSE(valid_container_name(std::string(kMaxContainerNameSize + 1, 'a')));
  EXPECT_FALSE(valid_container_name("Ab"));
  EXPECT_FALSE(valid_container_name("a."));
}

TEST(Messages, CreateSaysWhereItsRootIsAndWhichNamespacesItJoins) {
  Create c;
  c.id = "p1";
  c.process.process.args = {"sh"};
  c.stdio = {"", "p1/stdin", "p1/stdout", "p1/stderr"};
  Create plain = round_trip(c);
  EXPECT_EQ(plain.root_share, "rootfs");
  EXPECT_EQ(plain.root_subpath, "");
  EXPECT_FALSE(plain.join.any());

  c.container = "c1";
  c.root_share = "pod";
  c.root_subpath = "c1/rootfs";
  c.join = {"c0", "", "c0"};
  Create back = round_trip(c);
  EXPECT_EQ(back.container, "c1");
  EXPECT_EQ(back.root_share, "pod");
  EXPECT_EQ(back.root_subpath, "c1/rootfs");
  EXPECT_EQ(back.join.ipc, "c0");
  EXPECT_EQ(back.join.uts, "");
  EXPECT_EQ(back.join.pid, "c0");
  EXPECT_TRUE(back.join.any());
  c.join = {"", "c2", ""};
  back = round_trip(c);
  EXPECT_EQ(back.join.uts, "c2");
  EXPECT_EQ(back.join.ipc, "");
  EXPECT_EQ(back.join.pid, "");

  // Absent root members and an absent join are the defaults.
  json bare = c.to_json();
  bare.erase("root");
  bare.erase("join");
  auto parsed = Create::parse(bare);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_FALSE(parsed->readonly_root);
  EXPECT_EQ(parsed->root_share, "rootfs");
  EXPECT_EQ(parsed->root_subpath, "");
  EXPECT_FALSE(parsed->join.any());
}

TEST(Messages, ACreatesRootAndJoinsAreChecked) {
  Create c;
  c.id = "p1";
  c.container = "c1";
  c.process.process.args = {"sh"};
  c.stdio = {"", "p1/stdin", "p1/stdout", "p1/stderr"};
  const json good = c.to_json();
  ASSERT_EQ(error_of(good, false), "");
  auto error_with = [&](const json& patch) {
    json j = good;
    j.merge_patch(patch);
    return error_of(j, false);
  };
  auto names = [](const std::string& error, const std::string& member) {
    return error.starts_with(member + ": ");
  };

  for (const char* ok : {"a", "c1/rootfs", "a/b/c", "a..b", "..a/b..", "a/./b"})
    EXPECT_EQ(error_with({{"root", {{"subpath", ok}}}}), "") << ok;
  for (const char* bad : {"/", "/abs", "..", "../x", "a/..", "a/../b", "a/../../b", "x/y/../../.."}) {
    std::string error = error_with({{"root", {{"subpath", bad}}}});
    EXPECT_TRUE(names(error, "create.root.subpath")) << bad << ": " << error;
  }
  EXPECT_TRUE(names(error_with({{"root", {{"subpath", 3}}}}), "create.root.subpath"));

  for (const char* ok : {"rootfs", "pod", "m0", "abcdefghijklmnop"})
    EXPECT_EQ(error_with({{"root", {{"share", ok}}}}), "") << ok;
  for (const char* bad : {"Rootfs", "m/0", "..", "m-0", "abcdefghijklmnopq"}) {
    std::string error = error_with({{"root", {{"share", bad}}}});
    EXPECT_TRUE(names(error, "create.root.share")) << bad << ": " << error;
  }
  EXPECT_TRUE(names(error_with({{"root", {{"share", true}}}}), "create.root.share"));
  EXPECT_EQ(error_with({{"root", "rootfs"}}), "create.root: expected an object");

  for (const char* ns : {"ipc", "uts", "pid"}) {
    std::string member = std::string("create.join.") + ns;
    EXPECT_EQ(error_with({{"join", {{ns, "c0"}}}}), "") << ns;
    EXPECT_EQ(error_with({{"join", {{ns, "c1"}}}}), member + ": a container cannot join itself");
    for (const std::string& bad : {std::string("C0"), std::string("c/0"), std::string(".."),
                                   std::string(kMaxContainerNameSize + 1, 'c')}) {
      std::string error = error_with({{"join", {{ns, bad}}}});
      EXPECT_TRUE(names(error, member)) << ns << " " << bad << ": " << error;
    }
    EXPECT_TRUE(names(error_with({{"join", {{ns, 1}}}}), member));
  }
  EXPECT_EQ(error_with({{"join", json::array()}}), "create.join: expected an object");
  // The first container may name others too; only itself is refused.
  json first = good;
  first["container"] = "c0";
  first["join"] = {{"pid", "c1"}};
  EXPECT_EQ(error_of(first, false), "");
  first["join"] = {{"pid", "c0"}};
  EXPECT_EQ(error_of(first, false), "create.join.pid: a container cannot join itself");
}

TEST(Messages, StdioShapeMustMatchTerminal) {
  EXPECT_EQ(Stdio::parse(parse(R"({"stdin":"a","stdout":"b","stderr":"c"})"), true).error().message(),
            "stdio.tty: is required");
  EXPECT_EQ(Stdio::parse(parse(R"({"tty":"a"})"), false).error().message(),
            "stdio.tty: given for a process without a terminal");
  EXPECT_EQ(Stdio::parse(parse(R"({"stdin":"a","stdout":"a","stderr":"c"})"), false).error().message(),
            "stdio: stdin, stdout and stderr must be distinct streams");
  EXPECT_EQ(Stdio::parse(json(), false).error().message(), "stdio: expected an object");
}

TEST(Messages, ATerminalsOnlcrChoiceCrossesTheWire) {
  Stdio relayed{"init/tty", "", "", "", true};
  auto back = Stdio::parse(relayed.to_json(), true);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_TRUE(back->no_onlcr);
  auto plain = Stdio::parse(parse(R"({"tty":"init/tty"})"), true);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->no_onlcr) << "a console socket's terminal keeps ONLCR";
  EXPECT_FALSE(Stdio::parse(parse(R"({"tty":"init/tty","no_onlcr":1})"), true));
}

TEST(Messages, HostRequestsAreCheckedToo) {
  EXPECT_EQ(error_of(parse(R"({"type":"signal","id":"init","container":"c0","signal":0})"), false),
            "signal.signal: expected an integer from 1 to 64");
  EXPECT_EQ(error_of(parse(R"({"type":"start","id":"init","container":"c0","hooks":[{"path":"hook"}]})"), false),
            "start.hooks[0].path: must be an absolute path");
  EXPECT_EQ(
      error_of(parse(R"({"type":"start","id":"init","container":"c0","hooks":[{"path":"/h","timeout":0}]})"), false),
      "start.hooks[0].timeout: expected an integer from 1 to 2147483647");
  EXPECT_EQ(error_of(parse(R"({"type":"start","id":"init","container":"c0",
                               "hooks":[{"path":"/h","timeout":40000000}]})"),
                     false),
            "")
      << "what config.json allows crosses the wire";
  EXPECT_EQ(error_of(parse(R"({"type":"update","request":1,"container":"c0",
                               "resources":{"memory":{"limit":"1G"}}})"),
                     false),
            "resources.memory.limit: expected an integer from -9223372036854775808 to 9223372036854775807");
  EXPECT_EQ(error_of(parse(R"({"type":"update","request":1,"container":"c0","resources":{"pids":3}})"), false),
            "resources.pids: expected an object");
  for (const char* bad : {R"([{"destination":"rel","share":"m0","subpath":""}])",
                          R"([{"destination":"/a/../b","share":"m0","subpath":""}])",
                          R"([{"destination":"/a","share":"M/0","subpath":""}])",
                          R"([{"destination":"/a","share":"m0","subpath":"../etc"}])",
                          R"([{"destination":"/a","share":"m0","subpath":"/etc"}])", R"({"x":1})"}) {
    json create = {{"type", "create"}, {"id", "init"}, {"container", "c0"}, {"process", {{"args", {"sh"}}}},
                   {"stdio", {{"stdin", "i"}, {"stdout", "o"}, {"stderr", "e"}}}, {"binds", parse(bad)}};
    EXPECT_NE(error_of(create, false), "") << bad;
  }
  for (const char* bad :
       {R"([{"path":"/etc/x","type":"c","major":1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/../etc/x","type":"c","major":1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/x","type":"s","major":1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/x","type":"c","major":-1,"minor":3,"mode":438,"uid":0,"gid":0}])",
        R"([{"path":"/dev/x","type":"c","major":1,"minor":3}])"}) {
    json create = {{"type", "create"}, {"id", "init"}, {"container", "c0"}, {"process", {{"args", {"sh"}}}},
                   {"stdio", {{"stdin", "i"}, {"stdout", "o"}, {"stderr", "e"}}}, {"devices", parse(bad)}};
    EXPECT_NE(error_of(create, false), "") << bad;
  }
}

// The agent pairs each bind mount with its share by order: they must agree.
TEST(Messages, CreateBindsMatchTheBindMounts) {
  json create = {{"type", "create"}, {"id", "init"}, {"container", "c0"}, {"process", {{"args", {"sh"}}}},
                 {"stdio", {{"stdin", "i"}, {"stdout", "o"}, {"stderr", "e"}}},
                 {"mounts", parse(R"([{"destination":"/a","type":"bind","source":"/x"},
                                      {"destination":"/t","type":"tmpfs","source":"tmpfs"},
                                      {"destination":"/b","source":"/y","options":["rbind"]}])")},
                 {"binds", parse(R"([{"destination":"/a","share":"m0","subpath":""},
                                     {"destination":"/b","share":"m1","subpath":""}])")}};
  EXPECT_EQ(error_of(create, false), "");
  json swapped = create;
  std::swap(swapped["binds"][0], swapped["binds"][1]);
  EXPECT_EQ(error_of(swapped, false), "binds: the bind mount at /a has no share in binds[0]");
  json extra = create;
  extra["binds"].push_back(parse(R"({"destination":"/c","share":"m2","subpath":""})"));
  EXPECT_EQ(error_of(extra, false), "binds: /c is no bind mount of mounts");
  json missing = create;
  missing["binds"].erase(1);
  EXPECT_EQ(error_of(missing, false), "binds: the bind mount at /b has no share in binds[1]");
  json propagation = create;
  propagation["root_propagation"] = "sideways";
  EXPECT_NE(error_of(propagation, false).find("create.root_propagation: unsupported value"),
            std::string::npos);
}

TEST(Messages, SysctlsAndCgroupFilesAreCheckedOnTheWire) {
  auto create_with = [](const char* key, json value) {
    json create = {{"type", "create"}, {"id", "init"}, {"container", "c0"}, {"process", {{"args", {"sh"}}}},
                   {"stdio", {{"stdin", "i"}, {"stdout", "o"}, {"stderr", "e"}}}};
    create[key] = value;
    return create;
  };
  EXPECT_EQ(error_of(create_with("sysctl", {{"net.ipv4.ip_forward", "1"}}), false), "");
  EXPECT_EQ(error_of(create_with("sysctl", {{"net/ipv4/ip_forward", "1"}}), false),
            "create.sysctl.net/ipv4/ip_forward: a sysctl name is dot-separated, without '/'");
  EXPECT_EQ(error_of(create_with("sysctl", {{"net..x", "1"}}), false),
            "create.sysctl.net..x: a sysctl name has no empty components (no leading, trailing or double dot)");
  EXPECT_NE(error_of(create_with("sysctl", {{std::string("net.a\0b", 7), "1"}}), false), "");
  EXPECT_NE(error_of(create_with("sysctl", {{"kernel.shmmax", std::string(5000, '1')}}), false), "");
  EXPECT_NE(error_of(create_with("sysctl", {{"kernel.modprobe", "/x"}}), false), "");
  EXPECT_EQ(error_of(create_with("sysctl", {{"kernel.shmmax", 7}}), false),
            "create.sysctl.kernel.shmmax: expected a string");
  EXPECT_EQ(error_of(create_with("domainname", std::string(65, 'd')), false),
            "create.domainname: longer than 64 bytes");
  auto update_with = [](json resources) {
    return json{{"type", "update"}, {"request", 1}, {"container", "c0"}, {"resources", resources}};
  };
  EXPECT_EQ(error_of(update_with({{"unified", {{"memory.high", "max"}}}}), false), "");
  EXPECT_NE(error_of(update_with({{"unified", {{"../memory.high", "1"}}}}), false), "");
  EXPECT_NE(error_of(update_with({{"unified", {{"cgroup.procs", "1"}}}}), false), "");
  EXPECT_NE(error_of(update_with({{"unified", {{"memory", "1"}}}}), false), "");
  EXPECT_EQ(error_of(update_with({{"cpu", {{"cpus", "0-1,3"}}}}), false), "");
  EXPECT_NE(error_of(update_with({{"cpu", {{"cpus", "1-0"}}}}), false), "");
  EXPECT_NE(error_of(update_with({{"cpu", {{"mems", "x"}}}}), false), "");
  EXPECT_EQ(error_of(update_with({{"memory", {{"swap", -2}}}}), false),
            "resources.memory.swap: expected an integer from -1 to 9223372036854775807");
}

TEST(Messages, DevicesKeepPermissionBitsOnly) {
  json create = {{"type", "create"}, {"id", "init"}, {"container", "c0"}, {"process", {{"args", {"sh"}}}},
                 {"stdio", {{"stdin", "i"}, {"stdout", "o"}, {"stderr", "e"}}},
                 {"devices", parse(R"([{"path":"/dev/net/tun","type":"c","major":10,"minor":200,"mode":8630,
                                        "uid":0,"gid":5}])")}};
  auto c = Create::parse(create);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->devices[0].file_mode, 0666u) << "the S_IFCHR bits Docker sends are dropped";
  EXPECT_EQ(c->devices[0].gid, 5u);
}

TEST(Messages, ClippedTextKeepsWholeCharacters) {
  EXPECT_EQ(clip_text("short"), "short");
  std::string long_text(5000, 'x');
  EXPECT_EQ(clip_text(long_text).size(), kClippedTextSize);
  std::string euros;
  for (int i = 0; i < 2000; ++i) euros += "\xe2\x82\xac";
  std::string clipped = clip_text(euros);
  EXPECT_LE(clipped.size(), kClippedTextSize);
  EXPECT_EQ((clipped.size() - 3) % 3, 0u) << "a character was split";
  // What an agent sends clipped is always accepted.
  EXPECT_EQ(error_of(StartFailed{"e1", clip_text(std::string(200000, '\xff')), 127}.to_json()), "");
}

TEST(Messages, AMalformedProcessRequestStillNamesItsStreams) {
  ProcessRef ref = process_ref(parse(
      R"({"type":"exec","id":"e4","process":"junk","stdio":{"stdin":"e4/stdin","stdout":"e4/stdout","stderr":"e4/stderr"}})"));
  EXPECT_EQ(ref.id, "e4");
  EXPECT_EQ(ref.outputs, (std::vector<std::string>{"e4/stdout", "e4/stderr"}));
  EXPECT_EQ(ref.stdin_stream, "e4/stdin");
  EXPECT_EQ(process_ref(parse(R"({"stdio":{"tty":"e5/tty"}})")).outputs, (std::vector<std::string>{"e5/tty"}));
  EXPECT_EQ(process_ref(parse("3")).id, "");
  EXPECT_EQ(request_ref(parse(R"({"type":"update","request":12,"resources":7})")), 12u);
}

}  // namespace
}  // namespace runvm::msg
