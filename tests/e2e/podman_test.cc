// Conformance through podman 4.3: one private store per test binary (--root,
// --runroot, --tmpdir and a containers.conf of its own under one temp dir),
// containers on `--runtime runvm`. runvm's state stays in its default root
// (/run/runvm): podman 4.3 passes --runtime-flag to create and start but not
// to delete, so a private --root would be left behind by podman itself.
#include <gtest/gtest.h>

#include "tests/e2e/e2e_util.h"
#include "tests/e2e/readme_snippets.h"

namespace runvm::testing::e2e {
namespace {

const char* kImage = "localhost/runvm-e2e-busybox:1";
const char* kRunvmRoot = "/run/runvm";

class PrivatePodman {
 public:
  ~PrivatePodman() { stop(); }
  const std::string& dir() const { return dir_; }

  std::vector<std::string> podman(std::vector<std::string> args) const {
    args.insert(args.begin(),
                {podman_, "--root", dir_ + "/root", "--runroot", dir_ + "/run", "--tmpdir",
                 dir_ + "/tmp", "--storage-driver", "overlay", "--runtime", "runvm",
                 "--cgroup-manager", "cgroupfs", "--events-backend", "file"});
    return args;
  }
  // Its own containers.conf: the README's runtime entry, and ulimits under
  // the hard limits (no CAP_SYS_RESOURCE here).
  std::vector<std::string> env() const { return {"CONTAINERS_CONF=" + dir_ + "/containers.conf"}; }
  Cmd pm(const std::vector<std::string>& args, const std::string& in = "",
         std::chrono::seconds limit = 90s) const {
    return run(podman(args), in, limit, env());
  }

  std::string start() {
    podman_ = first_executable({"/usr/bin/podman", "/usr/local/bin/podman"});
    if (podman_.empty()) return "podman is not installed (scripts/setup.sh installs it)";
    dir_ = make_short_temp_dir("p", 3);
    std::ofstream(dir_ + "/containers.conf")
        << "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
        << readme_snippet("podman-containers-conf");
    std::string tar = make_busybox_tar(dir_);
    Cmd imp = pm({"import", tar, kImage}, "", 60s);
    if (imp.code != 0) return "podman import failed: " + imp.err;
    return "";
  }

  void stop() {
    if (dir_.empty()) return;
    pm({"rm", "-af", "-t", "0"}, "", 60s);
    for (pid_t p : processes_mentioning(dir_)) ::kill(p, SIGKILL);
    unmount_and_remove(dir_);
    dir_.clear();
  }

 private:
  std::string dir_, podman_;
};

class PodmanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    podman_ = new PrivatePodman;
    try {
      start_error_ = new std::string(podman_->start());
    } catch (const std::exception& e) {
      start_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete podman_;
    delete start_error_;
    remove_cgroup_parent("libpod_parent/conmon");  // podman's own, for conmon
    remove_cgroup_parent("libpod_parent");
  }

  void SetUp() override { ASSERT_EQ(*start_error_, "") << "the private podman setup failed"; }

  void TearDown() override {
    Cmd ids = pm({"ps", "-aq", "--no-trunc"}, "", 20s);
    std::istringstream words(ids.out);
    for (std::string id; words >> id;) ids_.push_back(id);
    pm({"rm", "-af", "-t", "0"}, "", 60s);
    for (const auto& id : ids_)
      EXPECT_NE(::access((std::string(kRunvmRoot) + "/" + id).c_str(), F_OK), 0)
          << "runvm state left: " << kRunvmRoot << "/" << id;
    EXPECT_EQ(wait_no_runvm_processes(podman_->dir()), "") << "runvm processes left";
  }

  Cmd pm(const std::vector<std::string>& args, const std::string& in = "",
         std::chrono::seconds limit = 90s) {
    return podman_->pm(args, in, limit);
  }
  // Remembers the ID a `--cidfile` got, for the check for leftovers.
  void note_cid(const std::string& cidfile) {
    std::string id = slurp(cidfile);
    if (!id.empty()) ids_.push_back(id);
  }

  static PrivatePodman* podman_;
  static std::string* start_error_;
  std::vector<std::string> ids_;
};

PrivatePodman* PodmanTest::podman_ = nullptr;
std::string* PodmanTest::start_error_ = nullptr;

TEST_F(PodmanTest, RunPrintsOutputAndExitsWithTheStatus) {
  std::string cid = podman_->dir() + "/run1.cid";
  Cmd r = pm({"run", "--rm", "--cidfile", cid, "--network", "none", kImage, "sh", "-c",
              "echo hi; exit 3"});
  note_cid(cid);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, "hi\n");
}

// podman cp joins the container's mount namespace and writes there: the file
// must appear inside the VM's container and not on the host's /.
TEST_F(PodmanTest, DetachedLogsExecCopyStopRm) {
  std::string name = "pd1";
  Cmd d = pm({"run", "-d", "--name", name, "--network", "none", kImage, "sh", "-c",
              "echo started; while true; do sleep 0.2; done"});
  ASSERT_EQ(d.code, 0) << d.err;
  ids_.push_back(d.out.substr(0, d.out.find('\n')));
  auto deadline = Clock::now() + 30s;
  Cmd logs;
  while (Clock::now() < deadline && !contains((logs = pm({"logs", name})).out, "started\n"))
    std::this_thread::sleep_for(200ms);
  EXPECT_EQ(logs.out, "started\n") << logs.err;
  Cmd ex = pm({"exec", name, "sh", "-c", "echo exec-ok; exit 2"});
  EXPECT_EQ(ex.code, 2) << ex.err;
  EXPECT_EQ(ex.out, "exec-ok\n");

  std::string base = "runvm-e2e-podman-cp-" + std::to_string(::getpid()) + ".txt";
  std::string src = podman_->dir() + "/" + base;
  std::ofstream(src) << "copied-in\n";
  Cmd cp = pm({"cp", src, name + ":/" + base});
  EXPECT_EQ(cp.code, 0) << cp.err;
  Cmd seen = pm({"exec", name, "cat", "/" + base});
  EXPECT_EQ(seen.out, "copied-in\n") << "inside the container: " << seen.err;
  bool on_host = ::access(("/" + base).c_str(), F_OK) == 0;
  EXPECT_FALSE(on_host) << "podman cp wrote onto the host's /";
  if (on_host) ::unlink(("/" + base).c_str());

  Cmd stop = pm({"stop", "-t", "1", name}, "", 30s);
  EXPECT_EQ(stop.code, 0) << stop.err;
  Cmd state = pm({"inspect", "-f", "{{.State.Status}}", name});
  EXPECT_EQ(state.out, "exited\n") << state.err;
  Cmd rm = pm({"rm", name});
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_NE(pm({"inspect", name}, "", 20s).code, 0) << "gone";
}

// `podman pod`: the infra container boots the pod's VM and every container
// of the pod runs in it (docs/ARCHITECTURE.md, "Pods"), sharing its network
// (localhost), UTS (the pod's hostname) and IPC; exec, logs and cp work on
// a joined container, and stop and rm of the pod leave nothing.
TEST_F(PodmanTest, APodIsOneVmItsContainersShareLocalhostAndHostname) {
  const std::string pod = "pp1", web = "pp1web";
  Cmd created = pm({"pod", "create", "--name", pod, "--network", "none", "--infra-image", kImage,
                    "--infra-command", "sleep 100000"});
  ASSERT_EQ(created.code, 0) << created.err;
  std::string pod_id = pm({"pod", "inspect", "-f", "{{.Id}}", pod}).out;
  pod_id = pod_id.substr(0, pod_id.find('\n'));
  // podman's cgroupfs manager leaves the pod's own cgroup in the named v1
  // hierarchies after `pod rm`: removed here (it holds nothing of runvm's).
  struct RemovePodCgroup {
    std::string name;
    ~RemovePodCgroup() {
      if (!name.empty()) remove_cgroup_parent("libpod_parent/" + name);
    }
  } remove_pod_cgroup{pod_id};
  std::string infra = pm({"pod", "inspect", "-f", "{{.InfraContainerID}}", pod}).out;
  infra = infra.substr(0, infra.find('\n'));
  ids_.push_back(infra);
  Cmd d = pm({"run", "-d", "--pod", pod, "--name", web, kImage, "sh", "-c",
              "mkdir -p /www; echo pod-web > /www/index.html; echo web-up; httpd -f -p 8080 -h /www"});
  ASSERT_EQ(d.code, 0) << d.err;
  std::string web_id = d.out.substr(0, d.out.find('\n'));
  ids_.push_back(web_id);
  auto qemus_naming = [](const std::string& id) {
    int n = 0;
    for (pid_t p : processes_mentioning(id))
      if (contains(slurp("/proc/" + std::to_string(p) + "/cmdline"), "qemu-system")) ++n;
    return n;
  };
  EXPECT_EQ(qemus_naming(infra), 1) << "the infra container's VM";
  EXPECT_EQ(qemus_naming(web_id), 0) << "the pod's container boots none";
  Cmd other;
  auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    other = pm({"run", "--rm", "--pod", pod, kImage, "sh", "-c",
                "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080; hostname"});
    if (contains(other.out, "pod-web\n")) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(contains(other.out, "pod-web\n")) << "localhost is the pod's: " << other.out << other.err;
  EXPECT_TRUE(other.out.ends_with("\n" + pod + "\n")) << "the pod's hostname: " << other.out;
  EXPECT_EQ(pm({"exec", web, "hostname"}).out, pod + "\n");
  EXPECT_TRUE(contains(pm({"logs", web}).out, "web-up\n"));
  std::string src = podman_->dir() + "/pod-cp.txt";
  std::ofstream(src) << "into-the-pod\n";
  EXPECT_EQ(pm({"cp", src, web + ":/tmp/pod-cp.txt"}).code, 0);
  EXPECT_EQ(pm({"exec", web, "cat", "/tmp/pod-cp.txt"}).out, "into-the-pod\n");
  Cmd stop = pm({"pod", "stop", "-t", "0", pod}, "", 60s);
  EXPECT_EQ(stop.code, 0) << stop.err;
  Cmd rm = pm({"pod", "rm", pod}, "", 60s);
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_EQ(pm({"ps", "-aq"}).out, "") << "nothing of the pod is left";
}

TEST_F(PodmanTest, InteractiveTerminal) {
  std::string cid = podman_->dir() + "/tty.cid";
  std::string cmd = "stty rows 30 cols 100; ";
  for (const auto& a : podman_->podman({"run", "-it", "--rm", "--cidfile", cid, "--network",
                                        "none", kImage, "sh", "-c"}))
    cmd += a + " ";
  cmd += "'tty; stty size; read x; echo got=$x'";
  std::vector<std::string> env = podman_->env();
  Child s({"/usr/bin/script", "-qfc", cmd, "/dev/null"}, "", true, env);
  ASSERT_TRUE(s.wait_for_output("30 100", 90s)) << s.out() << s.err();
  note_cid(cid);
  EXPECT_TRUE(contains(s.out(), "/dev/pts/")) << s.out();
  s.send("typed\n");
  EXPECT_TRUE(s.wait_for_output("got=typed", 30s)) << s.out();
  Cmd r = s.finish(30s);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

// podman's default network (netavark: a podman0 bridge, NAT and port
// forwarding) with a server in a runvm container, reached through a
// published port. podman runs inside a network namespace this test makes,
// so netavark's bridge and firewall rules never touch the host's network;
// that namespace plays the host.
TEST_F(PodmanTest, DefaultNetworkPublishesAServerInTheVm) {
  std::string ns = "rvpod" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("ip netns add " + ns + " && ip -n " + ns + " link set lo up").c_str()), 0);
  struct NetnsGuard {
    std::string ns;
    ~NetnsGuard() { std::system(("ip netns del " + ns + " 2>/dev/null").c_str()); }
  } guard{ns};
  auto in_ns = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"/usr/bin/nsenter", "--net=/run/netns/" + ns});
    return argv;
  };
  std::vector<std::string> run_args = podman_->podman(
      {"run", "-d", "--name", "pnet1", "-p", "18081:8080", kImage, "sh", "-c",
       "mkdir -p /www && echo served-by-vm > /www/index.html && httpd -f -p 8080 -h /www"});
  Cmd d = run(in_ns(run_args), "", 120s, podman_->env());
  ASSERT_EQ(d.code, 0) << d.err;
  ids_.push_back(d.out.substr(0, d.out.find('\n')));
  std::string got;
  auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    got = run(in_ns({"/usr/bin/wget", "-qO-", "-T", "5", "http://127.0.0.1:18081/"}), "", 20s).out;
    if (got == "served-by-vm\n") break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(got, "served-by-vm\n") << "netavark's port forward reaches the VM";
  // Removed here, inside the namespace, so netavark tears its network down there.
  Cmd rm = run(in_ns(podman_->podman({"rm", "-f", "-t", "0", "pnet1"})), "", 60s, podman_->env());
  EXPECT_EQ(rm.code, 0) << rm.err;
}

}  // namespace
}  // namespace runvm::testing::e2e
