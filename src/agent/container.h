// The container's processes inside the guest.
//
// init is a child in new mount, PID, IPC and UTS namespaces that mounts the
// spec's filesystems under the root share, enters it, takes on the process's
// identity and limits, looks args[0] up, and then waits on a pipe until the
// agent releases it (`start`) before it execs. An exec joins init's
// namespaces, root and cgroup, and execs at once. A startContainer hook is
// run like an exec, with the container state on its stdin.
//
// Every child joins the container's guest cgroup before anything else. With
// a terminal, the child allocates the pty from the container's own devpts,
// makes it its controlling terminal and passes the master back to the agent
// over a socketpair (SCM_RIGHTS), as runc does with its console socket.
#pragma once

#include <sys/ioctl.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/cgroup.h"
#include "agent/confinement.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"
#include "proto/messages.h"

namespace runvm::agent {

// A bind mount from the host: the share that carries its source (mounted by
// the agent at share_path(share)), the path inside it ("" for the share's
// root), and where it goes in the container; as the create message has it.
using BindMount = msg::BindShare;

struct ContainerConfig {
  oci::Process process;
  bool readonly_root = false;
  std::string hostname;
  std::vector<oci::Mount> mounts;  // in the spec's order, binds among them
  std::vector<BindMount> binds;    // one per bind mount of `mounts`, in order
  std::string root_propagation;    // linux.rootfsPropagation ("" or runc's values)
  std::vector<oci::Device> devices;  // linux.devices, made in /dev
  std::optional<winsize> console_size;
  bool clear_onlcr = false;  // the pty's ONLCR off (msg::Stdio::no_onlcr)
  std::string domainname;
  // linux.sysctl: written in init's namespaces before its root is set up.
  std::map<std::string, std::string> sysctl;
  // Masked and read-only paths (applied in its mount namespace, which execs
  // join) and the seccomp filter (loaded by init; execs are given it).
  Confinement confinement;
  // The root directory as the agent sees it: the root share's mount
  // (kContainerRoot), or a directory inside a share (a container that joined
  // the VM), which init first binds onto itself to make it a mount.
  std::string root = "/container";
  bool bind_root = false;
  // Its guest cgroup; null: none.
  const GuestCgroup* cgroup = nullptr;
  // Namespaces of another container of the VM that it joins (msg::Create's
  // join): descriptors of that container's init's /proc/PID/ns/..., -1 for a
  // namespace of its own. The caller keeps them open until prepare_init
  // returns.
  int join_ipc_fd = -1, join_uts_fd = -1, join_pid_fd = -1;
};

// A container as the processes that join it see it: its init, whose
// namespaces and root they enter, and its guest cgroup (null: none).
struct ContainerHandle {
  pid_t init_pid = -1;
  const GuestCgroup* cgroup = nullptr;
};

// The agent's ends of a process's stdio: three pipes, or a pty master.
struct ParentStdio {
  UniqueFd stdin_write;
  UniqueFd stdout_read;
  UniqueFd stderr_read;
  UniqueFd tty_master;
};

// Why a process could not start, as the user should read it (runc's words
// for exec problems, with exit code 127 or 126; else 1).
struct StartFailure {
  std::string message;
  int exit_code = 1;
};

struct PreparedInit {
  pid_t pid = -1;
  ParentStdio stdio;
  UniqueFd release;  // one byte written lets it exec; closing it aborts it
  UniqueFd exec_watch;  // its report pipe: EOF once it has exec'd (or died)
};

// Prepares init up to just before execve. On failure the child is reaped
// and `failure` says why.
Result<PreparedInit> prepare_init(const ContainerConfig& config, StartFailure& failure);

// Lets a prepared init exec (its `release`); the fd is closed after.
Status release_init(UniqueFd& release);

// Waits until a released init has exec'd (or died): its `exec_watch` reads
// EOF, as the report pipe is close-on-exec. False if `limit` passed first.
// The fd is closed after.
bool wait_for_exec(UniqueFd& exec_watch, int limit_ms);

struct SpawnedProcess {
  pid_t pid = -1;  // in the guest's PID namespace; a child of the agent
  ParentStdio stdio;
};

// Starts a process inside the running container, under the
// container's seccomp filter if it has one, in its guest cgroup or the
// existing sub-cgroup `sub_cgroup` of it (exec --cgroup).
Result<SpawnedProcess> spawn_exec(const ContainerHandle& container, const oci::Process& process,
                                  std::optional<winsize> console_size, StartFailure& failure,
                                  const SeccompProgram* seccomp = nullptr, const std::string& sub_cgroup = "",
                                  bool clear_onlcr = false);

// Work done by a child inside the container instead of an executable (the
// transfers of runvm cp): its return value is the child's exit status.
using ContainerTask = std::function<int()>;

// Starts `task` in a child that joins the container as an exec
// does (namespaces, cgroup, root), as root with every capability and
// without the container's seccomp filter (it is the agent's code), with pipes
// for stdio and `task_fd` (if >= 0) as its fd 3. The caller closes its own
// copy of task_fd.
Result<SpawnedProcess> spawn_task(const ContainerHandle& container, const ContainerTask& task, int task_fd,
                                  StartFailure& failure);

// Runs one startContainer hook inside the container with `state` on its
// stdin, killing it after hook.timeout seconds, under the container's
// seccomp filter if it has one (runc runs these hooks from the process it
// has already confined). Returns runc's error text (without the "error
// running hook #N: " prefix), or nullopt on success.
std::optional<std::string> run_hook(const ContainerHandle& container, const oci::Hook& hook,
                                    const std::string& state,
                                    const SeccompProgram* seccomp = nullptr);

// What a child wrote on its report pipe: the grandchild's pid (exec), that
// it is ready and waits for release (init), or why it failed.
struct ChildReport {
  std::optional<pid_t> pid;
  bool ready = false;
  std::optional<StartFailure> failure;
  bool complete = false;  // nothing more is needed to act on it
};
ChildReport parse_child_report(std::string_view text);

// The /proc/sys file of a sysctl name (already checked: oci::check_sysctl).
std::string sysctl_path(const std::string& name);

// The records children write: "P<pid>\n", "R", "F<code> <length>\n<message>".
std::string report_pid(pid_t pid);
std::string report_ready();
std::string report_failure(int exit_code, const std::string& message);

}  // namespace runvm::agent
