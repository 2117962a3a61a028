#include "oci/spec.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "common/io.h"

namespace runvm::oci {
namespace {

using nlohmann::json;

// Every field runvm reads, plus extensions it must skip.
constexpr const char* kFullConfig = R"({
  "ociVersion": "1.1.0",
  "process": {
    "terminal": true,
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6]},
    "args": ["/bin/echo", "hello"],
    "env": ["PATH=/usr/bin:/bin", "EMPTY="],
    "cwd": "/work",
    "capabilities": {"bounding": ["CAP_KILL"]},
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024},
      {"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0}
    ],
    "noNewPrivileges": true,
    "consoleSize": {"height": 30, "width": 100},
    "oomScoreAdj": 500,
    "apparmorProfile": "docker-default",
    "selinuxLabel": "system_u:system_r:container_t:s0:c1,c2"
  },
  "root": {"path": "/var/lib/root", "readonly": true},
  "hostname": "box",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "./data",
     "options": ["rbind", "ro"]}
  ],
  "linux": {
    "namespaces": [
      {"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"},
      {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
      {"type": "cgroup"}
    ],
    "resources": {
      "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824,
                 "swappiness": 60, "disableOOMKiller": false, "kernel": 0},
      "cpu": {"quota": 50000, "period": 100000, "shares": 1024, "cpus": "0-1", "mems": "0",
              "realtimeRuntime": 0},
      "pids": {"limit": 64},
      "blockIO": {"weight": 0},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
      "unified": {"memory.high": "400000000"}
    },
    "cgroupsPath": "/runvm/box",
    "maskedPaths": ["/proc/kcore"],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "65536", "vm.max_map_count": "262144"},
    "mountLabel": "system_u:object_r:container_file_t:s0:c1,c2"
  },
  "hooks": {
    "prestart": [{"path": "/bin/pre", "args": ["pre", "x"], "env": ["A=1"],
                  "timeout": 5}],
    "createRuntime": [{"path": "/bin/cr"}],
    "createContainer": [{"path": "/bin/cc"}],
    "startContainer": [{"path": "/bin/sc"}],
    "poststart": [{"path": "/bin/ps"}],
    "poststop": [{"path": "/bin/stop1"}, {"path": "/bin/stop2"}]
  },
  "annotations": {"org.example.key": "value", "other": ""},
  "org.example.extension": {"anything": [1, 2, 3]}
})";

// The least a bundle can say.
json minimal() {
  return {{"ociVersion", "1.0.2"},
          {"process", {{"args", {"sh"}}}},
          {"root", {{"path", "rootfs"}}}};
}

Result<Spec> parse(const json& config) { return parse_spec(config.dump()); }

// The error message, or a marker when parsing succeeded.
std::string error_of(const Result<Spec>& result) {
  return result ? "<parsed>" : result.error().message();
}

std::string error_of(const json& config) { return error_of(parse(config)); }

TEST(ParseSpec, FullConfigKeepsEveryField) {
  auto spec = parse_spec(kFullConfig);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->oci_version, "1.1.0");

  const Process& p = spec->process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1001u);
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/echo", "hello"}));
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "EMPTY="}));
  EXPECT_EQ(p.cwd, "/work");
  ASSERT_EQ(p.rlimits.size(), 2u);
  EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].hard, 4096u);
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_EQ(p.rlimits[1].type, "RLIMIT_CORE");
  EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
  EXPECT_EQ(p.rlimits[1].soft, 0u);
  EXPECT_TRUE(p.no_new_privileges);
  ASSERT_TRUE(p.console_size);
  EXPECT_EQ(p.console_size->height, 30);
  EXPECT_EQ(p.console_size->width, 100);
  EXPECT_EQ(p.oom_score_adj, 500);
  EXPECT_EQ(spec->domainname, "example.org");

  EXPECT_EQ(spec->root.path, "/var/lib/root");
  EXPECT_TRUE(spec->root.readonly);
  EXPECT_EQ(spec->hostname, "box");

  ASSERT_EQ(spec->mounts.size(), 2u);
  EXPECT_EQ(spec->mounts[0].destination, "/proc");
  EXPECT_EQ(spec->mounts[0].type, "proc");
  EXPECT_EQ(spec->mounts[0].source, "proc");
  EXPECT_TRUE(spec->mounts[0].options.empty());
  EXPECT_EQ(spec->mounts[1].destination, "/data");
  EXPECT_EQ(spec->mounts[1].type, "bind");
  EXPECT_EQ(spec->mounts[1].source, "./data");
  EXPECT_EQ(spec->mounts[1].options, (std::vector<std::string>{"rbind", "ro"}));
}

TEST(ParseSpec, FullConfigKeepsLinuxHooksAndAnnotations) {
  auto spec = parse_spec(kFullConfig);
  ASSERT_TRUE(spec) << spec.error().message();

  ASSERT_EQ(spec->namespaces.size(), 6u);
  EXPECT_EQ(spec->namespaces[0].type, "pid");
  EXPECT_EQ(spec->namespaces[0].path, "");
  EXPECT_EQ(spec->namespaces[1].type, "network");
  EXPECT_EQ(spec->namespaces[1].path, "/var/run/netns/x");
  EXPECT_EQ(spec->namespaces[5].type, "cgroup");
  EXPECT_EQ(spec->resources.memory_reservation, 268435456);
  EXPECT_EQ(spec->resources.memory_swap, 1073741824);
  EXPECT_EQ(spec->resources.memory_swappiness, 60u);
  EXPECT_FALSE(spec->resources.disable_oom_killer);
  EXPECT_EQ(spec->resources.cpuset_cpus, "0-1");
  EXPECT_EQ(spec->resources.cpuset_mems, "0");
  EXPECT_EQ(spec->resources.unified, (std::map<std::string, std::string>{{"memory.high", "400000000"}}));
  EXPECT_EQ(spec->sysctl, (std::map<std::string, std::string>{
                              {"kernel.shmmax", "65536"}, {"net.ipv4.ip_forward", "1"}, {"vm.max_map_count", "262144"}}));
  EXPECT_EQ(spec->resources.memory_limit, 536870912);
  EXPECT_EQ(spec->resources.cpu_quota, 50000);
  EXPECT_EQ(spec->resources.cpu_period, 100000u);
  EXPECT_EQ(spec->resources.cpu_shares, 1024u);
  EXPECT_EQ(spec->resources.pids_limit, 64);
  EXPECT_EQ(spec->cgroups_path, "/runvm/box");

  const Hooks& h = spec->hooks;
  ASSERT_EQ(h.prestart.size(), 1u);
  EXPECT_EQ(h.prestart[0].path, "/bin/pre");
  EXPECT_EQ(h.prestart[0].args, (std::vector<std::string>{"pre", "x"}));
  EXPECT_EQ(h.prestart[0].env, (std::vector<std::string>{"A=1"}));
  EXPECT_EQ(h.prestart[0].timeout, 5);
  ASSERT_EQ(h.create_runtime.size(), 1u);
  EXPECT_EQ(h.create_runtime[0].path, "/bin/cr");
  EXPECT_FALSE(h.create_runtime[0].timeout.has_value());
  ASSERT_EQ(h.create_container.size(), 1u);
  EXPECT_EQ(h.create_container[0].path, "/bin/cc");
  ASSERT_EQ(h.start_container.size(), 1u);
  EXPECT_EQ(h.start_container[0].path, "/bin/sc");
  ASSERT_EQ(h.poststart.size(), 1u);
  EXPECT_EQ(h.poststart[0].path, "/bin/ps");
  ASSERT_EQ(h.poststop.size(), 2u);
  EXPECT_EQ(h.poststop[1].path, "/bin/stop2");

  EXPECT_EQ(spec->annotations,
            (std::map<std::string, std::string>{{"org.example.key", "value"},
                                                {"other", ""}}));
}

TEST(ParseSpec, MinimalConfigGetsDefaults) {
  auto spec = parse(minimal());
  ASSERT_TRUE(spec) << spec.error().message();
  const Process& p = spec->process;
  EXPECT_FALSE(p.terminal);
  EXPECT_EQ(p.user.uid, 0u);
  EXPECT_EQ(p.user.gid, 0u);
  EXPECT_FALSE(p.user.umask.has_value());
  EXPECT_TRUE(p.user.additional_gids.empty());
  EXPECT_TRUE(p.env.empty());
  EXPECT_EQ(p.cwd, "/");
  EXPECT_TRUE(p.rlimits.empty());
  EXPECT_FALSE(p.no_new_privileges);
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_FALSE(spec->root.readonly);
  EXPECT_EQ(spec->hostname, "");
  EXPECT_TRUE(spec->mounts.empty());
  EXPECT_TRUE(spec->namespaces.empty());
  EXPECT_TRUE(spec->hooks.prestart.empty());
  EXPECT_TRUE(spec->hooks.poststop.empty());
  EXPECT_FALSE(spec->resources.memory_limit.has_value());
  EXPECT_FALSE(spec->resources.cpu_quota.has_value());
  EXPECT_FALSE(spec->resources.cpu_period.has_value());
  EXPECT_EQ(spec->cgroups_path, "");
  EXPECT_TRUE(spec->annotations.empty());
}

TEST(ParseSpec, NullMeansAbsent) {
  json config = minimal();
  config["hostname"] = nullptr;
  config["mounts"] = nullptr;
  config["process"]["cwd"] = nullptr;
  config["linux"] = nullptr;
  auto spec = parse(config);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->process.cwd, "/");
}

TEST(ParseSpec, SupportedVersions) {
  for (const char* version : {"1.0.0", "1.0.2-dev", "1.1.0", "1.1.0-rc.1",
                              "1.2.0", "1.2.1+build.5"}) {
    json config = minimal();
    config["ociVersion"] = version;
    EXPECT_EQ(error_of(config), "<parsed>") << version;
  }
}

TEST(ParseSpec, UnsupportedVersions) {
  for (const char* version : {"2.0.0", "1.3.0", "0.9.0", "1.0", "1.10.0", "",
                              "1.0.x", "v1.0.0"}) {
    json config = minimal();
    config["ociVersion"] = version;
    EXPECT_EQ(error_of(config), std::string("config.json: ociVersion: ") +
                                    "unsupported version \"" + version +
                                    "\" (runvm supports 1.0, 1.1 and 1.2)");
  }
}

TEST(ParseSpec, VersionIsRequiredString) {
  json config = minimal();
  config.erase("ociVersion");
  EXPECT_EQ(error_of(config), "config.json: ociVersion: is required");
  config["ociVersion"] = 1.0;
  EXPECT_EQ(error_of(config), "config.json: ociVersion: expected a string");
}

TEST(ParseSpec, ProcessIsRequiredObject) {
  json config = minimal();
  config.erase("process");
  EXPECT_EQ(error_of(config), "config.json: process: is required");
  config["process"] = json::array();
  EXPECT_EQ(error_of(config), "config.json: process: expected an object");
}

TEST(ParseSpec, ArgsMustBeNonEmptyStrings) {
  json config = minimal();
  config["process"].erase("args");
  EXPECT_EQ(error_of(config), "config.json: process.args: is required");
  config["process"]["args"] = json::array();
  EXPECT_EQ(error_of(config), "config.json: process.args: must not be empty");
  config["process"]["args"] = "sh";
  EXPECT_EQ(error_of(config), "config.json: process.args: expected an array");
  config["process"]["args"] = {"sh", 1};
  EXPECT_EQ(error_of(config), "config.json: process.args[1]: expected a string");
}

TEST(ParseSpec, EnvEntriesNeedEquals) {
  json config = minimal();
  config["process"]["env"] = {"A=1", "NOPE"};
  EXPECT_EQ(error_of(config),
            "config.json: process.env[1]: expected KEY=VALUE (got \"NOPE\")");
  config["process"]["env"] = {"A=1", true};
  EXPECT_EQ(error_of(config), "config.json: process.env[1]: expected a string");
  config["process"]["env"] = "A=1";
  EXPECT_EQ(error_of(config), "config.json: process.env: expected an array");
}

TEST(ParseSpec, CwdMustBeAbsolute) {
  json config = minimal();
  config["process"]["cwd"] = "work";
  EXPECT_EQ(error_of(config),
            "config.json: process.cwd: must be an absolute path (got \"work\")");
  config["process"]["cwd"] = "";
  EXPECT_EQ(error_of(config),
            "config.json: process.cwd: must be an absolute path (got \"\")");
  config["process"]["cwd"] = 7;
  EXPECT_EQ(error_of(config), "config.json: process.cwd: expected a string");
}

json with_rlimit(json rlimit) {
  json config = minimal();
  config["process"]["rlimits"] = json::array({std::move(rlimit)});
  return config;
}

TEST(ParseSpec, RlimitTypeMustBeAKnownLinuxName) {
  EXPECT_EQ(error_of(with_rlimit({{"type", "NOFILE"}, {"hard", 1}, {"soft", 1}})),
            "config.json: process.rlimits[0].type: must start with RLIMIT_ "
            "(got \"NOFILE\")");
  EXPECT_EQ(error_of(with_rlimit({{"type", "RLIMIT_FOO"}, {"hard", 1}, {"soft", 1}})),
            "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  for (const char* name :
       {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
        "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK",
        "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"}) {
    EXPECT_EQ(error_of(with_rlimit({{"type", name}, {"hard", 1}, {"soft", 1}})),
              "<parsed>")
        << name;
  }
}

TEST(ParseSpec, RlimitSoftMustNotExceedHard) {
  EXPECT_EQ(error_of(with_rlimit({{"type", "RLIMIT_NOFILE"}, {"hard", 1024},
                                  {"soft", 2048}})),
            "config.json: process.rlimits[0].soft: must not exceed hard "
            "(2048 > 1024)");
  EXPECT_EQ(error_of(with_rlimit({{"type", "RLIMIT_NOFILE"}, {"hard", 1024},
                                  {"soft", 1024}})),
            "<parsed>");
}

TEST(ParseSpec, RlimitFieldsAreRequiredAndTyped) {
  EXPECT_EQ(error_of(with_rlimit({{"type", "RLIMIT_NOFILE"}, {"soft", 1}})),
            "config.json: process.rlimits[0].hard: is required");
  EXPECT_EQ(error_of(with_rlimit({{"hard", 1}, {"soft", 1}})),
            "config.json: process.rlimits[0].type: is required");
  EXPECT_EQ(error_of(with_rlimit({{"type", "RLIMIT_NOFILE"}, {"hard", -1},
                                  {"soft", 1}})),
            "config.json: process.rlimits[0].hard: expected an unsigned integer");
  EXPECT_EQ(error_of(with_rlimit("RLIMIT_NOFILE")),
            "config.json: process.rlimits[0]: expected an object");
}

TEST(ParseSpec, RlimitTypesMustBeUnique) {
  json config = minimal();
  json nofile = {{"type", "RLIMIT_NOFILE"}, {"hard", 1}, {"soft", 1}};
  config["process"]["rlimits"] = {nofile, nofile};
  EXPECT_EQ(error_of(config),
            "config.json: process.rlimits[1].type: duplicate rlimit "
            "\"RLIMIT_NOFILE\"");
}

TEST(ParseSpec, UserIdsMustBeUnsigned32Bit) {
  json config = minimal();
  const std::string uid_error =
      "config.json: process.user.uid: expected an unsigned integer";
  config["process"]["user"]["uid"] = "0";
  EXPECT_EQ(error_of(config), uid_error);
  config["process"]["user"]["uid"] = -1;
  EXPECT_EQ(error_of(config), uid_error);
  config["process"]["user"]["uid"] = 1.5;
  EXPECT_EQ(error_of(config), uid_error);
  config["process"]["user"]["uid"] = 2147483647;
  EXPECT_EQ(error_of(config), "<parsed>");
  config["process"]["user"]["gid"] = false;
  EXPECT_EQ(error_of(config),
            "config.json: process.user.gid: expected an unsigned integer");
  config["process"]["user"]["gid"] = 0;
  config["process"]["user"]["additionalGids"] = {1, "2"};
  EXPECT_EQ(error_of(config), "config.json: process.user.additionalGids[1]: "
                              "expected an unsigned integer");
  config["process"]["user"] = "root";
  EXPECT_EQ(error_of(config), "config.json: process.user: expected an object");
}

// Ids past runc's 0-2147483647 would wrap in the guest: 4294967295 is -1,
// which setresuid(2) takes as "unchanged", so the process stayed root.
TEST(ParseSpec, UserIdsOutsideRuncsRangeAreRefused) {
  const std::string range = ": uids and gids must be in range 0-2147483647";
  for (uint64_t id : {uint64_t{2147483648}, uint64_t{4294967295}, uint64_t{4294967296},
                      uint64_t{18446744073709551615u}}) {
    json config = minimal();
    config["process"]["user"]["uid"] = id;
    EXPECT_EQ(error_of(config), "config.json: process.user.uid" + range) << id;
    config = minimal();
    config["process"]["user"]["gid"] = id;
    EXPECT_EQ(error_of(config), "config.json: process.user.gid" + range) << id;
    config = minimal();
    config["process"]["user"]["additionalGids"] = {0, id};
    EXPECT_EQ(error_of(config), "config.json: process.user.additionalGids[1]" + range) << id;
  }
  // exec --process reads a process.json through the same parser.
  json process = minimal()["process"];
  process["user"] = {{"uid", 4294967295u}, {"gid", 4294967295u}};
  auto parsed = process_from_json(process);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message(), "process.user.uid" + range);
  // A number too large for 64 bits is not an integer to JSON; still refused.
  auto huge = process_from_json(json::parse(
      R"({"args": ["sh"], "cwd": "/", "user": {"uid": 99999999999999999999, "gid": 0}})"));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().message(), "process.user.uid: expected an unsigned integer");
}

TEST(ParseSpec, BooleansAreTypeChecked) {
  json config = minimal();
  config["process"]["terminal"] = "true";
  EXPECT_EQ(error_of(config), "config.json: process.terminal: expected a boolean");
  config = minimal();
  config["process"]["noNewPrivileges"] = 1;
  EXPECT_EQ(error_of(config),
            "config.json: process.noNewPrivileges: expected a boolean");
  config = minimal();
  config["root"]["readonly"] = "yes";
  EXPECT_EQ(error_of(config), "config.json: root.readonly: expected a boolean");
}

TEST(ParseSpec, RootNeedsAPath) {
  json config = minimal();
  config.erase("root");
  EXPECT_EQ(error_of(config), "config.json: root: is required");
  config["root"] = json::object();
  EXPECT_EQ(error_of(config), "config.json: root.path: is required");
  config["root"]["path"] = "";
  EXPECT_EQ(error_of(config), "config.json: root.path: must not be empty");
  config["root"]["path"] = 3;
  EXPECT_EQ(error_of(config), "config.json: root.path: expected a string");
  config["root"] = "rootfs";
  EXPECT_EQ(error_of(config), "config.json: root: expected an object");
}

TEST(ParseSpec, HostnameAndAnnotationsAreStrings) {
  json config = minimal();
  config["hostname"] = 5;
  EXPECT_EQ(error_of(config), "config.json: hostname: expected a string");
  config = minimal();
  config["annotations"] = {{"a", "b"}, {"n", 1}};
  EXPECT_EQ(error_of(config), "config.json: annotations.n: expected a string");
  config["annotations"] = {"a"};
  EXPECT_EQ(error_of(config), "config.json: annotations: expected an object");
}

TEST(ParseSpec, MountDestinationsMustBeAbsolute) {
  json config = minimal();
  config["mounts"] = {{{"destination", "/ok"}, {"type", "tmpfs"}}, {{"destination", "tmp"}}};
  EXPECT_EQ(error_of(config),
            "config.json: mounts[1].destination: must be an absolute path "
            "(got \"tmp\")");
  config["mounts"] = {{{"type", "tmpfs"}}};
  EXPECT_EQ(error_of(config), "config.json: mounts[0].destination: is required");
}

TEST(ParseSpec, MountFieldsAreTypeChecked) {
  json config = minimal();
  config["mounts"] = {{{"destination", "/a"}, {"options", "ro"}}};
  EXPECT_EQ(error_of(config), "config.json: mounts[0].options: expected an array");
  config["mounts"] = {{{"destination", "/a"}, {"options", {"ro", 1}}}};
  EXPECT_EQ(error_of(config),
            "config.json: mounts[0].options[1]: expected a string");
  config["mounts"] = {{{"destination", "/a"}, {"type", 1}}};
  EXPECT_EQ(error_of(config), "config.json: mounts[0].type: expected a string");
  config["mounts"] = {{{"destination", "/a"}, {"source", json::array()}}};
  EXPECT_EQ(error_of(config), "config.json: mounts[0].source: expected a string");
  config["mounts"] = json::object();
  EXPECT_EQ(error_of(config), "config.json: mounts: expected an array");
}

// runc mounts such an entry with no filesystem type: "no such device".
TEST(ParseSpec, AMountWithNeitherTypeNorBindIsRefusedNamingIt) {
  json config = minimal();
  config["mounts"] = {{{"destination", "/ok"}, {"type", "tmpfs"}},
                      {{"destination", "/nothing"}, {"options", {"ro"}}}};
  EXPECT_EQ(error_of(config),
            "config.json: mounts[1]: the mount at /nothing has neither a type nor the bind "
            "option (runc fails it with \"no such device\")");
  config["mounts"][1]["source"] = "tmpfs";
  EXPECT_NE(error_of(config).find("mounts[1]: the mount at /nothing"), std::string::npos);
  config["mounts"][1]["options"] = {"rbind"};
  config["mounts"][1]["source"] = "/src";
  EXPECT_EQ(error_of(config), "<parsed>");
  config["mounts"][1] = {{"destination", "/b"}, {"type", "bind"}, {"source", "/src"}};
  EXPECT_EQ(error_of(config), "<parsed>");
}

TEST(ParseSpec, RootfsPropagationIsOneOfRuncs) {
  json config = minimal();
  for (const char* value : {"shared", "slave", "private", "unbindable", "rshared", "rslave",
                            "rprivate", "runbindable", ""}) {
    config["linux"]["rootfsPropagation"] = value;
    auto spec = parse(config);
    ASSERT_TRUE(spec) << value << ": " << spec.error().message();
    EXPECT_EQ(spec->root_propagation, value);
  }
  config["linux"]["rootfsPropagation"] = "bogus";
  EXPECT_EQ(error_of(config),
            "config.json: linux.rootfsPropagation: unsupported value \"bogus\" (runc's: shared, "
            "slave, private, unbindable, rshared, rslave, rprivate, runbindable)");
  config["linux"]["rootfsPropagation"] = 1;
  EXPECT_EQ(error_of(config), "config.json: linux.rootfsPropagation: expected a string");
  EXPECT_EQ(parse(minimal())->root_propagation, "");
}

TEST(ParseSpec, NamespaceTypesAreKnownAndUnique) {
  json config = minimal();
  config["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "net"}}};
  EXPECT_EQ(error_of(config),
            "config.json: linux.namespaces[1].type: unknown namespace type \"net\"");
  config["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "uts"}},
                                   {{"type", "pid"}}};
  EXPECT_EQ(error_of(config),
            "config.json: linux.namespaces[2].type: duplicate namespace \"pid\"");
  config["linux"]["namespaces"] = {{{"path", "/proc/1/ns/pid"}}};
  EXPECT_EQ(error_of(config), "config.json: linux.namespaces[0].type: is required");
  config["linux"]["namespaces"] = {{{"type", "pid"}, {"path", "ns/pid"}}};
  EXPECT_EQ(error_of(config),
            "config.json: linux.namespaces[0].path: must be an absolute path "
            "(got \"ns/pid\")");
  config["linux"] = "x";
  EXPECT_EQ(error_of(config), "config.json: linux: expected an object");
}

TEST(ParseSpec, DevicesAndThePrivilegedAllowAllRule) {
  json config = minimal();
  config["linux"]["devices"] = {
      {{"path", "/dev/net/tun"}, {"type", "c"}, {"major", 10}, {"minor", 200}, {"fileMode", 8630}},
      {{"path", "/dev/fifo"}, {"type", "p"}}};
  config["linux"]["resources"]["devices"] = {{{"allow", false}, {"access", "rwm"}},
                                             {{"allow", true}, {"type", "a"}, {"access", "rwm"}}};
  auto spec = parse(config);
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_EQ(spec->devices.size(), 2u);
  EXPECT_EQ(spec->devices[0].major, 10);
  EXPECT_EQ(spec->devices[0].file_mode, 8630u);
  EXPECT_EQ(spec->devices[1].type, 'p');
  EXPECT_TRUE(spec->resources.allows_all_devices);
  config["linux"]["resources"]["devices"] = {{{"allow", true}, {"type", "c"}, {"major", 10}, {"access", "rwm"}}};
  EXPECT_FALSE(parse(config)->resources.allows_all_devices) << "one class allowed is not all";

  config["linux"]["devices"] = {{{"path", "/dev/x"}, {"type", "q"}, {"major", 1}, {"minor", 1}}};
  EXPECT_EQ(error_of(config), "config.json: linux.devices[0].type: must be c, u, b or p, not \"q\"");
  config["linux"]["devices"] = {{{"path", "/dev/x"}, {"type", "c"}, {"minor", 1}}};
  EXPECT_EQ(error_of(config), "config.json: linux.devices[0].major: is required");
}

TEST(ParseSpec, ResourcesAreTypeChecked) {
  json config = minimal();
  config["linux"]["resources"]["memory"]["limit"] = -1;  // unlimited
  config["linux"]["resources"]["cpu"]["quota"] = -1;
  auto spec = parse(config);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->resources.memory_limit, -1);
  EXPECT_EQ(spec->resources.cpu_quota, -1);

  config["linux"]["resources"]["memory"]["limit"] = "1G";
  EXPECT_EQ(error_of(config),
            "config.json: linux.resources.memory.limit: expected an integer");
  config["linux"]["resources"]["memory"]["limit"] = 18446744073709551615u;
  EXPECT_EQ(error_of(config),
            "config.json: linux.resources.memory.limit: out of range "
            "(-9223372036854775808 to 9223372036854775807)");
  config["linux"]["resources"]["memory"] = 5;
  EXPECT_EQ(error_of(config),
            "config.json: linux.resources.memory: expected an object");
  config["linux"]["resources"].erase("memory");
  config["linux"]["resources"]["cpu"]["period"] = -5;
  EXPECT_EQ(error_of(config), "config.json: linux.resources.cpu.period: "
                              "expected an unsigned integer");
  config = minimal();
  config["linux"]["cgroupsPath"] = 1;
  EXPECT_EQ(error_of(config), "config.json: linux.cgroupsPath: expected a string");
}

TEST(ParseSpec, ProcessConsoleSizeAndOomScoreAdjAreChecked) {
  json config = minimal();
  config["process"]["consoleSize"] = {{"height", 24}};
  EXPECT_EQ(error_of(config), "config.json: process.consoleSize.width: is required");
  config["process"]["consoleSize"] = {{"height", 24}, {"width", 70000}};
  EXPECT_EQ(error_of(config), "config.json: process.consoleSize.width: out of range (at most 65535)");
  config["process"].erase("consoleSize");
  config["process"]["oomScoreAdj"] = 1001;
  EXPECT_EQ(error_of(config), "config.json: process.oomScoreAdj: must be from -1000 to 1000 (got 1001)");
  config["process"]["oomScoreAdj"] = -1000;
  EXPECT_EQ(parse(config)->process.oom_score_adj, -1000);
}

TEST(ProcessJson, ConsoleSizeAndOomScoreAdjCrossTheWire) {
  Process p;
  p.args = {"sh"};
  p.console_size = ConsoleSize{33, 111};
  p.oom_score_adj = 300;
  auto back = process_from_json(process_to_json(p));
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(back->console_size);
  EXPECT_EQ(back->console_size->height, 33);
  EXPECT_EQ(back->console_size->width, 111);
  EXPECT_EQ(back->oom_score_adj, 300);
  p.console_size.reset();
  p.oom_score_adj.reset();
  back = process_from_json(process_to_json(p));
  EXPECT_FALSE(back->console_size);
  EXPECT_FALSE(back->oom_score_adj) << "absent stays absent: an exec then takes the container's";
}

TEST(ParseSpec, SysctlsFollowRuncsRulesForTheVm) {
  json config = minimal();
  config["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"},      {"kernel.msgmax", "8192"},
                               {"fs.mqueue.msg_max", "20"},        {"kernel.domainname", "x"},
                               {"vm.max_map_count", "262144"},     {"kernel.core_pattern", "core.%p"}};
  EXPECT_EQ(error_of(config), "<parsed>") << "namespaced ones, and the VM's own kernel settings";
  auto refused = [&](const std::string& name, const std::string& value) {
    json c = minimal();
    c["linux"]["sysctl"] = {{name, value}};
    return error_of(c);
  };
  EXPECT_EQ(refused("kernel.hostname", "x"),
            "config.json: linux.sysctl.kernel.hostname: sysctl \"kernel.hostname\" is not allowed as it "
            "conflicts with the OCI \"hostname\" field");
  EXPECT_EQ(refused("net/ipv4/ip_forward", "1"),
            "config.json: linux.sysctl.net/ipv4/ip_forward: a sysctl name is dot-separated, without '/'");
  EXPECT_EQ(refused("net.ipv4..ip_forward", "1"),
            "config.json: linux.sysctl.net.ipv4..ip_forward: a sysctl name has no empty components (no "
            "leading, trailing or double dot)");
  EXPECT_EQ(refused("..", "1"),
            "config.json: linux.sysctl...: a sysctl name has no empty components (no leading, trailing or "
            "double dot)");
  EXPECT_EQ(refused(std::string("net.a\0b", 7), "1"),
            "config.json: linux.sysctl: sysctl \"net.a\\u0000b\": a name is printable ASCII without spaces or NUL");
  EXPECT_EQ(refused("", "1"), "config.json: linux.sysctl: sysctl names must be 1 to 256 bytes (got \"\")");
  EXPECT_NE(refused(std::string(300, 'a'), "1"), "<parsed>");
  EXPECT_EQ(refused("kernel.shmmax", std::string("1\0", 2)),
            "config.json: linux.sysctl.kernel.shmmax: must be ASCII text (no control characters but tab and newline)");
  EXPECT_EQ(refused("kernel.shmmax", std::string(4097, '1')),
            "config.json: linux.sysctl.kernel.shmmax: longer than 4096 bytes");
  for (const char* helper : {"kernel.modprobe", "kernel.poweroff_cmd", "kernel.hotplug",
                             "kernel.usermodehelper.bset"})
    EXPECT_NE(refused(helper, "/bin/x").find("would run the program it names"), std::string::npos) << helper;
  EXPECT_NE(refused("kernel.core_pattern", " |/bin/x").find("would run the program"), std::string::npos);
  config = minimal();
  config["linux"]["sysctl"] = {{"net.ipv4.ip_forward", 1}};
  EXPECT_EQ(error_of(config), "config.json: linux.sysctl.net.ipv4.ip_forward: expected a string");
  config["linux"]["sysctl"] = json::object();
  for (int i = 0; i < 1025; ++i) config["linux"]["sysctl"]["net.x" + std::to_string(i)] = "1";
  EXPECT_EQ(error_of(config), "config.json: linux.sysctl: too many entries (at most 1024)");
}

TEST(ParseSpec, CgroupFieldsTheGuestApplies) {
  json config = minimal();
  json& r = config["linux"]["resources"];
  r["cpu"]["cpus"] = "0-2,5";
  EXPECT_EQ(error_of(config), "<parsed>");
  for (const char* bad : {"x", "1-", "-1", "3-1", "0,,1", "99999"}) {
    r["cpu"]["cpus"] = bad;
    EXPECT_NE(error_of(config).find("linux.resources.cpu.cpus: expected a list of CPUs"), std::string::npos) << bad;
  }
  r["cpu"]["cpus"] = "";
  r["cpu"]["mems"] = "0-1";
  EXPECT_EQ(error_of(config), "config.json: linux.resources.cpu.mems: the VM has one memory node, 0 (got \"0-1\")");
  r["cpu"].erase("mems");
  r["memory"] = {{"swap", 1000}};
  EXPECT_EQ(error_of(config), "config.json: linux.resources.memory.swap: unable to set swap limit without memory limit");
  r["memory"] = {{"swap", 1000}, {"limit", 2000}};
  EXPECT_EQ(error_of(config), "config.json: linux.resources.memory.swap: memory+swap limit should be >= memory limit");
  r["memory"] = {{"swap", -1}, {"limit", 2000}, {"reservation", 1000}};
  EXPECT_EQ(error_of(config), "<parsed>");
  auto update = resources_from_json({{"memory", {{"swap", 1000}}}}, "--resources", true);
  EXPECT_TRUE(update) << "an update's swap alone counts from the limit in force";
  EXPECT_FALSE(resources_from_json({{"memory", {{"swap", 1000}}}}, "--resources"));
  r.erase("memory");
  r["unified"] = {{"memory.high", "max"}, {"pids.max", "10"}};
  EXPECT_EQ(parse(config)->resources.unified.size(), 2u);
  r["unified"] = {{"../memory.high", "1"}};
  EXPECT_EQ(error_of(config),
            "config.json: linux.resources.unified.../memory.high: unified resource \"../memory.high\" must be a "
            "file name (no slashes)");
  r["unified"] = {{"memory", "1"}};
  EXPECT_EQ(error_of(config),
            "config.json: linux.resources.unified.memory: unified resource \"memory\" must be in the form "
            "CONTROLLER.PARAMETER");
  r["unified"] = {{"cgroup.procs", "1"}};
  EXPECT_NE(error_of(config).find("acts on the container's processes"), std::string::npos);
  r["unified"] = {{"memory.high", 5}};
  EXPECT_EQ(error_of(config), "config.json: linux.resources.unified.memory.high: expected a string");
}

// What runvm cannot honour is refused naming the field; what engines send
// by default (zeros, empty lists, labels) is not.
TEST(ParseSpec, WhatTheVmCannotHonourIsRefusedNamingTheField) {
  auto error_with = [](const std::function<void(json&)>& change) {
    json config = minimal();
    change(config);
    return error_of(config);
  };
  struct Case {
    std::function<void(json&)> change;
    std::string field;
  };
  std::vector<Case> refused = {
      {[](json& c) { c["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 1 << 21}}}; },
       "linux.resources.hugepageLimits[0].limit: huge pages are not supported by runvm"},
      {[](json& c) { c["linux"]["resources"]["network"] = {{"classID", 1048577}}; },
       "linux.resources.network.classID: net_cls and net_prio are not supported by runvm"},
      {[](json& c) { c["linux"]["resources"]["network"] = {{"priorities", {{{"name", "eth0"}, {"priority", 5}}}}}; },
       "linux.resources.network.priorities: net_cls and net_prio"},
      {[](json& c) { c["linux"]["resources"]["cpu"] = {{"realtimeRuntime", 950000}}; },
       "linux.resources.cpu.realtimeRuntime: realtime CPU time is not supported by runvm"},
      {[](json& c) { c["linux"]["resources"]["cpu"] = {{"realtimePeriod", 1000000}}; },
       "linux.resources.cpu.realtimePeriod: realtime CPU time"},
      {[](json& c) { c["linux"]["resources"]["blockIO"] = {{"weight", 70000}}; },
       "linux.resources.blockIO.weight: "},
      {[](json& c) {
         c["linux"]["resources"]["blockIO"] = {{"throttleReadBpsDevice", {{{"major", 8}, {"rate", 1}}}}};
       },
       "linux.resources.blockIO.throttleReadBpsDevice[0].minor: "},
      {[](json& c) { c["linux"]["resources"]["blockIO"] = {{"weightDevice", {{{"major", -8}, {"minor", 0}}}}}; },
       "linux.resources.blockIO.weightDevice[0]: a device's major and minor are not negative"},
      {[](json& c) { c["linux"]["resources"]["rdma"] = {{"mlx5_0", {{"hcaHandles", 3}}}}; },
       "linux.resources.rdma: RDMA devices are not supported by runvm"},
      {[](json& c) { c["linux"]["namespaces"] = {{{"type", "user"}}}; },
       "linux.namespaces[0].type: user namespaces are not supported by runvm yet"},
      {[](json& c) { c["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}; },
       "linux.uidMappings: user namespaces are not supported by runvm yet"},
      {[](json& c) { c["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}; },
       "linux.gidMappings: user namespaces"},
      {[](json& c) { c["linux"]["namespaces"] = {{{"type", "time"}}}; },
       "linux.namespaces[0].type: time namespaces are not supported by runvm yet"},
      {[](json& c) { c["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1}}}}; },
       "linux.timeOffsets: time namespaces"},
      {[](json& c) { c["linux"]["intelRdt"] = {{"closID", "x"}}; }, "linux.intelRdt: Intel RDT is not supported"},
      {[](json& c) { c["linux"]["personality"] = {{"domain", "LINUX32"}}; },
       "linux.personality: not supported by runvm yet"},
      {[](json& c) { c["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}}; },
       "process.ioPriority: not supported by runvm"},
      {[](json& c) { c["process"]["scheduler"] = {{"policy", "SCHED_IDLE"}}; },
       "process.scheduler: not supported by runvm yet"},
  };
  for (const auto& c : refused) {
    std::string error = error_with(c.change);
    EXPECT_EQ(error.rfind("config.json: " + c.field, 0), 0u) << error;
  }
  // Engines' defaults: Docker's blockIO weight 0, Kubernetes' zero hugepage
  // limits, empty lists, labels on an SELinux or AppArmor host.
  std::vector<std::function<void(json&)>> accepted = {
      [](json& c) { c["linux"]["resources"]["blockIO"] = {{"weight", 0}, {"weightDevice", json::array()}}; },
      // Applied to the host cgroup (runtime/host_cgroup.h).
      [](json& c) {
        c["linux"]["resources"]["blockIO"] = {
            {"weight", 500}, {"throttleWriteIOPSDevice", {{{"major", 8}, {"minor", 0}, {"rate", 100}}}}};
      },
      [](json& c) { c["linux"]["resources"]["hugepageLimits"] = {{{"pageSize", "2MB"}, {"limit", 0}}}; },
      [](json& c) { c["linux"]["resources"]["network"] = json::object(); },
      [](json& c) { c["linux"]["resources"]["cpu"] = {{"realtimeRuntime", 0}, {"realtimePeriod", 0}}; },
      [](json& c) { c["linux"]["resources"]["memory"] = {{"disableOOMKiller", true}, {"swappiness", 0}}; },
      [](json& c) { c["linux"]["uidMappings"] = json::array(); },
      [](json& c) { c["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"; },
      [](json& c) { c["process"]["apparmorProfile"] = "docker-default"; },
      [](json& c) { c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0"; },
  };
  for (const auto& change : accepted) EXPECT_EQ(error_with(change), "<parsed>");
}

json with_hook(const char* kind, json hook) {
  json config = minimal();
  config["hooks"][kind] = json::array({std::move(hook)});
  return config;
}

TEST(ParseSpec, HookPathsMustBeAbsolute) {
  for (const char* kind : {"prestart", "createRuntime", "createContainer",
                           "startContainer", "poststart", "poststop"}) {
    EXPECT_EQ(error_of(with_hook(kind, {{"path", "hook.sh"}})),
              std::string("config.json: hooks.") + kind +
                  "[0].path: must be an absolute path (got \"hook.sh\")");
    EXPECT_EQ(error_of(with_hook(kind, {{"args", {"x"}}})),
              std::string("config.json: hooks.") + kind + "[0].path: is required");
  }
}

TEST(ParseSpec, HookTimeoutMustBePositive) {
  EXPECT_EQ(error_of(with_hook("poststop", {{"path", "/h"}, {"timeout", 0}})),
            "config.json: hooks.poststop[0].timeout: must be greater than zero");
  EXPECT_EQ(error_of(with_hook("poststop", {{"path", "/h"}, {"timeout", -3}})),
            "config.json: hooks.poststop[0].timeout: must be greater than zero");
  EXPECT_EQ(error_of(with_hook("poststop", {{"path", "/h"}, {"timeout", "5"}})),
            "config.json: hooks.poststop[0].timeout: expected an integer");
  EXPECT_EQ(error_of(with_hook("poststop", {{"path", "/h"}, {"timeout", 1}})),
            "<parsed>");
}

TEST(ParseSpec, HookFieldsAreTypeChecked) {
  EXPECT_EQ(error_of(with_hook("prestart", {{"path", "/h"}, {"args", "x"}})),
            "config.json: hooks.prestart[0].args: expected an array");
  EXPECT_EQ(error_of(with_hook("prestart", {{"path", "/h"}, {"env", {"X"}}})),
            "config.json: hooks.prestart[0].env[0]: expected KEY=VALUE (got \"X\")");
  json config = minimal();
  config["hooks"]["prestart"] = json::object();
  EXPECT_EQ(error_of(config), "config.json: hooks.prestart: expected an array");
  config["hooks"] = json::array();
  EXPECT_EQ(error_of(config), "config.json: hooks: expected an object");
}

TEST(ParseSpec, UnknownFieldsAreIgnored) {
  json config = minimal();
  config["org.example"] = {{"x", 1}};
  config["process"]["org.example.field"] = {{"height", 24}, {"width", 80}};
  config["linux"]["org.example.field"] = 1;
  config["linux"]["resources"]["org.example.field"] = 1;
  config["process"]["user"]["username"] = "root";
  config["root"]["extra"] = json::array();
  config["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}};
  config["hooks"]["unknownHook"] = 1;
  config["vm"] = {{"hypervisor", {{"path", "x"}}}};
  EXPECT_EQ(error_of(config), "<parsed>");
}

TEST(ParseSpec, InvalidJsonNamesTheByte) {
  EXPECT_EQ(error_of(parse_spec("{\"ociVersion\": }")),
            "config.json: invalid JSON at byte 16: line 1, column 16: syntax "
            "error while parsing value - unexpected '}'; expected '[', '{', or "
            "a literal");
  std::string truncated = "{\n  \"ociVersion\": \"1.0.2\",\n";
  EXPECT_EQ(error_of(parse_spec(truncated)).rfind(
                "config.json: invalid JSON at byte 28: line 3, column 1: ", 0),
            0u)
      << error_of(parse_spec(truncated));
  EXPECT_EQ(error_of(parse_spec("")).rfind("config.json: invalid JSON at byte 1: ", 0),
            0u);
  EXPECT_EQ(error_of(parse_spec("{} {}")).rfind(
                "config.json: invalid JSON at byte 4: ", 0),
            0u);
}

TEST(ParseSpec, InvalidJsonDetailIsPrintable) {
  // The excerpt of bad input is escaped, so the message stays valid UTF-8.
  EXPECT_EQ(error_of(parse_spec("{\"a\": \"\xff\"}")),
            "config.json: invalid JSON at byte 8: line 1, column 8: syntax "
            "error while parsing value - invalid string: ill-formed UTF-8 "
            "byte; last read: '\"\\xff'");
  EXPECT_EQ(error_of(parse_spec("{\"a\": 1e999}")),
            "config.json: invalid JSON at byte 11: number overflow parsing "
            "'1e999'");
}

TEST(ParseSpec, TopLevelMustBeAnObject) {
  EXPECT_EQ(error_of(parse_spec("[1, 2]")),
            "config.json: expected a JSON object at the top level");
  EXPECT_EQ(error_of(parse_spec("null")),
            "config.json: expected a JSON object at the top level");
}

TEST(ParseSpec, ErrorsNameTheGivenSource) {
  json config = minimal();
  config["process"]["args"] = json::array();
  EXPECT_EQ(error_of(parse_spec(config.dump(), "/b/config.json")),
            "/b/config.json: process.args: must not be empty");
  EXPECT_EQ(error_of(parse_spec("{", "/b/config.json"))
                .rfind("/b/config.json: invalid JSON at byte 2: ", 0),
            0u);
}

TEST(DefaultSpec, ParsesAsRuncsShape) {
  std::string text = default_spec_json();
  EXPECT_EQ(text.rfind("{\n\t\"ociVersion\": \"1.0.2-dev\",\n\t\"process\": {", 0), 0u)
      << text;
  auto spec = parse_spec(text);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->oci_version, "1.0.2-dev");
  EXPECT_TRUE(spec->process.terminal);
  EXPECT_EQ(spec->process.args, (std::vector<std::string>{"sh"}));
  EXPECT_EQ(spec->process.env,
            (std::vector<std::string>{
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"}));
  EXPECT_EQ(spec->process.cwd, "/");
  ASSERT_EQ(spec->process.rlimits.size(), 1u);
  EXPECT_EQ(spec->process.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(spec->process.rlimits[0].hard, 1024u);
  EXPECT_EQ(spec->process.rlimits[0].soft, 1024u);
  EXPECT_TRUE(spec->process.no_new_privileges);
  EXPECT_EQ(spec->root.path, "rootfs");
  EXPECT_TRUE(spec->root.readonly);
  EXPECT_EQ(spec->hostname, "runvm");

  std::vector<std::string> destinations, namespaces;
  for (const Mount& m : spec->mounts) destinations.push_back(m.destination);
  for (const Namespace& ns : spec->namespaces) namespaces.push_back(ns.type);
  EXPECT_EQ(destinations,
            (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm",
                                      "/dev/mqueue", "/sys", "/sys/fs/cgroup"}));
  EXPECT_EQ(namespaces, (std::vector<std::string>{"pid", "network", "ipc", "uts",
                                                  "mount", "cgroup"}));
  EXPECT_EQ(spec->mounts[5].options,
            (std::vector<std::string>{"nosuid", "noexec", "nodev", "ro"}));
}

TEST(DefaultSpec, KeepsRuncsExtraSections) {
  json doc = json::parse(default_spec_json());
  EXPECT_EQ(doc["process"]["capabilities"]["bounding"],
            json({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(doc["linux"]["maskedPaths"].size(), 10u);
  EXPECT_EQ(doc["linux"]["readonlyPaths"].size(), 5u);
  EXPECT_EQ(doc["linux"]["resources"]["devices"][0]["access"], "rwm");
}

TEST(DefaultSpec, MaskedAndReadonlyPathsAreParsed) {
  auto spec = parse_spec(default_spec_json());
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_EQ(spec->masked_paths.size(), 10u);
  EXPECT_EQ(spec->masked_paths[2], "/proc/kcore");
  EXPECT_EQ(spec->readonly_paths, (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                           "/proc/sys", "/proc/sysrq-trigger"}));
  EXPECT_FALSE(spec->seccomp.has_value());
}

TEST(ParseSpec, MaskedAndReadonlyPathsMustBeAbsolute) {
  json config = minimal();
  config["linux"]["maskedPaths"] = {"/proc/kcore", "proc/keys"};
  EXPECT_EQ(error_of(config),
            "config.json: linux.maskedPaths[1]: must be an absolute path (got \"proc/keys\")");
  config = minimal();
  config["linux"]["readonlyPaths"] = {""};
  EXPECT_EQ(error_of(config), "config.json: linux.readonlyPaths[0]: must be an absolute path (got \"\")");
  config["linux"]["readonlyPaths"] = "/proc/sys";
  EXPECT_EQ(error_of(config), "config.json: linux.readonlyPaths: expected an array");
  config["linux"]["readonlyPaths"] = {std::string("/proc/s\0ys", 10)};
  EXPECT_EQ(error_of(config), "config.json: linux.readonlyPaths[0]: must not contain a NUL byte");
  config["linux"]["readonlyPaths"] = json::array();
  for (int i = 0; i < 1025; ++i) config["linux"]["readonlyPaths"].push_back("/p");
  EXPECT_EQ(error_of(config), "config.json: linux.readonlyPaths: too many paths (at most 1024)");
}

TEST(ConfinedPathsJson, ValidatesWhatTheGuestReceives) {
  auto ok_paths = confined_paths_from_json(json{"/a", "/b/c"}, "masked_paths");
  ASSERT_TRUE(ok_paths) << ok_paths.error().message();
  EXPECT_EQ(*ok_paths, (std::vector<std::string>{"/a", "/b/c"}));
  auto bad = confined_paths_from_json(json{"/a", 5}, "masked_paths");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "masked_paths[1]: expected a string");
}

// Every seccomp field runvm reads, in Docker's and runc's shapes.
json full_seccomp() {
  return json::parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"}]},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
      {"names": ["kill"], "action": "SCMP_ACT_KILL"},
      {"names": ["tkill"], "action": "SCMP_ACT_KILL_PROCESS"},
      {"names": ["tgkill"], "action": "SCMP_ACT_KILL_THREAD"},
      {"names": ["ptrace"], "action": "SCMP_ACT_TRAP"},
      {"names": ["getpid"], "action": "SCMP_ACT_TRACE", "errnoRet": 1},
      {"names": ["getppid"], "action": "SCMP_ACT_LOG",
       "args": [{"index": 5, "value": 1, "op": "SCMP_CMP_NE"}, {"index": 4, "value": 2, "op": "SCMP_CMP_LT"},
                {"index": 3, "value": 3, "op": "SCMP_CMP_LE"}, {"index": 2, "value": 4, "op": "SCMP_CMP_GE"},
                {"index": 1, "value": 18446744073709551615, "op": "SCMP_CMP_GT"}]}
    ]
  })");
}

json with_seccomp(const json& seccomp) {
  json config = minimal();
  config["linux"]["seccomp"] = seccomp;
  return config;
}

TEST(ParseSeccomp, KeepsEveryField) {
  auto spec = parse(with_seccomp(full_seccomp()));
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_TRUE(spec->seccomp.has_value());
  const Seccomp& s = *spec->seccomp;
  EXPECT_EQ(s.default_action, SeccompAction::kErrno);
  EXPECT_EQ(s.default_errno_ret, 38u);
  EXPECT_EQ(s.architectures,
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  EXPECT_EQ(s.flags, (std::vector<SeccompFlag>{SeccompFlag::kTsync, SeccompFlag::kLog, SeccompFlag::kSpecAllow}));
  ASSERT_EQ(s.syscalls.size(), 10u);
  EXPECT_EQ(s.syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(s.syscalls[0].action, SeccompAction::kAllow);
  EXPECT_FALSE(s.syscalls[0].errno_ret.has_value());
  ASSERT_EQ(s.syscalls[2].args.size(), 1u);
  EXPECT_EQ(s.syscalls[2].args[0].op, SeccompOperator::kMaskedEqual);
  EXPECT_EQ(s.syscalls[2].args[0].value, 2114060288u);
  EXPECT_EQ(s.syscalls[3].errno_ret, 13u);
  EXPECT_EQ(s.syscalls[4].action, SeccompAction::kKill);
  EXPECT_EQ(s.syscalls[5].action, SeccompAction::kKillProcess);
  EXPECT_EQ(s.syscalls[6].action, SeccompAction::kKillThread);
  EXPECT_EQ(s.syscalls[7].action, SeccompAction::kTrap);
  EXPECT_EQ(s.syscalls[8].action, SeccompAction::kTrace);
  EXPECT_EQ(s.syscalls[9].action, SeccompAction::kLog);
  const auto& args = s.syscalls[9].args;
  ASSERT_EQ(args.size(), 5u);
  EXPECT_EQ(args[0].index, 5u);
  EXPECT_EQ(args[0].op, SeccompOperator::kNotEqual);
  EXPECT_EQ(args[1].op, SeccompOperator::kLessThan);
  EXPECT_EQ(args[2].op, SeccompOperator::kLessEqual);
  EXPECT_EQ(args[3].op, SeccompOperator::kGreaterEqual);
  EXPECT_EQ(args[4].op, SeccompOperator::kGreaterThan);
  EXPECT_EQ(args[4].value, UINT64_MAX);
}

TEST(ParseSeccomp, JsonRoundTripsThroughTheCreateMessage) {
  auto spec = parse(with_seccomp(full_seccomp()));
  ASSERT_TRUE(spec) << spec.error().message();
  json wire = seccomp_to_json(*spec->seccomp);
  auto back = seccomp_from_json(json::parse(wire.dump()));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(seccomp_to_json(*back), wire);
  EXPECT_EQ(back->syscalls[9].args[4].value, UINT64_MAX);
  EXPECT_EQ(back->default_errno_ret, 38u);
}

TEST(ParseSeccomp, NotifyIsRefusedNamingTheField) {
  json seccomp = full_seccomp();
  seccomp["syscalls"][3]["action"] = "SCMP_ACT_NOTIFY";
  EXPECT_EQ(error_of(with_seccomp(seccomp)),
            "config.json: linux.seccomp.syscalls[3].action: SCMP_ACT_NOTIFY is not supported: runvm "
            "runs the container in a VM, where no seccomp agent on the host can receive its "
            "notifications");
  seccomp = full_seccomp();
  seccomp["defaultAction"] = "SCMP_ACT_NOTIFY";
  EXPECT_EQ(error_of(with_seccomp(seccomp)).rfind(
                "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported", 0),
            0u);
  seccomp = full_seccomp();
  seccomp["listenerPath"] = "/run/agent.sock";
  EXPECT_EQ(error_of(with_seccomp(seccomp)).rfind(
                "config.json: linux.seccomp.listenerPath: not supported", 0),
            0u);
  seccomp["listenerPath"] = "";
  EXPECT_EQ(error_of(with_seccomp(seccomp)), "<parsed>");
}

TEST(ParseSeccomp, UnknownNamesAreRefusedNamingTheField) {
  auto error_with = [](const std::function<void(json&)>& change) {
    json seccomp = full_seccomp();
    change(seccomp);
    return error_of(with_seccomp(seccomp));
  };
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][1]["action"] = "SCMP_ACT_DENY"; }),
            "config.json: linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_DENY\" (runvm "
            "supports SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, "
            "SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_TRACE, SCMP_ACT_TRAP)");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][2]["args"][0]["op"] = "SCMP_CMP_MASKED"; })
                .rfind("config.json: linux.seccomp.syscalls[2].args[0].op: unknown operator "
                       "\"SCMP_CMP_MASKED\" (runvm supports SCMP_CMP_EQ, ",
                       0),
            0u);
  EXPECT_EQ(error_with([](json& s) { s["architectures"][1] = "SCMP_ARCH_PDP11"; })
                .rfind("config.json: linux.seccomp.architectures[1]: unknown architecture "
                       "\"SCMP_ARCH_PDP11\" (runvm supports SCMP_ARCH_AARCH64, ",
                       0),
            0u);
  EXPECT_EQ(error_with([](json& s) { s["flags"][0] = "SECCOMP_FILTER_FLAG_NEW_LISTENER"; })
                .rfind("config.json: linux.seccomp.flags[0]: unknown flag "
                       "\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"",
                       0),
            0u);
}

TEST(ParseSeccomp, ShapesAndBoundsAreChecked) {
  auto error_with = [](const std::function<void(json&)>& change) {
    json seccomp = full_seccomp();
    change(seccomp);
    return error_of(with_seccomp(seccomp));
  };
  EXPECT_EQ(error_with([](json& s) { s.erase("defaultAction"); }),
            "config.json: linux.seccomp.defaultAction: is required");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][0].erase("action"); }),
            "config.json: linux.seccomp.syscalls[0].action: is required");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][0]["names"] = json::array(); }),
            "config.json: linux.seccomp.syscalls[0].names: must not be empty");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][0]["names"][1] = "Write"; }),
            "config.json: linux.seccomp.syscalls[0].names[1]: not a syscall name: \"Write\"");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][0]["names"][1] = ""; }),
            "config.json: linux.seccomp.syscalls[0].names[1]: must not be empty");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][1]["args"][0]["index"] = 6; }),
            "config.json: linux.seccomp.syscalls[1].args[0].index: must be 0 to 5 (a syscall has six "
            "arguments)");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][1]["args"][0].erase("value"); }),
            "config.json: linux.seccomp.syscalls[1].args[0].value: is required");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][1]["args"][0]["value"] = -1; }),
            "config.json: linux.seccomp.syscalls[1].args[0].value: expected an unsigned integer");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"][3]["errnoRet"] = 65536; }),
            "config.json: linux.seccomp.syscalls[3].errnoRet: out of range (at most 65535)");
  EXPECT_EQ(error_with([](json& s) { s["defaultErrnoRet"] = "1"; }),
            "config.json: linux.seccomp.defaultErrnoRet: expected an unsigned integer");
  EXPECT_EQ(error_with([](json& s) {
              for (int i = 0; i < 7; ++i) s["syscalls"][9]["args"].push_back(s["syscalls"][9]["args"][0]);
            }),
            "config.json: linux.seccomp.syscalls[9].args: too many conditions (at most 6)");
  EXPECT_EQ(error_with([](json& s) { s["syscalls"] = json::array(); s["syscalls"].get_ref<json::array_t&>().resize(4097, {{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}}); }),
            "config.json: linux.seccomp.syscalls: too many rules (at most 4096)");
  EXPECT_EQ(error_with([](json& s) {
              json names = json::array();
              for (int i = 0; i < 9000; ++i) names.push_back("read");
              s["syscalls"] = {{{"names", names}, {"action", "SCMP_ACT_ALLOW"}},
                               {{"names", names}, {"action", "SCMP_ACT_ALLOW"}}};
            }),
            "config.json: linux.seccomp.syscalls: too many syscall names (18000; at most 16384)");
  EXPECT_EQ(error_with([](json& s) {
              json arg = {{"index", 0}, {"value", UINT64_MAX}, {"valueTwo", UINT64_MAX}, {"op", "SCMP_CMP_MASKED_EQ"}};
              json rule = {{"names", {"read"}}, {"action", "SCMP_ACT_ALLOW"}, {"args", json::array()}};
              for (int i = 0; i < 6; ++i) rule["args"].push_back(arg);
              s["syscalls"] = json::array();
              for (int i = 0; i < 4000; ++i) s["syscalls"].push_back(rule);
            }).rfind("config.json: linux.seccomp: too large (", 0),
            0u);
  EXPECT_EQ(error_with([](json& s) { s["syscalls"] = json::object(); }),
            "config.json: linux.seccomp.syscalls: expected an array");
  EXPECT_EQ(error_of(with_seccomp("SCMP_ACT_ALLOW")), "config.json: linux.seccomp: expected an object");
  // The least profile: a default action.
  EXPECT_EQ(error_of(with_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"}})), "<parsed>");
}

TEST(ProcessJson, RoundTrips) {
  Process p;
  p.terminal = true;
  p.user = {.uid = 7, .gid = 8, .umask = 022, .additional_gids = {9, 10}};
  p.args = {"/bin/sh", "-c", "echo hi"};
  p.env = {"A=1", "B="};
  p.cwd = "/srv";
  p.rlimits = {{"RLIMIT_NOFILE", 100, 50}, {"RLIMIT_CORE", UINT64_MAX, 0}};
  p.no_new_privileges = true;

  json j = process_to_json(p);
  EXPECT_EQ(j["noNewPrivileges"], true);
  EXPECT_EQ(j["user"]["additionalGids"], json({9, 10}));
  // Through text too, as it travels to the guest.
  auto back = process_from_json(json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->terminal, p.terminal);
  EXPECT_EQ(back->user.uid, p.user.uid);
  EXPECT_EQ(back->user.gid, p.user.gid);
  EXPECT_EQ(back->user.umask, p.user.umask);
  EXPECT_EQ(back->user.additional_gids, p.user.additional_gids);
  EXPECT_EQ(back->args, p.args);
  EXPECT_EQ(back->env, p.env);
  EXPECT_EQ(back->cwd, p.cwd);
  ASSERT_EQ(back->rlimits.size(), 2u);
  EXPECT_EQ(back->rlimits[1].type, "RLIMIT_CORE");
  EXPECT_EQ(back->rlimits[1].hard, UINT64_MAX);
  EXPECT_EQ(back->rlimits[0].soft, 50u);
  EXPECT_EQ(back->no_new_privileges, p.no_new_privileges);
  EXPECT_FALSE(back->capabilities.has_value());
}

TEST(ProcessJson, DefaultsRoundTrip) {
  Process p;
  p.args = {"true"};
  auto back = process_from_json(process_to_json(p));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_FALSE(back->user.umask.has_value());
  EXPECT_TRUE(back->user.additional_gids.empty());
  EXPECT_TRUE(back->rlimits.empty());
  EXPECT_EQ(back->cwd, "/");
}

TEST(ProcessJson, CapabilitiesRoundTrip) {
  Process p;
  p.args = {"sh"};
  p.capabilities = Capabilities{.bounding = {"CAP_KILL", "CAP_CHOWN"},
                                .effective = {"CAP_KILL"},
                                .inheritable = {},
                                .permitted = {"CAP_KILL"},
                                .ambient = {"CAP_KILL"}};
  auto back = process_from_json(json::parse(process_to_json(p).dump()));
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(back->capabilities.has_value());
  EXPECT_EQ(back->capabilities->bounding, p.capabilities->bounding);
  EXPECT_EQ(back->capabilities->effective, p.capabilities->effective);
  EXPECT_TRUE(back->capabilities->inheritable.empty());
  EXPECT_EQ(back->capabilities->ambient, p.capabilities->ambient);
}

TEST(ProcessJson, CapabilitiesAbsentStayAbsent) {
  Process p;
  p.args = {"sh"};
  json j = process_to_json(p);
  EXPECT_FALSE(j.contains("capabilities"));
  auto back = process_from_json(j);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_FALSE(back->capabilities.has_value());
}

TEST(ProcessJson, CapabilitiesValidated) {
  json j = {{"args", {"sh"}}, {"capabilities", {{"bounding", "CAP_KILL"}}}};
  EXPECT_EQ(process_from_json(j).error().message(),
            "process.capabilities.bounding: expected an array");
  j = {{"args", {"sh"}}, {"capabilities", {{"effective", {1}}}}};
  EXPECT_EQ(process_from_json(j).error().message(),
            "process.capabilities.effective[0]: expected a string");
}

TEST(ProcessJson, FromJsonValidates) {
  Process p;  // no args
  EXPECT_EQ(process_from_json(process_to_json(p)).error().message(),
            "process.args: must not be empty");
  EXPECT_EQ(process_from_json(json("sh")).error().message(),
            "process: expected an object");
  // Built in code, a positive int is "integer", not "unsigned".
  json j = {{"args", {"sh"}}, {"user", {{"uid", int{5}}}}};
  auto back = process_from_json(j);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->user.uid, 5u);
}

TEST(MountsJson, RoundTrips) {
  std::vector<Mount> mounts = {
      {"/proc", "proc", "proc", {}},
      {"/data", "", "/host/data", {"rbind", "ro"}},
  };
  auto back = mounts_from_json(json::parse(mounts_to_json(mounts).dump()));
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->size(), 2u);
  for (size_t i = 0; i < mounts.size(); ++i) {
    EXPECT_EQ((*back)[i].destination, mounts[i].destination);
    EXPECT_EQ((*back)[i].type, mounts[i].type);
    EXPECT_EQ((*back)[i].source, mounts[i].source);
    EXPECT_EQ((*back)[i].options, mounts[i].options);
  }
  auto empty = mounts_from_json(mounts_to_json({}));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(MountsJson, FromJsonValidates) {
  EXPECT_EQ(mounts_from_json(json::object()).error().message(),
            "mounts: expected an array");
  EXPECT_EQ(mounts_from_json(mounts_to_json({{"rel", "", "", {}}})).error().message(),
            "mounts[0].destination: must be an absolute path (got \"rel\")");
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/runvm-spec-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)io::remove_tree(dir_); }

  void write_config(const std::string& text) {
    ASSERT_TRUE(io::write_file_atomic(dir_ + "/config.json", text));
  }

  std::string dir_;
};

TEST_F(BundleTest, MissingConfigSaysWhatToDo) {
  auto spec = load_bundle_spec(dir_);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message(),
            dir_ + "/config.json: no such file: a bundle needs a config.json "
                   "(runvm spec writes a default one)");
  EXPECT_EQ(load_bundle_spec(dir_ + "/nope").error().message(),
            dir_ + "/nope/config.json: no such file: a bundle needs a "
                   "config.json (runvm spec writes a default one)");
}

TEST_F(BundleTest, LoadsConfig) {
  write_config(default_spec_json());
  auto spec = load_bundle_spec(dir_);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->hostname, "runvm");
  auto with_slash = load_bundle_spec(dir_ + "/");
  ASSERT_TRUE(with_slash) << with_slash.error().message();
}

TEST_F(BundleTest, ErrorsNameTheFullPath) {
  write_config("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}}");
  EXPECT_EQ(load_bundle_spec(dir_).error().message(),
            dir_ + "/config.json: process: is required");
  write_config("{");
  EXPECT_EQ(load_bundle_spec(dir_).error().message().rfind(
                dir_ + "/config.json: invalid JSON at byte 2: ", 0),
            0u);
}

}  // namespace
}  // namespace runvm::oci
