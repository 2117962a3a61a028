// The host's side of a conversation with the guest agent about one process:
// the handshake, the run request, stdio relayed between the host's fds and
// the agent's streams with flow control, signals, and the exit. One poll()
// loop; nothing here knows which VMM runs the guest.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "proto/session.h"

namespace runvm::runtime {

struct RelayFds {
  int in = 0;   // -1: no stdin (EOF at once)
  int out = 1;
  int err = 2;
  int signals = -1;  // a signalfd whose signals are forwarded to the process
  std::vector<int> vm_watch;  // readable when the VM or a helper died
};

struct ProcessOutcome {
  int exit_status = 0;
  bool start_failed = false;
  std::string start_error;  // runc's wording, when start_failed
};

class AgentSession {
 public:
  AgentSession(int agent_fd, RelayFds fds) : agent_fd_(agent_fd), fds_(fds), session_("runvm") {}

  // Waits for the agent's HELLO, up to the boot timeout.
  Status handshake(std::chrono::milliseconds timeout);
  // Sends the run request and relays until the process has exited and all
  // its output is written. `vm_failure` is asked why when the VM stops.
  Result<ProcessOutcome> run(const nlohmann::json& request,
                             const std::function<std::string()>& vm_failure);

 private:
  struct Output {
    std::string stream;
    int fd;
    std::string pending;
    bool eof = false;
    bool broken = false;  // EPIPE: output is discarded from then on
  };

  Status pump_agent(std::vector<proto::Event>& events);
  Status flush_agent();
  Status read_stdin();
  void write_output(Output& out);
  Status forward_signal();
  bool handle_events(std::vector<proto::Event>& events, ProcessOutcome& outcome, Status& error);

  int agent_fd_;
  RelayFds fds_;
  proto::Session session_;
  bool stdin_open_ = true;
  bool started_ = false;
  bool exited_ = false;
  Output outputs_[2] = {{"stdout", 1, "", false, false}, {"stderr", 2, "", false, false}};
};

}  // namespace runvm::runtime
