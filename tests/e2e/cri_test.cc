// Kubernetes pods on runvm, driven the way a kubelet drives them: a CRI v1
// client (tests/e2e/cri/) talks gRPC to a private containerd 1.6 whose CRI
// plugin runs pods with runvm (the README's runtime config: the runc shim
// with BinaryName = runvm) and gives them a network with the CNI bridge
// plugin. One pod is one VM: the pause (sandbox) container boots it and the
// pod's containers join it.
//
// The node: the test makes a network namespace of its own and runs
// containerd in it with `nsenter --net` (never `ip netns exec`, which
// remounts /sys), so the CNI bridge, the pods' veths and containerd's
// streaming server live there and nothing touches the host's network.
// containerd has its own root, state, socket, CNI config and IPAM store,
// and runvm its own --root; the images are OCI archives built here from
// busybox-static and imported with `ctr`. Each TEST stands alone (ctest runs
// each in its own process): it makes its own pods, and its TearDown removes
// them through the CRI and checks nothing of them is left; the suite's
// teardown stops containerd and removes the namespace, the cgroups and the
// directories, and checks that too. Every call and command has a deadline.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/e2e/cri/cri_client.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/readme_snippets.h"
#include "tests/integration/harness.h"

namespace runvm::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using cri::CriClient;
namespace v1 = cri::v1;
using e2e::Cmd;
using e2e::contains;
using e2e::run;
using e2e::slurp;
using e2e::tail;

// The runtime handler (RuntimeClass handler) the README's config names.
constexpr const char* kHandler = "runvm";
constexpr const char* kCriNamespace = "k8s.io";
// The images this suite builds: busybox with all its applets (it serves as
// the pause image too), and one with only /bin/busybox (no tar, no sh).
constexpr const char* kBusyboxImage = "docker.io/library/runvm-cri-busybox:1";
constexpr const char* kBareImage = "docker.io/library/runvm-cri-bare:1";

using e2e::find_in_path;

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Cmd sh(const std::string& line, std::chrono::seconds limit = 60s) {
  return run({"/bin/sh", "-c", line}, "", limit);
}

using e2e::cgroup_hierarchies;

// The directories below `dir` (not `dir` itself), deepest first.
std::vector<std::string> subdirs_deepest_first(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& name : list_dir(dir)) {
    std::string p = dir + "/" + name;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    for (auto& below : subdirs_deepest_first(p)) out.push_back(below);
    out.push_back(p);
  }
  return out;
}

using e2e::mounts_under;

std::string sha256_of(const std::string& path) {
  Cmd r = run({"/usr/bin/sha256sum", path}, "", 120s);
  return r.code == 0 ? r.out.substr(0, 64) : "";
}

// ---- Images: OCI image layouts built from busybox-static ----------------

// A rootfs with /bin/busybox; with `applets`, a link in /bin for every
// applet busybox has (sh, tar, httpd, nc, ...), without none at all.
void make_rootfs(const std::string& root, bool applets) {
  for (const char* d : {"", "/bin", "/etc", "/tmp", "/proc", "/sys", "/dev", "/root"})
    ::mkdir((root + d).c_str(), 0755);
  ::chmod((root + "/tmp").c_str(), 01777);
  std::string busybox = e2e::first_executable({"/bin/busybox", "/usr/bin/busybox"});
  if (busybox.empty()) throw std::runtime_error("busybox-static is not installed");
  if (std::system(("cp " + quote(busybox) + " " + quote(root + "/bin/busybox")).c_str()) != 0)
    throw std::runtime_error("cannot copy busybox");
  if (applets) {
    std::istringstream names(run({busybox, "--list"}, "", 10s).out);
    for (std::string name; std::getline(names, name);)
      if (!name.empty() && name != "busybox")
        (void)!::symlink("busybox", (root + "/bin/" + name).c_str());
  }
  std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  std::ofstream(root + "/etc/group") << "root:x:0:\n";
}

// Moves `file` into LAYOUT/blobs/sha256/ under its digest; {digest, size}.
std::pair<std::string, size_t> add_blob(const std::string& layout, const std::string& file) {
  std::string hex = sha256_of(file);
  if (hex.size() != 64) throw std::runtime_error("sha256sum failed on " + file);
  struct stat st {};
  ::stat(file.c_str(), &st);
  std::string blobs = layout + "/blobs/sha256";
  if (std::system(("mkdir -p " + quote(blobs) + " && mv " + quote(file) + " " + quote(blobs + "/" + hex)).c_str()))
    throw std::runtime_error("cannot store blob " + file);
  return {"sha256:" + hex, static_cast<size_t>(st.st_size)};
}

std::pair<std::string, size_t> add_json_blob(const std::string& layout, const nlohmann::json& j) {
  std::string file = layout + "/blob.tmp";
  std::ofstream(file) << j.dump();
  return add_blob(layout, file);
}

// An OCI image archive (oci-layout, index.json, blobs) for `ctr images
// import`: one uncompressed layer, the tar of `rootfs`; named `ref` by the
// io.containerd.image.name annotation; `cmd` as its CMD. Returns its path.
std::string make_oci_archive(const std::string& work, const std::string& rootfs, const std::string& ref,
                             const std::vector<std::string>& cmd) {
  std::string layout = work + "/layout";
  ::mkdir(layout.c_str(), 0755);
  std::string layer = layout + "/layer.tar";
  if (std::system(("tar --numeric-owner --owner=0 --group=0 -C " + quote(rootfs) + " -cf " + quote(layer) + " .")
                      .c_str()))
    throw std::runtime_error("tar of " + rootfs + " failed");
  auto [layer_digest, layer_size] = add_blob(layout, layer);
  nlohmann::json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
                  {"Cmd", cmd},
                  {"WorkingDir", "/"}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}}};
  auto [config_digest, config_size] = add_json_blob(layout, config);
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                  {"digest", config_digest},
                  {"size", config_size}}},
      {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                   {"digest", layer_digest},
                   {"size", layer_size}}}}};
  auto [manifest_digest, manifest_size] = add_json_blob(layout, manifest);
  nlohmann::json index = {
      {"schemaVersion", 2},
      {"manifests", {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                      {"digest", manifest_digest},
                      {"size", manifest_size},
                      {"platform", {{"architecture", "amd64"}, {"os", "linux"}}},
                      {"annotations", {{"io.containerd.image.name", ref},
                                       {"org.opencontainers.image.ref.name", "1"}}}}}}};
  std::ofstream(layout + "/index.json") << index.dump();
  std::ofstream(layout + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
  std::string archive = work + "/image.tar";
  if (std::system(("tar -C " + quote(layout) + " -cf " + quote(archive) + " oci-layout index.json blobs").c_str()))
    throw std::runtime_error("tar of the OCI layout failed");
  return archive;
}

// ---- Port-forward: a minimal websocket client for containerd's streaming
// server (k8s.io/kubelet cri/streaming/portforward/websocket.go): subprotocol
// v4.channel.k8s.io, binary frames whose first byte is the channel (per port:
// 0 data, 1 error), the first frame on each channel carrying the port as two
// bytes little-endian.

// A TCP socket made in the network namespace at `netns` (containerd's
// streaming server listens on 127.0.0.1 there); -1 on failure.
int socket_in_netns(const std::string& netns) {
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = ::open(netns.c_str(), O_RDONLY | O_CLOEXEC);
  int fd = -1;
  if (self >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (::setns(self, CLONE_NEWNET) != 0) std::abort();  // never go on in the wrong namespace
  }
  if (self >= 0) ::close(self);
  if (target >= 0) ::close(target);
  return fd;
}

struct Forwarded {
  std::string failure;          // why the exchange itself failed ("" if it did not)
  std::string data;             // what came back on the data channel, port prefix removed
  std::string error;            // the error channel's text, port prefix removed
  std::vector<int> port_prefixes;  // the ports the two channels announced
};

std::string ws_frame(uint8_t opcode, const std::string& payload) {
  std::string f(1, static_cast<char>(0x80 | opcode));
  size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
  }
  const unsigned char mask[4] = {0x5a, 0x13, 0xc7, 0x2e};
  for (unsigned char m : mask) f += static_cast<char>(m);
  for (size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

// Connects to `url` (http://HOST:PORT/PATH from PortForward) from `netns`,
// upgrades to a websocket, sends `request` on port `port`'s data channel and
// reads until the server closes or `limit` passes.
Forwarded port_forward_exchange(const std::string& netns, const std::string& url, int port,
                                const std::string& request, std::chrono::seconds limit) {
  Forwarded out;
  auto deadline = Clock::now() + limit;
  auto left_ms = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<long long>(ms, 0));
  };
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return {"not an http:// URL: " + url};
  size_t slash = url.find('/', scheme.size());
  std::string hostport = url.substr(scheme.size(), slash - scheme.size());
  std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return {"no port in " + url};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
  if (::inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return {"not an IPv4 address: " + hostport};
  int fd = socket_in_netns(netns);
  if (fd < 0) return {"cannot make a socket in " + netns};
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
    return {"connect " + hostport + ": " + std::strerror(errno)};
  auto send_all = [&](const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, left_ms()) <= 0) return false;
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
      if (n > 0) sent += static_cast<size_t>(n);
    }
    return true;
  };
  std::string buf;
  bool eof = false;
  auto read_more = [&] {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, std::min(left_ms(), 200)) <= 0) return;
    char chunk[65536];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) buf.append(chunk, static_cast<size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) eof = true;
  };
  std::string sep = path.find('?') == std::string::npos ? "?" : "&";
  if (!send_all("GET " + path + sep + "port=" + std::to_string(port) + " HTTP/1.1\r\n" +
                "Host: " + hostport + "\r\n" +
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n"))
    return {"cannot send the upgrade request (connect to " + hostport + " failed?)"};
  size_t header_end;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos && !eof && left_ms() > 0) read_more();
  if (header_end == std::string::npos) return {"no HTTP answer to the upgrade; got: " + buf};
  std::string head = buf.substr(0, header_end);
  buf.erase(0, header_end + 4);
  if (head.rfind("HTTP/1.1 101", 0) != 0) return {"the upgrade was refused:\n" + head + "\n" + buf};
  if (!send_all(ws_frame(0x2, std::string(1, '\0') + request))) return {"cannot send the request frame"};

  std::map<int, std::string> channels;  // channel -> bytes, prefixes included
  std::string message;                  // a fragmented message being assembled
  bool closed = false;
  while (!closed && left_ms() > 0) {
    // Parse every whole frame in buf.
    for (;;) {
      if (buf.size() < 2) break;
      auto b = [&](size_t i) { return static_cast<uint8_t>(buf[i]); };
      bool fin = b(0) & 0x80;
      int opcode = b(0) & 0x0f;
      bool masked = b(1) & 0x80;
      uint64_t len = b(1) & 0x7f;
      size_t at = 2;
      if (len == 126) {
        if (buf.size() < 4) break;
        len = (uint64_t{b(2)} << 8) | b(3);
        at = 4;
      } else if (len == 127) {
        if (buf.size() < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + i);
        at = 10;
      }
      size_t mask_at = at;
      if (masked) at += 4;
      if (buf.size() < at + len) break;
      std::string payload = buf.substr(at, len);
      if (masked)
        for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= buf[mask_at + i % 4];
      buf.erase(0, at + len);
      if (opcode == 0x8) {
        closed = true;
        break;
      }
      if (opcode == 0x9) {  // ping: answer with a pong
        send_all(ws_frame(0xA, payload));
        continue;
      }
      if (opcode != 0x0 && opcode != 0x1 && opcode != 0x2) continue;
      message += payload;
      if (!fin) continue;
      if (!message.empty()) channels[static_cast<uint8_t>(message[0])] += message.substr(1);
      message.clear();
    }
    if (closed || eof) break;
    read_more();
  }
  send_all(ws_frame(0x8, ""));
  for (int ch : {0, 1}) {
    std::string& s = channels[ch];
    if (s.size() >= 2) {
      out.port_prefixes.push_back(static_cast<uint8_t>(s[0]) | (static_cast<uint8_t>(s[1]) << 8));
      (ch == 0 ? out.data : out.error) = s.substr(2);
    }
  }
  if (!closed && !eof) out.failure = "the server did not close the stream within the deadline";
  return out;
}

// ---- The node: a network namespace with a private containerd (CRI on) ---

class CriTest : public ::testing::Test {
 protected:
  static std::string netns_name() { return "runvm-cri-" + std::to_string(::getpid()); }
  static std::string netns_path() { return "/run/netns/" + netns_name(); }
  static std::string bridge() { return "rvcri" + std::to_string(::getpid()); }
  static std::string network_name() { return "runvm-cri-" + std::to_string(::getpid()); }
  static std::string subnet_prefix() { return "10.88." + std::to_string(::getpid() % 250) + "."; }
  // The cgroup parent of every pod of this process (kubelet's /kubepods).
  static std::string cgroup_root() { return "runvm-cri-" + std::to_string(::getpid()); }
  static std::string address() { return *dir_ + "/containerd.sock"; }
  // runvm's --root: the runc shim's Root option joined with the namespace.
  static std::string runvm_root() { return *dir_ + "/runvm/" + kCriNamespace; }
  static std::string ipam_dir() { return *dir_ + "/ipam/" + network_name(); }
  static std::string log() { return slurp(*dir_ + "/containerd.log"); }
  static std::string ctr() { return find_in_path("ctr"); }

  static void SetUpTestSuite() {
    dir_ = new std::string(e2e::make_short_temp_dir("cri", 4));
    start_error_ = new std::string(set_up_node());
    if (start_error_->empty()) cri_ = new CriClient(address());
  }

  static std::string set_up_node() {
    std::string containerd = find_in_path("containerd");
    if (containerd.empty() || ctr().empty() || find_in_path("containerd-shim-runc-v2").empty())
      return "containerd, ctr or containerd-shim-runc-v2 is not installed (scripts/setup.sh)";
    for (const char* plugin : {"bridge", "host-local", "loopback"})
      if (::access((std::string("/usr/lib/cni/") + plugin).c_str(), X_OK) != 0)
        return std::string("CNI plugin /usr/lib/cni/") + plugin +
               " is missing (package containernetworking-plugins; scripts/setup.sh)";
    std::string ip = find_in_path("ip");
    sh(quote(ip) + " netns del " + netns_name() + " 2>/dev/null");
    Cmd made = sh(quote(ip) + " netns add " + netns_name() + " && " + quote(ip) + " -n " + netns_name() +
                  " link set lo up");
    if (made.code != 0) return "cannot make the node's network namespace " + netns_name() + ": " + made.err;
    netns_made_ = true;

    const std::string& d = *dir_;
    for (const char* sub : {"/root", "/state", "/opt", "/cni", "/ipam", "/pods", "/runvm", "/fifo", "/img"})
      ::mkdir((d + sub).c_str(), 0711);
    // CNI: a bridge of our own with host-local addresses (stored under our
    // dir); containerd adds the loopback network itself.
    nlohmann::json conflist = {
        {"cniVersion", "0.4.0"},
        {"name", network_name()},
        {"plugins",
         {{{"type", "bridge"},
           {"bridge", bridge()},
           {"isGateway", true},
           {"ipMasq", false},
           {"hairpinMode", true},
           {"ipam",
            {{"type", "host-local"},
             {"dataDir", d + "/ipam"},
             {"ranges", {{{{"subnet", subnet_prefix() + "0/24"}}}}},
             {"routes", {{{"dst", "0.0.0.0/0"}}}}}}}}}};
    std::ofstream(d + "/cni/10-runvm-cri.conflist") << conflist.dump(2);

    // containerd: its own dirs and socket, the CRI plugin on, and the
    // README's runtime config for runvm (with a Root of our own).
    std::string readme = e2e::readme_snippet("containerd-config-toml");
    if (readme.rfind("version = 2\n", 0) == 0) readme.erase(0, std::string("version = 2\n").size());
    std::ofstream(d + "/config.toml")
        << "version = 2\n"
        << "root = \"" << d << "/root\"\n"
        << "state = \"" << d << "/state\"\n"
        << "disabled_plugins = [\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.btrfs\", "
           "\"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.zfs\"]\n"
        << "[grpc]\n  address = \"" << address() << "\"\n"
        << "[ttrpc]\n  address = \"" << address() << ".ttrpc\"\n"
        << "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"" << d << "/opt\"\n"
        << "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
        << "  sandbox_image = \"" << kBusyboxImage << "\"\n"
        << "  stream_server_address = \"127.0.0.1\"\n"
        << "  stream_server_port = \"0\"\n"
        << "  netns_mounts_under_state_dir = true\n"
        << "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
        << "    default_runtime_name = \"" << kHandler << "\"\n"
        << "    snapshotter = \"overlayfs\"\n"
        << "  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
        << "    bin_dir = \"/usr/lib/cni\"\n"
        << "    conf_dir = \"" << d << "/cni\"\n"
        << readme << "    Root = \"" << d << "/runvm\"\n";

    std::vector<std::pair<std::string, std::string>> archives;
    try {
      std::string full = d + "/img/full", bare = d + "/img/bare";
      ::mkdir(full.c_str(), 0755);
      ::mkdir(bare.c_str(), 0755);
      make_rootfs(full + "/rootfs", true);
      make_rootfs(bare + "/rootfs", false);
      archives.emplace_back(kBusyboxImage, make_oci_archive(full, full + "/rootfs", kBusyboxImage, {"sleep", "1000000"}));
      archives.emplace_back(kBareImage,
                            make_oci_archive(bare, bare + "/rootfs", kBareImage, {"/bin/busybox", "sleep", "1000000"}));
    } catch (const std::exception& e) {
      return std::string("building the images failed: ") + e.what();
    }

    // (Made before the fork: the names hold the test's PID.)
    std::string net = "--net=" + netns_path(), config = d + "/config.toml";
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a crashed or timed-out test
      int null = ::open("/dev/null", O_RDONLY);
      int logfd = ::open((d + "/containerd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(null, 0);
      ::dup2(logfd, 1);
      ::dup2(logfd, 2);
      ::execl("/usr/bin/nsenter", "nsenter", net.c_str(), "--", containerd.c_str(), "--config", config.c_str(),
              nullptr);
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    containerd_pid_ = pid;
    CriClient probe(address());
    auto deadline = Clock::now() + 30s;
    bool ready = false;
    std::string why;
    while (Clock::now() < deadline && !ready) {
      int status;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        containerd_pid_ = -1;
        return "containerd exited at start:\n" + tail(log());
      }
      auto st = probe.status();
      if (st.ok()) {
        ready = true;
        for (const auto& c : st.value.status().conditions())
          if (!c.status()) {
            ready = false;
            why = c.type() + ": " + c.reason() + " " + c.message();
          }
      } else {
        why = st.error();
      }
      if (!ready) std::this_thread::sleep_for(200ms);
    }
    if (!ready) return "the CRI did not report RuntimeReady and NetworkReady within 30 s (" + why + "):\n" + tail(log());
    for (const auto& [ref, archive] : archives) {
      Cmd imported = run({ctr(), "--address", address(), "--namespace", kCriNamespace, "images", "import", archive}, "",
                         120s);
      if (imported.code != 0) return "ctr images import " + ref + " failed: " + imported.err;
      bool seen = wait_until([&] { return !probe.image_status(ref).value.image().id().empty(); }, 20s);
      if (!seen) return "the CRI does not see the imported image " + ref;
    }
    e2e::unmount_and_remove(d + "/img");
    return "";
  }

  static void TearDownTestSuite() {
    delete cri_;
    cri_ = nullptr;
    if (containerd_pid_ > 0) e2e::stop_daemon(containerd_pid_, 10s);
    containerd_pid_ = -1;
    // What a failed test may have left: shims (they name our socket) and
    // runvm monitors, QEMU and virtiofsd (they name our dirs).
    for (pid_t p : processes_mentioning(*dir_)) ::kill(p, SIGKILL);
    wait_until([] { return processes_mentioning(*dir_).empty(); }, 15s);
    EXPECT_TRUE(processes_mentioning(*dir_).empty()) << "a process naming " << *dir_ << " survived SIGKILL";
    e2e::unmount_and_remove(*dir_);
    struct stat st;
    EXPECT_NE(::stat(dir_->c_str(), &st), 0) << *dir_ << " could not be removed";
    if (netns_made_) sh(quote(find_in_path("ip")) + " netns del " + netns_name());
    Cmd netns = run({find_in_path("ip"), "netns", "list"}, "", 10s);
    EXPECT_FALSE(contains(netns.out, netns_name())) << netns.out;
    Cmd links = run({find_in_path("ip"), "-o", "link"}, "", 10s);
    EXPECT_FALSE(contains(links.out, bridge())) << "the pods' bridge went with the namespace:\n" << links.out;
    // The pods' cgroup parents (runtimes leave parents); their leaves were
    // checked gone after each pod.
    for (const auto& h : cgroup_hierarchies()) {
      std::string top = h + "/" + cgroup_root();
      for (const auto& sub : subdirs_deepest_first(top)) ::rmdir(sub.c_str());
      ::rmdir(top.c_str());
      EXPECT_NE(::access(top.c_str(), F_OK), 0) << "cgroup left: " << top;
    }
    // libcni's result cache (/var/lib/cni/results) holds an entry per
    // attachment until the pod's network is torn down.
    for (const auto& f : list_dir("/var/lib/cni/results")) {
      EXPECT_FALSE(contains(f, network_name())) << "CNI result cache left: /var/lib/cni/results/" << f;
      if (contains(f, network_name())) ::unlink(("/var/lib/cni/results/" + f).c_str());
    }
    delete dir_;
    delete start_error_;
    dir_ = start_error_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(*start_error_, "") << "the node (netns + containerd with CRI) did not come up"; }

  void TearDown() override {
    if (!cri_) return;
    if (HasFailure()) std::cerr << "--- containerd log (tail) ---\n" << tail(log(), 6000) << "\n";
    // Every pod stopped and removed through the CRI, as the kubelet does.
    auto pods = cri_->list_pod_sandbox();
    EXPECT_TRUE(pods.ok()) << pods.error();
    for (const auto& p : pods.value.items()) {
      auto stopped = cri_->stop_pod_sandbox(p.id());
      EXPECT_TRUE(stopped.ok()) << "StopPodSandbox " << p.id() << ": " << stopped.error();
      auto removed = cri_->remove_pod_sandbox(p.id());
      EXPECT_TRUE(removed.ok()) << "RemovePodSandbox " << p.id() << ": " << removed.error();
    }
    expect_nothing_left();
  }

  // After every pod is removed: nothing of them anywhere.
  void expect_nothing_left() {
    auto pods = cri_->list_pod_sandbox();
    EXPECT_EQ(pods.value.items_size(), 0) << "pods left in the CRI";
    auto containers = cri_->list_containers();
    EXPECT_EQ(containers.value.containers_size(), 0) << "containers left in the CRI";
    std::string procs = e2e::wait_no_runvm_processes(*dir_);
    EXPECT_EQ(procs, "") << "runvm monitors, QEMU or virtiofsd left";
    EXPECT_TRUE(wait_until([] { return processes_mentioning(address()).empty(); }, 15s))
        << "a containerd shim outlived its pod";
    EXPECT_TRUE(list_dir(runvm_root()).empty()) << "runvm state left under " << runvm_root();
    EXPECT_TRUE(mounts_under(*dir_).empty()) << "mounts left under " << *dir_ << ":\n"
                                             << [] {
                                                  std::string s;
                                                  for (const auto& m : mounts_under(*dir_)) s += m + "\n";
                                                  return s;
                                                }();
    for (const auto& f : list_dir(ipam_dir()))
      EXPECT_NE(f.rfind(subnet_prefix(), 0), 0u) << "pod address not released: " << ipam_dir() << "/" << f;
    for (const auto& h : cgroup_hierarchies())
      for (const auto& pod_parent : subdirs_deepest_first(h + "/" + cgroup_root()))
        for (const auto& id : ids_)
          EXPECT_FALSE(contains(pod_parent, id)) << "cgroup left: " << pod_parent;
  }

  // ---- What a kubelet sends ----

  // A pod's config as the kubelet writes it: metadata, hostname, a log
  // directory, a cgroup parent of the test's, pid namespace per container.
  v1::PodSandboxConfig pod_config(const std::string& name) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_uid(name + "-" + std::to_string(::getpid()));
    c.mutable_metadata()->set_namespace_("default");
    c.set_hostname(name);
    std::string logs = *dir_ + "/pods/default_" + name;
    ::mkdir(logs.c_str(), 0755);
    c.set_log_directory(logs);
    c.mutable_linux()->set_cgroup_parent("/" + cgroup_root() + "/" + name);
    c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::CONTAINER);
    return c;
  }

  // RunPodSandbox with the runvm handler; the pod's ID ("" on failure, with
  // the failure recorded).
  std::string run_pod(const v1::PodSandboxConfig& config) {
    auto r = cri_->run_pod_sandbox(config, kHandler);
    EXPECT_TRUE(r.ok()) << "RunPodSandbox: " << r.error();
    if (!r.ok()) return "";
    ids_.push_back(r.value.pod_sandbox_id());
    return r.value.pod_sandbox_id();
  }

  v1::ContainerConfig container_config(const v1::PodSandboxConfig& pod, const std::string& name,
                                       const std::string& image, const std::vector<std::string>& command,
                                       uint32_t attempt = 0) {
    v1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_attempt(attempt);
    c.mutable_image()->set_image(image);
    for (const auto& a : command) c.add_command(a);
    ::mkdir((pod.log_directory() + "/" + name).c_str(), 0755);
    c.set_log_path(name + "/" + std::to_string(attempt) + ".log");
    c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        pod.linux().security_context().namespace_options().pid());
    return c;
  }

  // CreateContainer + StartContainer; the container's ID ("" on failure).
  std::string start(const std::string& pod_id, const v1::PodSandboxConfig& pod, const v1::ContainerConfig& config) {
    auto created = cri_->create_container(pod_id, config, pod);
    EXPECT_TRUE(created.ok()) << "CreateContainer " << config.metadata().name() << ": " << created.error();
    if (!created.ok()) return "";
    std::string id = created.value.container_id();
    ids_.push_back(id);
    auto started = cri_->start_container(id);
    EXPECT_TRUE(started.ok()) << "StartContainer " << config.metadata().name() << ": " << started.error();
    return started.ok() ? id : "";
  }

  // Containers a (`sleep 1111111`) and b (`sleep 2222222`) started in the
  // pod, and what b, then a, find in /proc (their processes' command lines).
  struct Sleepers {
    std::string a, b, seen_by_b, seen_by_a;
  };
  Sleepers start_sleepers(const std::string& pod_id, const v1::PodSandboxConfig& pod) {
    Sleepers s;
    s.a = start(pod_id, pod, container_config(pod, "a", kBusyboxImage, {"sleep", "1111111"}));
    s.b = start(pod_id, pod, container_config(pod, "b", kBusyboxImage, {"sleep", "2222222"}));
    if (s.a.empty() || s.b.empty()) return s;
    std::string cmdlines = "cat /proc/[0-9]*/cmdline | tr '\\0' ' '";
    Exec in_b = exec(s.b, {"sh", "-c", cmdlines}), in_a = exec(s.a, {"sh", "-c", cmdlines});
    s.seen_by_b = in_b.out + in_b.err;
    s.seen_by_a = in_a.out + in_a.err;
    return s;
  }

  v1::ContainerStatus status_of(const std::string& id) { return cri_->container_status(id).value.status(); }

  bool wait_for_state(const std::string& id, v1::ContainerState state, std::chrono::seconds limit = 60s) {
    return wait_until([&] { return status_of(id).state() == state; }, limit);
  }

  struct Exec {
    std::string error;  // the gRPC call's failure ("" if it answered)
    int code = -1;
    std::string out, err;
  };
  Exec exec(const std::string& id, const std::vector<std::string>& cmd, int64_t timeout_s = 30) {
    auto r = cri_->exec_sync(id, cmd, timeout_s);
    return {r.error(), r.value.exit_code(), r.value.stdout(), r.value.stderr()};
  }

  // `ctr task exec` against the same containerd (the runc shim, then runvm
  // exec): a shell word list for a pipeline, as kubectl cp's exec with stdin.
  std::string ctr_exec(const std::string& id, const std::string& exec_id, const std::string& args) {
    return quote(ctr()) + " --address " + quote(address()) + " --namespace " + kCriNamespace +
           " task exec --fifo-dir " + quote(*dir_ + "/fifo") + " --exec-id " + exec_id + " " + id + " " + args;
  }

  // runvm's QEMU processes for this node's pods.
  std::vector<std::string> qemus() {
    std::vector<std::string> out;
    for (const auto& p : e2e::runvm_processes_mentioning(runvm_root())) {  // "PID: ARGV..."
      std::string argv = p.substr(p.find(": ") + 2);
      std::string argv0 = argv.substr(0, argv.find(' '));
      if (contains(argv0.substr(argv0.rfind('/') + 1), "qemu-system")) out.push_back(p);
    }
    return out;
  }

  // An HTTP GET of 127.0.0.1:8080/index.html with busybox nc, run in `id`.
  std::string fetch_from(const std::string& id, const std::string& host = "127.0.0.1") {
    return exec(id, {"sh", "-c", "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc " + host + " 8080"}, 20).out;
  }

  // The httpd container of the pod tests: serves /www/index.html on 8080.
  std::vector<std::string> httpd_command(const std::string& body) {
    return {"sh", "-c", "mkdir -p /www && echo " + body + " > /www/index.html && exec httpd -f -p 8080 -h /www"};
  }

  static std::string* dir_;
  static std::string* start_error_;
  static CriClient* cri_;
  static pid_t containerd_pid_;
  static bool netns_made_;
  std::vector<std::string> ids_;  // pods and containers this test made
};

std::string* CriTest::dir_ = nullptr;
std::string* CriTest::start_error_ = nullptr;
CriClient* CriTest::cri_ = nullptr;
pid_t CriTest::containerd_pid_ = -1;
bool CriTest::netns_made_ = false;

// (a) Two containers of one pod: they reach each other over localhost, the
// node reaches the pod's IP, both have the pod's hostname, and the pod is
// one VM.
TEST_F(CriTest, PodContainersShareLocalhostHostnameAndOneVm) {
  auto pod = pod_config("web");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string server = start(pod_id, pod, container_config(pod, "server", kBusyboxImage, httpd_command("hello-from-pod")));
  std::string client = start(pod_id, pod, container_config(pod, "client", kBusyboxImage, {"sleep", "1000000"}));
  ASSERT_FALSE(server.empty());
  ASSERT_FALSE(client.empty());
  EXPECT_TRUE(wait_for_state(server, v1::CONTAINER_RUNNING));
  EXPECT_TRUE(wait_for_state(client, v1::CONTAINER_RUNNING));

  EXPECT_TRUE(wait_until([&] { return contains(fetch_from(client), "hello-from-pod"); }, 30s))
      << "the client reaches the server over localhost; last answer:\n" << fetch_from(client);

  auto status = cri_->pod_sandbox_status(pod_id);
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ(status.value.status().state(), v1::SANDBOX_READY);
  std::string ip = status.value.status().network().ip();
  EXPECT_EQ(ip.rfind(subnet_prefix(), 0), 0u) << "the pod's IP is on the node's bridge: " << ip;
  Cmd from_node = run({"/usr/bin/nsenter", "--net=" + netns_path(), "--", "/usr/bin/wget", "-qO-", "-T", "10",
                       "http://" + ip + ":8080/index.html"},
                      "", 30s);
  EXPECT_EQ(from_node.out, "hello-from-pod\n") << "the node reaches the pod's IP: " << from_node.err;

  for (const auto& id : {server, client}) {
    Exec h = exec(id, {"hostname"});
    EXPECT_EQ(h.error, "");
    EXPECT_EQ(h.out, "web\n") << "the pod's hostname in " << id;
  }
  auto vms = qemus();
  EXPECT_EQ(vms.size(), 1u) << "one VM for the pod (pause, server, client):\n" << [&] {
    std::string s;
    for (const auto& v : vms) s += v + "\n";
    return s;
  }();
}

// (b) The pod's sysctls (namespaced ones, set on the sandbox by the CRI)
// read back in every container of the pod.
TEST_F(CriTest, PodSysctlsReadBackInEveryContainer) {
  auto pod = pod_config("tuned");
  auto& sysctls = *pod.mutable_linux()->mutable_sysctls();
  sysctls["kernel.shm_rmid_forced"] = "1";
  sysctls["fs.mqueue.msg_max"] = "64";
  sysctls["net.ipv4.ip_unprivileged_port_start"] = "100";
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string a = start(pod_id, pod, container_config(pod, "a", kBusyboxImage, {"sleep", "1000000"}));
  std::string b = start(pod_id, pod, container_config(pod, "b", kBusyboxImage, {"sleep", "1000000"}));
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  for (const auto& [id, name] : {std::pair{a, "a"}, std::pair{b, "b"}}) {
    SCOPED_TRACE(std::string("container ") + name);
    for (const auto& [key, want] : sysctls) {
      std::string path = "/proc/sys/" + key;
      std::replace(path.begin(), path.end(), '.', '/');
      Exec r = exec(id, {"cat", path});
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.out, want + "\n") << key << " (" << path << "): " << r.err;
    }
  }
}

// (c) ExecSync: the exit code, stdout and stderr apart, a signal's status,
// and a timeout that ends the command, after which the container still
// answers.
TEST_F(CriTest, ExecSyncGivesExitCodeAndStdoutAndStderrApart) {
  auto pod = pod_config("execs");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string id = start(pod_id, pod, container_config(pod, "box", kBusyboxImage, {"sleep", "1000000"}));
  ASSERT_FALSE(id.empty());

  Exec ok = exec(id, {"echo", "fine"});
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.code, 0);
  EXPECT_EQ(ok.out, "fine\n");
  EXPECT_EQ(ok.err, "");

  Exec mixed = exec(id, {"sh", "-c", "echo to-out; echo to-err >&2; exit 7"});
  EXPECT_EQ(mixed.error, "");
  EXPECT_EQ(mixed.code, 7);
  EXPECT_EQ(mixed.out, "to-out\n");
  EXPECT_EQ(mixed.err, "to-err\n");

  Exec killed = exec(id, {"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(killed.error, "");
  EXPECT_EQ(killed.code, 137) << "128 + SIGKILL";

  Exec slow = exec(id, {"sleep", "60"}, 2);
  EXPECT_TRUE(contains(slow.error, "timeout")) << "ExecSync's timeout ends the command: " << slow.error
                                               << " (code " << slow.code << ")";
  Exec after = exec(id, {"echo", "still-here"});
  EXPECT_EQ(after.out, "still-here\n") << after.error;
}

// (c) kubectl cp's exec with stdin (`tar cf - | exec -i tar xf -` and
// back), through `ctr task exec` against the same containerd: in a
// container whose image has tar (busybox's), and in one whose image has
// neither tar nor sh (runvm's agent serves tar), 0 B, 1 MiB and 100 MiB,
// compared by sha256.
TEST_F(CriTest, KubectlCpThroughExecWithStdin) {
  auto pod = pod_config("copy");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string full = start(pod_id, pod, container_config(pod, "full", kBusyboxImage, {"sleep", "1000000"}));
  std::string bare =
      start(pod_id, pod, container_config(pod, "bare", kBareImage, {"/bin/busybox", "sleep", "1000000"}));
  ASSERT_FALSE(full.empty());
  ASSERT_FALSE(bare.empty());
  Exec no_tar = exec(bare, {"/bin/busybox", "ls", "/bin"});
  EXPECT_EQ(no_tar.out, "busybox\n") << "the bare image has no tar or sh: " << no_tar.err;

  std::string work = e2e::make_short_temp_dir("cp", 4);
  int n = 0;
  for (const auto& [id, label] : {std::pair{full, "image with tar"}, std::pair{bare, "image without tar"}}) {
    for (size_t size : {size_t{0}, size_t{1} << 20, size_t{100} << 20}) {
      if (id == full && size > (size_t{1} << 20)) continue;  // the big one once, where runvm's tar serves it
      SCOPED_TRACE(std::string(label) + ", " + std::to_string(size) + " bytes");
      std::string name = "f" + std::to_string(size);
      ASSERT_EQ(sh("head -c " + std::to_string(size) + " /dev/urandom > " + work + "/" + name).code, 0);
      std::string sum = sha256_of(work + "/" + name);
      // kubectl cp LOCAL POD:/tmp/ -> `tar -xmf - -C /tmp` with stdin.
      Cmd in = sh("tar cf - -C " + work + " " + name + " | timeout 300 " +
                      ctr_exec(id, "cpin" + std::to_string(++n), "tar -xmf - -C /tmp"),
                  330s);
      EXPECT_EQ(in.code, 0) << in.err;
      // kubectl cp POD:/tmp/NAME LOCAL -> `tar cf - /tmp/NAME`.
      std::string back = work + "/back" + std::to_string(n);
      ::mkdir(back.c_str(), 0755);
      Cmd out = sh("timeout 300 " + ctr_exec(id, "cpout" + std::to_string(n), "tar cf - /tmp/" + name) +
                       " | tar xf - -C " + back,
                   330s);
      EXPECT_EQ(out.code, 0) << out.err;
      EXPECT_EQ(sha256_of(back + "/tmp/" + name), sum) << "the same bytes came back";
      ::unlink((work + "/" + name).c_str());
      sh("rm -rf " + quote(back));
    }
  }
  e2e::unmount_and_remove(work);
}

// (d) The container's log file (log_directory/log_path) has the CRI log
// format's lines, stdout and stderr apart.
TEST_F(CriTest, ContainerLogHasStdoutAndStderrLinesApart) {
  auto pod = pod_config("logs");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  auto config = container_config(pod, "talker", kBusyboxImage,
                                 {"sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep 1000000"});
  std::string id = start(pod_id, pod, config);
  ASSERT_FALSE(id.empty());
  std::string path = pod.log_directory() + "/" + config.log_path();
  EXPECT_EQ(status_of(id).log_path(), path);
  auto lines_of = [&] {
    std::vector<std::vector<std::string>> out;  // {time, stream, tag, message}
    std::istringstream in(slurp(path));
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f;
      size_t at = 0;
      for (int i = 0; i < 3 && at != std::string::npos; ++i) {
        size_t sp = line.find(' ', at);
        f.push_back(line.substr(at, sp == std::string::npos ? sp : sp - at));
        at = sp == std::string::npos ? sp : sp + 1;
      }
      f.push_back(at == std::string::npos ? "" : line.substr(at));
      out.push_back(f);
    }
    return out;
  };
  auto has = [&](const std::string& stream, const std::string& message) {
    for (const auto& f : lines_of())
      if (f.size() == 4 && f[1] == stream && f[2] == "F" && f[3] == message) return true;
    return false;
  };
  EXPECT_TRUE(wait_until([&] { return has("stdout", "to-stdout") && has("stderr", "to-stderr"); }, 30s))
      << path << ":\n" << slurp(path);
  EXPECT_FALSE(has("stderr", "to-stdout"));
  EXPECT_FALSE(has("stdout", "to-stderr"));
  for (const auto& f : lines_of())
    EXPECT_TRUE(f.size() == 4 && f[0].size() > 20 && f[0][4] == '-' && f[0].back() == 'Z')
        << "an RFC 3339 timestamp first: " << f[0];
}

// (e) A container that exits shows its exit code; it is removed and
// created again (attempt 1) in the same pod and runs again, while the pod's
// other container keeps running, untouched.
TEST_F(CriTest, ExitedContainerIsRecreatedWhileTheOtherKeepsRunning) {
  auto pod = pod_config("restarts");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string steady = start(pod_id, pod,
                             container_config(pod, "steady", kBusyboxImage,
                                              {"sh", "-c", "cat /proc/sys/kernel/random/uuid > /tmp/started; "
                                                           "exec sleep 1000000"}));
  ASSERT_FALSE(steady.empty());
  ASSERT_TRUE(wait_until([&] { return exec(steady, {"cat", "/tmp/started"}).out.size() > 30; }, 30s));
  std::string token = exec(steady, {"cat", "/tmp/started"}).out;
  int64_t steady_started = status_of(steady).started_at();

  for (uint32_t attempt : {0u, 1u}) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    auto config =
        container_config(pod, "once", kBusyboxImage, {"sh", "-c", "echo once; exit 3"}, attempt);
    std::string once = start(pod_id, pod, config);
    ASSERT_FALSE(once.empty());
    EXPECT_TRUE(wait_for_state(once, v1::CONTAINER_EXITED)) << "state " << status_of(once).state();
    auto st = status_of(once);
    EXPECT_EQ(st.exit_code(), 3);
    EXPECT_EQ(st.metadata().attempt(), attempt);
    EXPECT_NE(st.finished_at(), 0);
    EXPECT_TRUE(wait_until([&] { return contains(slurp(pod.log_directory() + "/" + config.log_path()), " stdout F once\n"); }, 10s))
        << "it ran: " << slurp(pod.log_directory() + "/" + config.log_path());
    auto removed = cri_->remove_container(once);
    EXPECT_TRUE(removed.ok()) << removed.error();
    EXPECT_FALSE(cri_->container_status(once).ok()) << "removed";
    EXPECT_EQ(status_of(steady).state(), v1::CONTAINER_RUNNING);
  }
  EXPECT_EQ(status_of(steady).started_at(), steady_started) << "the other container was not restarted";
  Exec still = exec(steady, {"cat", "/tmp/started"});
  EXPECT_EQ(still.out, token) << "the same process tree answers: " << still.error;
  EXPECT_EQ(qemus().size(), 1u) << "still one VM";
}

// (f) shareProcessNamespace: with the pod's and the containers' pid
// namespace POD, one container sees the other's processes.
TEST_F(CriTest, SharedProcessNamespaceShowsTheOtherContainersProcesses) {
  auto pod = pod_config("sharedpid");
  pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  Sleepers s = start_sleepers(pod_id, pod);
  ASSERT_FALSE(s.a.empty() || s.b.empty());
  EXPECT_TRUE(contains(s.seen_by_b, "sleep 1111111")) << "b sees a's process:\n" << s.seen_by_b;
  EXPECT_TRUE(contains(s.seen_by_b, "sleep 2222222")) << s.seen_by_b;
  EXPECT_TRUE(contains(s.seen_by_b, "sleep 1000000")) << "and the pause process:\n" << s.seen_by_b;
  Exec ps = exec(s.a, {"ps"});
  EXPECT_TRUE(contains(ps.out, "sleep 2222222")) << "a sees b's in ps:\n" << ps.out;
}

// (f) Without it (pid namespace CONTAINER, the kubelet's default), neither
// sees the other's processes.
TEST_F(CriTest, SeparateProcessNamespacesHideTheOtherContainersProcesses) {
  auto pod = pod_config("ownpid");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  Sleepers s = start_sleepers(pod_id, pod);
  ASSERT_FALSE(s.a.empty() || s.b.empty());
  EXPECT_TRUE(contains(s.seen_by_b, "sleep 2222222")) << s.seen_by_b;
  EXPECT_FALSE(contains(s.seen_by_b, "sleep 1111111")) << "b does not see a's process:\n" << s.seen_by_b;
  EXPECT_FALSE(contains(s.seen_by_b, "sleep 1000000")) << "nor the pause process:\n" << s.seen_by_b;
  EXPECT_TRUE(contains(s.seen_by_a, "sleep 1111111")) << s.seen_by_a;
  EXPECT_FALSE(contains(s.seen_by_a, "sleep 2222222")) << "a does not see b's process:\n" << s.seen_by_a;
}

// (g) kubectl port-forward: the CRI's PortForward gives a URL on
// containerd's streaming server; over its websocket a request reaches the
// pod's httpd on the pod's localhost and the answer comes back. containerd
// dials 127.0.0.1:PORT in the pod's network namespace on the host, so this
// needs runvm to relay that into the VM.
TEST_F(CriTest, PortForwardReachesTheHttpdInThePod) {
  auto pod = pod_config("forward");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string server =
      start(pod_id, pod, container_config(pod, "server", kBusyboxImage, httpd_command("forwarded-from-pod")));
  ASSERT_FALSE(server.empty());
  ASSERT_TRUE(wait_until([&] { return contains(fetch_from(server), "forwarded-from-pod"); }, 30s))
      << "httpd serves in the pod";
  auto url = cri_->port_forward(pod_id, 8080);
  ASSERT_TRUE(url.ok()) << "PortForward: " << url.error();
  Forwarded f = port_forward_exchange(netns_path(), url.value.url(), 8080,
                                      "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n", 60s);
  EXPECT_EQ(f.failure, "") << "URL " << url.value.url();
  EXPECT_EQ(f.port_prefixes, (std::vector<int>{8080, 8080})) << "each channel opens with the port";
  EXPECT_TRUE(contains(f.data, "200 OK") && contains(f.data, "forwarded-from-pod"))
      << "kubectl port-forward reaches the pod's httpd on its localhost.\n"
      << "data channel: " << f.data << "\nerror channel: " << f.error;
  EXPECT_EQ(f.error, "");
}

// (h) StopPodSandbox then RemovePodSandbox: the VM, the shim, runvm's
// state, the mounts, the network namespace, the pod's address and its
// cgroups are gone.
TEST_F(CriTest, StopAndRemovePodLeavesNothing) {
  auto pod = pod_config("gone");
  std::string pod_id = run_pod(pod);
  ASSERT_FALSE(pod_id.empty());
  std::string a = start(pod_id, pod, container_config(pod, "a", kBusyboxImage, {"sleep", "1000000"}));
  ASSERT_FALSE(a.empty());
  // Where things are while it runs, so that the checks below look in the
  // right places.
  EXPECT_EQ(qemus().size(), 1u);
  EXPECT_FALSE(list_dir(runvm_root()).empty());
  EXPECT_FALSE(mounts_under(*dir_).empty());
  std::string netns_dir = *dir_ + "/state/io.containerd.grpc.v1.cri/netns";
  EXPECT_EQ(list_dir(netns_dir).size(), 1u) << "the pod's network namespace under containerd's state";
  bool cgroups_found = false;
  for (const auto& h : cgroup_hierarchies())
    for (const auto& sub : subdirs_deepest_first(h + "/" + cgroup_root()))
      if (contains(sub, pod_id)) cgroups_found = true;
  EXPECT_TRUE(cgroups_found) << "the sandbox's cgroup under /" << cgroup_root();
  bool address_held = false;
  for (const auto& f : list_dir(ipam_dir())) address_held |= f.rfind(subnet_prefix(), 0) == 0;
  EXPECT_TRUE(address_held);

  auto stopped = cri_->stop_pod_sandbox(pod_id);
  ASSERT_TRUE(stopped.ok()) << stopped.error();
  EXPECT_EQ(status_of(a).state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(cri_->pod_sandbox_status(pod_id).value.status().state(), v1::SANDBOX_NOTREADY);
  EXPECT_EQ(e2e::wait_no_runvm_processes(runvm_root()), "") << "the pod's VM is gone once it is stopped";
  auto removed = cri_->remove_pod_sandbox(pod_id);
  ASSERT_TRUE(removed.ok()) << removed.error();
  EXPECT_FALSE(cri_->pod_sandbox_status(pod_id).ok()) << "the pod is gone from the CRI";
  EXPECT_TRUE(list_dir(netns_dir).empty()) << "the pod's network namespace is gone";
  expect_nothing_left();
}

}  // namespace
}  // namespace runvm::testing
