// The monitor: the host process that stands for one container. `runvm
// create` forks it (`runvm run` is it); it owns the VM, holds the only
// channel to the guest agent, relays the container's stdio, and serves the
// other commands (start, kill, exec, ps, pause, ...) over a message socket in
// the state directory. Its PID is the container's PID, its exit status the
// container's. See docs/ARCHITECTURE.md, "The monitor".
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "oci/spec.h"
#include "runtime/agent_link.h"
#include "proto/messages.h"
#include "runtime/container_state.h"
#include "runtime/control.h"
#include "runtime/fs_pressure.h"
#include "runtime/network.h"
#include "runtime/signal_route.h"
#include "runtime/stdio_relay.h"
#include "vm/qemu.h"

namespace runvm::runtime {

// The virtio-fs share through which containers that join a running VM get
// their rootfs and binds (docs/ARCHITECTURE.md, "Pods"): the owner's state
// directory's kPodDir, a shared mount.
inline constexpr const char* kPodShareTag = "pod";
inline constexpr const char* kPodDir = "pod";

// The control socket's name inside the state directory.
inline constexpr const char* kControlSocket = "control.sock";

// The exit status of a container whose VM died under it (QEMU, virtiofsd or
// the agent went away), as if it had been SIGKILLed.
inline constexpr int kVmLostExitStatus = 137;

// The create message for a container's spec (its process, root, mounts,
// limits, confinement), less what the VM decides: the process and
// container names, stdio and network.
msg::Create create_message(const oci::Spec& spec, std::vector<msg::BindShare> binds,
                           std::vector<oci::Device> devices);

// Makes `rootfs` this process's root in a mount namespace of its own, as a
// runc container's process has it (Monitor::enter_rootfs).
Status enter_rootfs(const std::string& rootfs);

struct MonitorConfig {
  ContainerState state;  // id, bundle, rootfs, created, annotations, hooks
  std::string state_dir;
  oci::Spec spec;
  vm::VmSpec vm;
  vm::QemuPaths qemu;
  std::chrono::milliseconds boot_timeout{60000};
  // A guest that stops answering (a hung or stopped VM) must not hang the
  // commands: a query (ps, stats, update, stat_path) and the probe sent
  // with an exec's signal fail after `answer_timeout`, and a SIGKILL whose
  // exit the guest has not reported after `kill_timeout` ends the container
  // by stopping the VM (docs/ARCHITECTURE.md, "Deadlines on the guest").
  std::chrono::milliseconds answer_timeout{10000};
  std::chrono::milliseconds kill_timeout{5000};
  std::vector<msg::BindShare> binds;  // the create message's (docs/protocol.md)
  std::vector<oci::Device> devices;   // likewise
  // The VMM; null: QEMU with `qemu`. Tests inject a fake (hostile-guest tier).
  std::shared_ptr<vm::VmmBackend> backend;
  ContainerNetwork network;  // its taps live as long as the monitor
  HostStdio init_io;
  bool init_tty_follows_winch = false;  // SIGWINCH resizes init's terminal
};

class Monitor {
 public:
  ~Monitor();

  // Boots the VM and prepares the container's process, not yet started
  // (status "created"). If the guest cannot prepare it (an exec error),
  // `start_exit_code` gets the status a shell would give (127, 126).
  static Result<std::unique_ptr<Monitor>> create(MonitorConfig config, int& start_exit_code);

  // Starts the prepared process, as `runvm start` asks.
  Status start();
  // Makes the container's rootfs this process's root, as a runc container's
  // process has it: tools that reach the container through /proc/<pid>/root
  // (podman cp) must land in the container, never on the host. From here on
  // the monitor uses no host path, only descriptors it holds.
  Status enter_rootfs();
  // Serves commands until the process exits and its output is written;
  // returns its exit status. The VM is stopped on return.
  int serve();

 private:
  struct Process;
  struct Client;
  struct Member;

  explicit Monitor(MonitorConfig config);

  // One round of the event loop, waiting at most `timeout_ms` (-1: no limit).
  Status step(int timeout_ms);
  Status handle_agent_events();
  // One handler per guest message (proto/messages.h).
  Status on_message(msg::GuestMessage& message);
  Status on_dns_query(const msg::DnsQuery& m);
  Status on_network_updated(const msg::NetworkUpdated& m);
  Status on_forward_failed(const msg::ForwardFailed& m);
  Status on_answer(uint64_t request, const control::Reply& answer);
  template <typename M>
  Status on_process_message(const M& m);
  Status watch_file_servers();
  Status follow_network();
  void on_client(Client& client);
  Status on_request(Client& client, const std::string& container, const control::Request& request,
                    std::vector<UniqueFd> fds);
  Status request_start(int client_fd);
  Status request_exec(Client& client, const std::string& container, const control::Exec& request,
                      std::vector<UniqueFd> fds);
  template <typename R>
  Status request_copy(Client& client, const std::string& container, const R& request, std::vector<UniqueFd> fds);
  Status request_kill(const control::Kill& request);
  // A container that joins the VM (docs/ARCHITECTURE.md, "Pods").
  Status request_add(Client& client, const control::AddContainer& request, std::vector<UniqueFd> fds);
  Status request_member_start(int client_fd, Member& member);
  Status request_member_kill(Member& member, const control::Kill& request);
  // The guest name a request is for: "" is the VM's own container.
  Result<std::string> guest_container(const std::string& container);
  Status set_paused(bool paused);
  template <typename Q>
  Status forward_query(int client_fd, Q query);
  void on_signal(int sig);
  // Fails the requests the guest has not answered in time; an error (the
  // VM is given up on) when a SIGKILL's exit is overdue.
  Status check_deadlines();
  void finish_exits();
  void set_status(const std::string& status);
  void reply(int client_fd, const control::Reply& body);
  std::string vm_failure();

  MonitorConfig config_;
  UniqueFd state_dir_fd_;  // state.json and the socket, by descriptor
  UniqueFd proc_;          // the host's /proc, kept across enter_rootfs()
  std::unique_ptr<vm::Vm> vm_;
  std::unique_ptr<AgentLink> link_;
  std::optional<SignalRoute> signals_;
  UniqueFd control_;
  std::map<std::string, std::unique_ptr<Process>> processes_;
  std::map<std::string, Member> members_;  // containers that joined the VM, by guest name
  int next_member_ = 1;
  std::vector<std::unique_ptr<Client>> clients_;
  // A request the guest is to answer: who waits for it (-1: nobody), until
  // when, and whether it is a probe (sent with an exec's signal: only its
  // absence matters).
  struct Pending {
    int client_fd = -1;
    std::chrono::steady_clock::time_point deadline;
    bool probe = false;
  };
  std::map<uint64_t, Pending> pending_queries_;  // by request number
  // A `create` the guest is late with gets one ping (a second wake-up);
  // whether it was answered goes into the error if create fails.
  std::optional<uint64_t> create_ping_;
  bool create_ping_answered_ = false;
  // Set by a SIGKILL to the running container: by then the guest must have
  // reported the exit, or the VM is stopped.
  std::optional<std::chrono::steady_clock::time_point> kill_deadline_;
  bool reported_unanswered_ = false;  // logged once that the guest is silent
  int start_client_ = -1;               // waiting for "started"
  // `start` waits for the guest's startContainer hooks: bounded by the boot
  // timeout, as create's wait for the guest is.
  std::optional<std::chrono::steady_clock::time_point> start_deadline_;
  int next_exec_ = 1;
  uint64_t next_request_ = 1;
  // What the guest makes the monitor log (messages about unknown processes,
  // its network errors) is logged up to a bound: a guest cannot grow the
  // log without limit.
  uint64_t guest_said_ = 0;
  static constexpr uint64_t kMaxLoggedFromGuest = 100;
  bool lost_ = false;                   // the VM or the agent went away
  bool abandoned_ = false;              // killed before it started
  FsPressure fs_pressure_;
  // When to read the container's namespace again, after it changed: its
  // engine makes a change in several steps (link, addresses, routes).
  std::optional<std::chrono::steady_clock::time_point> network_resync_at_;
  static constexpr std::chrono::milliseconds kNetworkSettleTime{250};
};

}  // namespace runvm::runtime
