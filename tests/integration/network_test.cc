// runvm alone on a network namespace the test made: a veth pair whose
// container end (eth0, with a MAC, MTU, IPv4 and IPv6 addresses and routes)
// is in the namespace the spec names, and whose peer is in a second
// namespace with an address. From inside the VM the container must see
// exactly that interface and reach the peer; afterwards nothing of runvm
// (tap, qdisc) is left in the namespace. No traffic leaves the two
// namespaces.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;

// A shell command's output; the test fails on a non-zero status.
std::string sh(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = ::pclose(p);
  EXPECT_EQ(status, 0) << command << "\n" << out;
  return out;
}


// An echo server on the peer, in its namespace: python3, so the test does
// not depend on busybox's nc options.
class PeerEchoServer {
 public:
  PeerEchoServer(const std::string& ns, int port) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("ip", "ip", "netns", "exec", ns.c_str(), "python3", "-c",
               ("import socket\n"
                "s = socket.socket(socket.AF_INET6)\n"
                "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n"
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "s.bind(('::', " + std::to_string(port) + "))\n"
                "s.listen(8)\n"
                "while True:\n"
                "    c, _ = s.accept()\n"
                "    data = b''\n"
                "    while not data.endswith(b'\\n'):\n"
                "        more = c.recv(65536)\n"
                "        if not more: break\n"
                "        data += more\n"
                "    c.sendall(b'echo:' + data)\n"
                "    c.close()\n").c_str(),
               nullptr);
      ::_exit(127);
    }
    std::this_thread::sleep_for(500ms);
  }
  ~PeerEchoServer() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_;
};

class NetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tag = std::to_string(::getpid());
    ns_ = "rvc" + tag;
    peer_ = "rvp" + tag;
    sh("ip netns add " + ns_ + " && ip netns add " + peer_);
    sh("ip -n " + ns_ + " link add eth0 type veth peer name peer0 netns " + peer_);
    sh("ip -n " + ns_ + " link set eth0 address 02:77:00:00:00:02 mtu 1400 up");
    sh("ip -n " + ns_ + " addr add 10.77.0.2/24 dev eth0");
    sh("ip -n " + ns_ + " addr add fd77::2/64 dev eth0 nodad");
    sh("ip -n " + ns_ + " route add default via 10.77.0.1");
    sh("ip -n " + ns_ + " route add 10.88.0.0/16 via 10.77.0.1 metric 7");
    // A permanent neighbour, as CNI plugins like Calico set for their gateway.
    sh("ip -n " + ns_ + " neigh add 10.77.0.99 lladdr 02:99:00:00:00:99 dev eth0 nud permanent");
    // ARP behaviour a CNI may set (arp_ignore/arp_announce for an anycast
    // or load-balanced address).
    sh("ip netns exec " + ns_ + " sh -c 'echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_ignore && "
       "echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce'");
    sh("ip -n " + peer_ + " link set peer0 mtu 1400 up");
    sh("ip -n " + peer_ + " addr add 10.77.0.1/24 dev peer0");
    sh("ip -n " + peer_ + " addr add fd77::1/64 dev peer0 nodad");
    bundle_.config()["linux"]["namespaces"] = {
        {{"type", "pid"}}, {{"type", "network"}, {"path", "/run/netns/" + ns_}},
        {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}};
    // ping needs a raw socket, as under runc.
    nlohmann::json caps = {"CAP_NET_RAW", "CAP_KILL"};
    bundle_.config()["process"]["capabilities"] = {
        {"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  }

  void TearDown() override {
    EXPECT_TRUE(list_dir(root_.path()).empty()) << "state left under " << root_.path();
    EXPECT_TRUE(processes_mentioning(root_.path()).empty()) << "QEMU left running";
    // Nothing of runvm in the container's namespace: no tap, no qdisc.
    std::string links = sh("ip -n " + ns_ + " -o link");
    EXPECT_FALSE(contains(links, "runvm-tap")) << links;
    std::string qdiscs = sh("tc -n " + ns_ + " qdisc show dev eth0");
    EXPECT_FALSE(contains(qdiscs, "ingress")) << qdiscs;
    sh("ip netns del " + ns_ + " && ip netns del " + peer_);
  }

  RunResult run(const std::string& script, const std::string& id = "c1") {
    bundle_.set_args({"sh", "-c", script});
    bundle_.write_config();
    return run_runvm({"--root", root_.path(), "run", "--bundle", bundle_.path(), id});
  }

  std::string ns_, peer_;
  TempDir root_;
  Bundle bundle_;
};

TEST_F(NetworkTest, TheGuestHasTheInterfaceAndReachesThePeer) {
  PeerEchoServer server(peer_, 7777);
  RunResult r = run(
      "busybox ip -o addr show dev eth0 | busybox grep -v fe80 | busybox tr -s ' ' | busybox cut -d' ' -f2-4; "
      "busybox ip -o link show dev eth0 | busybox grep -o 'mtu [0-9]*\\|ether [0-9a-f:]*'; "
      "busybox ip route show | busybox sort; "
      "busybox ip neigh show 10.77.0.99; "
      "echo arp=$(busybox cat /proc/sys/net/ipv4/conf/eth0/arp_ignore),$(busybox cat /proc/sys/net/ipv4/conf/all/arp_announce); "
      "busybox ping -c 1 -W 10 10.77.0.1 >/dev/null && echo ping-ok; "
      "busybox ping -6 -c 1 -W 10 fd77::1 >/dev/null && echo ping6-ok; "
      "busybox ping -c 1 -W 5 127.0.0.1 >/dev/null && echo loopback-ok; "
      "echo hello | busybox nc 10.77.0.1 7777; echo; "
      "echo big-$(busybox head -c 3000 /dev/zero | busybox tr '\\0' x) | busybox nc fd77::1 7777 | busybox wc -c");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "eth0 inet 10.77.0.2/24\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "eth0 inet6 fd77::2/64\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "mtu 1400\nether 02:77:00:00:00:02\n")) << "the interface's MAC and MTU:\n" << r.out;
  EXPECT_TRUE(contains(r.out, "default via 10.77.0.1 dev eth0")) << r.out;
  EXPECT_TRUE(contains(r.out, "arp=1,2\n")) << "the namespace's ARP settings:\n" << r.out;
  EXPECT_TRUE(contains(r.out, "10.88.0.0/16 via 10.77.0.1 dev eth0  metric 7")) << r.out;
  EXPECT_TRUE(contains(r.out, "10.77.0.99 dev eth0 lladdr 02:99:00:00:00:99 ")) << r.out;
  EXPECT_TRUE(contains(r.out, " PERMANENT\n")) << "the static neighbour entry:\n" << r.out;
  EXPECT_TRUE(contains(r.out, "ping-ok\n")) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "ping6-ok\n")) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "loopback-ok\n")) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "echo:hello\n")) << "a TCP round trip to the peer:\n" << r.out << r.err;
  // 5 + 4 + 3000 + 1: more than one 1400-byte frame, both ways.
  EXPECT_TRUE(contains(r.out, "3010\n")) << "a multi-frame TCP round trip over IPv6:\n" << r.out << r.err;
}

TEST_F(NetworkTest, AServerInTheGuestIsReachableFromThePeer) {
  bundle_.set_args({"sh", "-c", "echo served | busybox nc -l -p 8080"});
  bundle_.write_config();
  RunOptions o;
  o.on_start = [&](pid_t) {
    std::thread([this] {
      for (int i = 0; i < 150; ++i) {
        std::string cmd = "ip netns exec " + peer_ +
                          " python3 -c \"import socket; s=socket.create_connection(('10.77.0.2', 8080), 2); "
                          "print(s.recv(100).decode(), end='')\" > " + root_.path() + ".got 2>/dev/null";
        if (std::system(cmd.c_str()) == 0) return;
        std::this_thread::sleep_for(200ms);
      }
    }).detach();
  };
  RunResult r = run_runvm({"--root", root_.path(), "run", "--bundle", bundle_.path(), "c1"}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream got(root_.path() + ".got");
  std::string text((std::istreambuf_iterator<char>(got)), {});
  ::unlink((root_.path() + ".got").c_str());
  EXPECT_EQ(text, "served\n");
}

// What `kubectl port-forward` does through containerd, and what any tool
// run with `nsenter -n` in the container's namespace expects under runc:
// a connection to 127.0.0.1:PORT in the namespace on the host reaches the
// server listening on PORT in the VM. Both ways, past many windows, with
// each side's end passed on; a port nothing listens on is closed at once,
// never left hanging; after delete nothing is redirected any more.
TEST_F(NetworkTest, LocalhostInTheNamespaceReachesTheGuest) {
  sh("ip -n " + ns_ + " link set lo up");
  // httpd serves each connection in a process of its own; nc -ll one
  // after another, which is slow under TCG.
  ::mkdir((bundle_.rootfs() + "/www").c_str(), 0755);
  std::ofstream(bundle_.rootfs() + "/www/index.html") << "served\n";
  std::ofstream(bundle_.rootfs() + "/serve") << "#!/bin/sh\n"
                                               "busybox httpd -p 8080 -h /www\n"
                                               "busybox nc -ll -p 9000 -e busybox md5sum &\n"
                                               "exec busybox sleep 600\n";
  ::chmod((bundle_.rootfs() + "/serve").c_str(), 0755);
  bundle_.set_args({"/serve"});
  bundle_.write_config();
  std::string runvm = runvm_binary() + " --root " + root_.path();
  std::string log = root_.path() + ".log";
  ShellResult created = create_and_start(runvm, bundle_.path(), "pf", log);
  ASSERT_EQ(created.status, 0) << created.out << slurp(log);
  // A client in the namespace, as containerd's port-forward is: python3,
  // for exact control of each side's end.
  auto client = [&](const std::string& body) {
    return shell("timeout 60 nsenter --net=/run/netns/" + ns_ + " python3 -c '" + body + "' 2>&1");
  };
  // An HTTP GET on each of `n` connections made at once; prints how many
  // were answered with the page.
  auto get = [&](int n) {
    return client(
        "import socket, time\n"
        "socks = [socket.create_connection((\"127.0.0.1\", 8080), 5) for i in range(" + std::to_string(n) + ")]\n"
        "for s in socks:\n"
        "    s.settimeout(40)\n"
        "    s.sendall(b\"GET /index.html HTTP/1.0\\r\\n\\r\\n\")\n"
        "answers = []\n"
        "for s in socks:\n"
        "    got = b\"\"\n"
        "    while True:\n"
        "        more = s.recv(65536)\n"
        "        if not more: break\n"
        "        got += more\n"
        "    answers.append(got)\n"
        "print(sum(1 for a in answers if b\" 200 OK\\r\\n\" in a and a.endswith(b\"\\r\\n\\r\\nserved\\n\")),"
        " [a[:40] for a in answers if b\" 200 OK\\r\\n\" not in a or not a.endswith(b\"served\\n\")])\n");
  };
  // The server may still be starting: a first connection can be reset.
  ShellResult first;
  for (int i = 0; i < 100; ++i) {
    first = get(1);
    if (first.out == "1 []\n") break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(first.out, "1 []\n") << first.out;
  // 6 MiB up, the hash back after the client's half-close.
  ShellResult upload = client(
      "import socket, hashlib, os\n"
      "data = os.urandom(6 << 20)\n"
      "s = socket.create_connection((\"127.0.0.1\", 9000), 5)\n"
      "s.settimeout(50)\n"
      "s.sendall(data)\n"
      "s.shutdown(socket.SHUT_WR)\n"
      "got = b\"\"\n"
      "while True:\n"
      "    more = s.recv(65536)\n"
      "    if not more: break\n"
      "    got += more\n"
      "want = hashlib.md5(data).hexdigest()\n"
      "print(\"same\" if got.split()[0].decode() == want else \"differs: \" + got.decode() + \" \" + want)\n");
  EXPECT_EQ(upload.out, "same\n") << upload.out;
  // Nothing listens on 7070 in the guest: the client's connection is
  // reset (at once, or while its connect was still being answered), it
  // does not hang.
  ShellResult nothing = client(
      "import socket\n"
      "try:\n"
      "    s = socket.create_connection((\"127.0.0.1\", 7070), 5)\n"
      "    s.settimeout(20)\n"
      "    print(\"data\" if s.recv(10) else \"closed\")\n"
      "except ConnectionResetError:\n"
      "    print(\"reset\")\n");
  EXPECT_EQ(nothing.out, "reset\n");
  // Twenty at once.
  ShellResult many = get(20);
  EXPECT_EQ(many.out, "20 []\n") << many.out;
  ShellResult deleted = shell(runvm + " delete --force pf 2>&1");
  EXPECT_EQ(deleted.status, 0) << deleted.out;
  ShellResult after = client(
      "import socket\n"
      "try:\n"
      "    socket.create_connection((\"127.0.0.1\", 8080), 5)\n"
      "    print(\"connected\")\n"
      "except ConnectionRefusedError:\n"
      "    print(\"refused\")\n");
  EXPECT_EQ(after.out, "refused\n") << "the redirect outlived the container: " << after.out;
  ::unlink(log.c_str());
}

TEST_F(NetworkTest, HostNetworkIsRefusedWithTheReason) {
  bundle_.config()["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "mount"}}};
  RunResult r = run("true");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "host's network")) << r.err;
}

// A namespace whose interfaces another VM carries is never taken over by a
// second VM: its taps stay with the first, which keeps working. (A container
// that joins a running runvm container's namespace under the same root runs
// in that container's VM instead: pod_test.cc.)
TEST_F(NetworkTest, ANamespaceAnotherVmCarriesIsRefused) {
  bundle_.set_args({"sleep", "60"});
  bundle_.write_config();
  // The container keeps create's stdio: files, not the harness's pipes.
  std::string out = root_.path() + ".create-out";
  int created = std::system(("timeout 150 " + runvm_binary() + " --root " + root_.path() +
                             " create --bundle " + bundle_.path() + " c1 >" + out + " 2>&1 </dev/null")
                                .c_str());
  std::ifstream create_log(out);
  std::string create_text((std::istreambuf_iterator<char>(create_log)), {});
  ::unlink(out.c_str());
  ASSERT_EQ(created, 0) << create_text;
  // Under the same root, a container joins a running VM (a pod's,
  // pod_test.cc); one that is only created is no VM to join yet.
  RunResult second = run("true", "c2");
  EXPECT_NE(second.exit_code, 0);
  EXPECT_TRUE(contains(second.err, "it is created, and containers join only a running VM")) << second.err;
  // Under another root, runvm knows no container that owns the VM: the
  // namespace's taps say another VM carries it.
  TempDir other_root;
  bundle_.set_args({"true"});
  bundle_.write_config();
  RunResult elsewhere = run_runvm({"--root", other_root.path(), "run", "--bundle", bundle_.path(), "c3"});
  EXPECT_NE(elsewhere.exit_code, 0);
  EXPECT_TRUE(contains(elsewhere.err, "already carried by another runvm VM")) << elsewhere.err;
  std::string links = sh("ip -n " + ns_ + " -o link");
  EXPECT_TRUE(contains(links, "runvm-tap0")) << "the first container's tap stays:\n" << links;
  EXPECT_EQ(run_runvm({"--root", root_.path(), "delete", "--force", "c1"}).exit_code, 0);
}


// `docker network connect` and `disconnect` on a running container, as the
// engine does them: a veth appears in (or leaves) the namespace while the
// VM runs. The VM boots with two spare NICs, out of the container's sight;
// a new interface takes one, with its MAC, MTU, address and route, and
// traffic flows; a removed one gives its NIC back for the next. An
// interface beyond the spares is not carried, and the monitor says why.
// (Two spares by annotation; the default is one.)
TEST_F(NetworkTest, InterfacesAddedAndRemovedWhileRunningFollowIntoTheGuest) {
  bundle_.config()["annotations"] = {{"io.runvm.network.spare-interfaces", "2"}};
  bundle_.set_args({"sleep", "600"});
  bundle_.write_config();
  std::string runvm = runvm_binary() + " --root " + root_.path();
  // The monitor logs where --log says, as runc does (Docker reads it).
  std::string log = root_.path() + ".runvm.log";
  struct Unlink {
    std::string path;
    ~Unlink() { ::unlink(path.c_str()); }
  } remove_log{log};
  ShellResult created = create_and_start(runvm + " --log " + log, bundle_.path(), "c1", "/dev/null");
  ASSERT_EQ(created.status, 0) << created.out;
  auto guest = [&](const std::string& command) { return shell(runvm + " exec c1 " + command); };
  auto guest_links = [&] { return guest("busybox ip -o link").out; };
  // Waits (up to 30 s) until the guest's `ip -o addr` does (or does not) show `text`.
  auto await_addr = [&](const std::string& text, bool present) {
    std::string seen;
    for (int i = 0; i < 150; ++i) {
      seen = guest("busybox ip -o addr").out;
      if (contains(seen, text) == present) return true;
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "waiting for " << text << (present ? "" : " to go") << "; the guest has:\n" << seen;
    return false;
  };
  auto add_interface = [&](const std::string& name, int n, int mtu) {
    std::string peer = "peer" + std::to_string(n), net = "10.7" + std::to_string(n) + ".0.";
    sh("ip -n " + ns_ + " link add " + name + " type veth peer name " + peer + " netns " + peer_);
    sh("ip -n " + peer_ + " link set " + peer + " mtu " + std::to_string(mtu) + " up");
    sh("ip -n " + peer_ + " addr add " + net + "1/24 dev " + peer);
    sh("ip -n " + ns_ + " link set " + name + " address 02:77:00:00:0" + std::to_string(n) + ":02 mtu " +
       std::to_string(mtu) + " up");
    sh("ip -n " + ns_ + " addr add " + net + "2/24 dev " + name);
  };
  std::string before = guest_links();
  EXPECT_EQ(std::count(before.begin(), before.end(), '\n'), 2) << "lo and eth0 only; spares unseen:\n" << before;

  add_interface("eth1", 8, 1300);
  ASSERT_TRUE(await_addr("eth1    inet 10.78.0.2/24", true));
  EXPECT_TRUE(contains(guest("busybox ip -o link show dev eth1").out, "mtu 1300"));
  EXPECT_TRUE(contains(guest("busybox ip -o link show dev eth1").out, "ether 02:77:00:00:08:02"));
  ShellResult ping = guest("busybox ping -c 1 -W 10 10.78.0.1");
  EXPECT_EQ(ping.status, 0) << ping.out;
  EXPECT_EQ(guest("busybox ping -c 1 -W 10 10.77.0.1").status, 0) << "eth0 still works";

  sh("ip -n " + ns_ + " link del eth1");
  ASSERT_TRUE(await_addr("10.78.0.2", false));
  EXPECT_FALSE(contains(guest_links(), "eth1")) << guest_links();

  // Both spares again (eth1's NIC came back), and then none.
  add_interface("eth2", 5, 1500);
  add_interface("eth3", 6, 1500);
  add_interface("eth4", 9, 1500);
  ASSERT_TRUE(await_addr("eth2    inet 10.75.0.2/24", true));
  ASSERT_TRUE(await_addr("eth3    inet 10.76.0.2/24", true));
  EXPECT_EQ(guest("busybox ping -c 1 -W 10 10.76.0.1").status, 0);
  std::string log_text;
  for (int i = 0; i < 50 && !contains(log_text, "eth4 was added"); ++i) {
    std::this_thread::sleep_for(200ms);
    std::ifstream monitor_log(log);
    log_text.assign(std::istreambuf_iterator<char>(monitor_log), {});
  }
  EXPECT_TRUE(contains(log_text, "eth4 was added to the running container, but its VM has no spare network "
                                 "interface left")) << log_text;
  EXPECT_FALSE(contains(guest_links(), "eth4"));
  EXPECT_EQ(shell(runvm + " delete --force c1").status, 0);
  for (const char* name : {"eth2", "eth3", "eth4"}) {
    std::string qdiscs = sh("tc -n " + ns_ + " qdisc show dev " + name);
    EXPECT_FALSE(contains(qdiscs, "ingress")) << name << ": " << qdiscs;
  }
}

// A monitor killed with SIGKILL cannot remove its redirects; the namespace,
// joined by path, outlives it. `delete` removes them: after it, the
// namespace is as the test made it (TearDown checks), and a new container
// can be wired there.
TEST_F(NetworkTest, DeleteAfterAKilledMonitorRemovesItsRedirects) {
  bundle_.set_args({"sleep", "600"});
  bundle_.write_config();
  std::string runvm = runvm_binary() + " --root " + root_.path();
  ShellResult created = create_and_start(runvm, bundle_.path(), "c1", "/dev/null");
  ASSERT_EQ(created.status, 0) << created.out;
  auto state = nlohmann::json::parse(shell(runvm + " state c1").out, nullptr, false);
  pid_t monitor = state.value("pid", 0);
  ASSERT_GT(monitor, 0);
  ASSERT_EQ(::kill(monitor, SIGKILL), 0);
  for (int i = 0; i < 50 && ::kill(monitor, 0) == 0; ++i) std::this_thread::sleep_for(100ms);
  std::string qdiscs = sh("tc -n " + ns_ + " qdisc show dev eth0");
  EXPECT_TRUE(contains(qdiscs, "ingress")) << "the killed monitor's redirect is still there:\n" << qdiscs;
  EXPECT_EQ(shell(runvm + " delete c1").status, 0);
  qdiscs = sh("tc -n " + ns_ + " qdisc show dev eth0");
  EXPECT_FALSE(contains(qdiscs, "ingress")) << qdiscs;
  RunResult again = run("busybox ping -c 1 -W 10 10.77.0.1 >/dev/null && echo ping-ok", "c2");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "ping-ok")) << again.out;
}

// Docker's embedded DNS, as the relay meets it: a server on 127.0.0.11 in
// the container's namespace, UDP and TCP at ports of its own. In the VM a
// client asks 127.0.0.11:53 over UDP, and over TCP (what a resolver falls
// back to for an answer too large for a datagram), and gets the server's
// answers whole; here a stand-in server answers 1,012 bytes over TCP.
TEST_F(NetworkTest, EmbeddedDnsAnswersOverUdpAndTcp) {
  sh("ip -n " + ns_ + " link set lo up");
  pid_t server = ::fork();
  if (server == 0) {
    ::execlp("ip", "ip", "netns", "exec", ns_.c_str(), "python3", "-c",
             "import socket, threading\n"
             "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.11', 45353))\n"
             "t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "t.bind(('127.0.0.11', 45354)); t.listen(4)\n"
             // A real answer over UDP (busybox's nslookup is the client): the
             // query's ID and question, and an A record 10.1.2.3 for an A query.
             "def reply(q):\n"
             "    i = 12\n"
             "    while q[i]: i += q[i] + 1\n"
             "    question = q[12:i + 5]\n"
             "    a = question[-4:-2] == b'\\x00\\x01'\n"
             "    head = q[:2] + b'\\x81\\x80\\x00\\x01\\x00' + (b'\\x01' if a else b'\\x00') + b'\\x00\\x00\\x00\\x00'\n"
             "    answer = b'\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04\\x0a\\x01\\x02\\x03'\n"
             "    return head + question + (answer if a else b'')\n"
             "def udp():\n"
             "    while True:\n"
             "        d, a = u.recvfrom(4096); u.sendto(reply(d), a)\n"
             "threading.Thread(target=udp, daemon=True).start()\n"
             "while True:\n"
             "    c, _ = t.accept(); b = b''\n"
             "    while len(b) < 2 or len(b) < 2 + int.from_bytes(b[:2], 'big'): b += c.recv(4096)\n"
             "    a = b'answer:' + b[2:] + b'x' * 1000\n"
             "    c.sendall(len(a).to_bytes(2, 'big') + a); c.close()\n",
             nullptr);
    ::_exit(127);
  }
  std::this_thread::sleep_for(700ms);
  RunResult r = run(
      "busybox nslookup some-container 127.0.0.11; "
      "(printf '\\000\\005hello'; busybox sleep 3) | busybox nc -w 5 127.0.0.11 53 > /tmp/answer; "
      "echo tcp-bytes=$(busybox wc -c < /tmp/answer); "
      "echo tcp=$(busybox tail -c +3 /tmp/answer | busybox head -c 12)");
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Address: 10.1.2.3")) << "the answer over UDP:\n" << r.out;
  EXPECT_TRUE(contains(r.out, "tcp-bytes=1014\n")) << "2 + 1012 bytes, length-prefixed:\n" << r.out;
  EXPECT_TRUE(contains(r.out, "tcp=answer:hello\n")) << r.out;
}
}  // namespace
}  // namespace runvm::testing
