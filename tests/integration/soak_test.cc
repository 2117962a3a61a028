// Soak (issue 16, item 16): several workers at once, each running many
// cycles of what engines do all day (create, start, exec, kill, delete; run
// of a short-lived container on a read-only root), half of them on a
// network namespace the test made. Afterwards nothing of runvm may remain: processes (monitors,
// QEMU, virtiofsd), host mounts, taps and ingress qdiscs in the
// namespaces, cgroups, state directories. Every leak and every failed step
// is counted and reported.
//
// CI runs a short soak (RUNVM_SOAK_WORKERS=3, RUNVM_SOAK_CYCLES=3 by
// default); scripts/soak.sh runs a long one with larger numbers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;

int env_number(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

// Everything one worker owns: a long-running bundle (sleep) for
// create/start/exec/kill/delete and a short one (it exits) for run, and for
// networked workers a namespace with a veth pair, both ends in it.
struct Worker {
  int index = 0;
  bool networked = false;
  std::string ns;
  Bundle sleeper, short_lived;
  TempDir scratch;
};

class SoakTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& ns : namespaces_) shell("ip netns del " + ns);
  }

  // Failed steps, by what failed ("exec: ..."), kept for the report.
  void failed(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_.size() < 20) failures_.push_back(what);
    ++failure_count_;
  }

  void configure(Worker& w) {
    for (Bundle* b : {&w.sleeper, &w.short_lived}) {
      if (w.networked) {
        b->config()["linux"]["namespaces"] = {{{"type", "pid"}},
                                              {{"type", "network"}, {"path", "/run/netns/" + w.ns}},
                                              {{"type", "ipc"}},
                                              {{"type", "uts"}},
                                              {{"type", "mount"}}};
      }
      cgroups_.push_back(b->config()["linux"]["cgroupsPath"].get<std::string>());
    }
    w.sleeper.set_args({"sleep", "600"});
    w.sleeper.write_config();
    // The short-lived one as `docker run --read-only --tmpfs` makes it: a
    // read-only root (its own read-only virtiofsd), a tmpfs and a cwd that
    // the image lacks.
    w.short_lived.config()["root"]["readonly"] = true;
    w.short_lived.config()["process"]["cwd"] = "/work/dir";
    w.short_lived.config()["mounts"].push_back(
        {{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"mode=1777"}}});
    w.short_lived.set_args({"sh", "-c", "touch /scratch/ok && echo ran-$((6 * 7))-in-$(pwd)"});
    w.short_lived.write_config();
  }

  void cycle(Worker& w, int i) {
    std::string runvm = "'" + runvm_binary() + "' --root '" + root_.path() + "'";
    std::string id = "soak-" + std::to_string(w.index) + "-" + std::to_string(i);
    std::string log = w.scratch.path() + "/" + id + ".log";
    std::string tag = id + (w.networked ? " (network)" : "") + ": ";
    ShellResult up = create_and_start(runvm, w.sleeper.path(), id, log);
    if (up.status != 0) failed(tag + "create/start: " + up.out + slurp(log));
    ShellResult e = shell(runvm + " exec " + id + " sh -c 'echo exec-$((2 + 3))'");
    if (e.status != 0 || !contains(e.out, "exec-5")) failed(tag + "exec: " + e.out);
    ShellResult k = shell(runvm + " kill " + id + " KILL");
    if (k.status != 0) failed(tag + "kill: " + k.out);
    bool stopped = wait_until([&] { return contains(shell(runvm + " state " + id).out, "\"stopped\""); }, 30s);
    if (!stopped) failed(tag + "not stopped 30 s after kill KILL");
    ShellResult d = shell(runvm + " delete " + id);
    if (d.status != 0) failed(tag + "delete: " + d.out);
    // delete --force of a running one, right after start (engines' stop
    // path when a kill times out).
    std::string id2 = id + "-f";
    up = create_and_start(runvm, w.sleeper.path(), id2, log);
    if (up.status != 0) failed(tag + "create/start (force): " + up.out + slurp(log));
    d = shell(runvm + " delete --force " + id2);
    if (d.status != 0) failed(tag + "delete --force: " + d.out);
    ShellResult r = shell(runvm + " run --bundle " + w.short_lived.path() + " " + id + "-r </dev/null");
    if (r.status != 0 || !contains(r.out, "ran-42-in-/work/dir")) failed(tag + "run: " + r.out);
  }

  // Host mounts that name the test's directories.
  size_t leaked_mounts() {
    std::ifstream f("/proc/self/mountinfo");
    size_t n = 0;
    for (std::string line; std::getline(f, line);)
      for (const auto& dir : dirs_)
        if (contains(line, dir)) ++n;
    return n;
  }

  TempDir root_;
  std::vector<std::string> namespaces_, cgroups_, dirs_;
  std::mutex mu_;
  std::vector<std::string> failures_;
  std::atomic<int> failure_count_{0};
};

TEST_F(SoakTest, ConcurrentWorkersCyclingContainersLeaveNothingBehind) {
  const int workers = env_number("RUNVM_SOAK_WORKERS", 3);
  const int cycles = env_number("RUNVM_SOAK_CYCLES", 3);
  std::vector<std::unique_ptr<Worker>> pool;
  for (int i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->networked = i % 2 == 1;
    if (w->networked) {
      w->ns = "rvsoak" + std::to_string(::getpid()) + "-" + std::to_string(i);
      namespaces_.push_back(w->ns);
      ASSERT_EQ(shell("ip netns add " + w->ns).status, 0);
      ASSERT_EQ(shell("ip -n " + w->ns + " link add eth0 type veth peer name peer0 && ip -n " + w->ns +
                      " addr add 10.78.0.2/24 dev eth0 && ip -n " + w->ns + " link set eth0 up && ip -n " +
                      w->ns + " link set peer0 up")
                    .status,
                0);
    }
    configure(*w);
    dirs_.push_back(w->sleeper.path());
    dirs_.push_back(w->short_lived.path());
    pool.push_back(std::move(w));
  }
  dirs_.push_back(root_.path());

  std::vector<std::thread> threads;
  for (auto& w : pool)
    threads.emplace_back([this, &w, cycles] {
      for (int i = 0; i < cycles; ++i) cycle(*w, i);
    });
  for (auto& t : threads) t.join();

  // What is left, counted.
  std::map<std::string, size_t> leaks = {{"processes", 0}, {"mounts", 0}, {"taps", 0},
                                         {"qdiscs", 0},    {"cgroups", 0}, {"state dirs", 0}};
  for (const auto& dir : dirs_) leaks["processes"] += processes_mentioning(dir).size();
  leaks["mounts"] = leaked_mounts();
  for (const auto& ns : namespaces_) {
    // Only lo, eth0 and peer0 may remain; runvm's taps are gone.
    std::istringstream links(shell("ip -n " + ns + " -o link show").out);
    for (std::string line; std::getline(links, line);)
      if (!contains(line, ": lo:") && !contains(line, ": eth0@") && !contains(line, ": peer0@")) ++leaks["taps"];
    if (contains(shell("tc -n " + ns + " qdisc show").out, "ingress")) ++leaks["qdiscs"];
  }
  for (const auto& cgroup : cgroups_) leaks["cgroups"] += cgroup_dirs_left(cgroup).size();
  leaks["state dirs"] = list_dir(root_.path()).size();

  std::string report;
  for (const auto& [what, n] : leaks) report += " " + what + "=" + std::to_string(n);
  for (const auto& f : failures_) report += "\n  " + f;
  EXPECT_EQ(failure_count_.load(), 0) << workers << " workers x " << cycles << " cycles; leaks:" << report;
  for (const auto& [what, n] : leaks) EXPECT_EQ(n, 0u) << what << " leaked:" << report;
  std::cout << "soak: " << workers << " workers x " << cycles << " cycles, " << failure_count_.load()
            << " failed steps; leaks:" << report << std::endl;
}

}  // namespace
}  // namespace runvm::testing
