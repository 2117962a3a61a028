// StdioRelay: one process's standard I/O between host descriptors and its
// protocol streams (docs/protocol.md, "Processes and their streams").
// Without a terminal: host `in` -> <id>/stdin, <id>/stdout -> `out`,
// <id>/stderr -> `err`. With one: `tty` <-> <id>/tty.
//
// The host descriptors may be shared with other processes (runvm's own
// stdio, a caller's terminal), so they are never made non-blocking: reads
// happen only after poll() says so, and writes stay within a pipe page.
#pragma once

#include <poll.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "proto/messages.h"
#include "common/unique_fd.h"
#include "proto/session.h"

namespace runvm::runtime {

struct HostStdio {
  int in = -1;   // -1: no input (EOF at once)
  int out = -1;  // -1: output discarded
  int err = -1;
  int tty = -1;  // >= 0: terminal mode (its size is the terminal's); err unused
  // In terminal mode, in and out (if >= 0) carry the bytes instead of tty,
  // as runc relays its stdin and stdout to the terminal it made.
  bool no_onlcr = false;  // msg::Stdio::no_onlcr
  std::vector<UniqueFd> owned;  // descriptors the relay closes when it goes
};

class StdioRelay {
 public:
  StdioRelay(std::string id, HostStdio io);

  const std::string& id() const { return id_; }
  bool terminal() const { return io_.tty >= 0; }
  int tty_fd() const { return io_.tty; }

  // OPENs the streams and EOFs the directions the host never writes.
  Status open(proto::Session& session);
  // The "stdio" member of create/exec requests.
  msg::Stdio streams() const;

  // Input flows once the process has started.
  void set_started() { started_ = true; }
  // After the exit: no more input is read.
  void stop_input() { input_open_ = false; }

  // Adds this relay's descriptors to a poll set; handle() reads the results.
  void add_to_poll(std::vector<pollfd>& fds, proto::Session& session);
  Status handle(const std::vector<pollfd>& fds, proto::Session& session);

  // Routes a guest event that belongs to this relay; false if it does not.
  bool on_data(const std::string& stream, std::string bytes, proto::Session& session);
  bool on_eof(const std::string& stream);

  // All output received up to its EOFs and written out.
  bool drained() const;
  // Closes the host descriptors this relay owns (a reader sees EOF).
  void close_owned() { io_.owned.clear(); }

 private:
  struct Output {
    std::string stream;
    int fd;
    std::string pending;
    bool eof = false;
    bool broken = false;  // the reader went away: bytes are discarded
  };

  std::string input_stream() const;
  int input_fd() const { return terminal() && io_.in < 0 ? io_.tty : io_.in; }
  Status read_input(proto::Session& session);
  void write_output(Output& out, proto::Session& session);

  std::string id_;
  HostStdio io_;
  bool started_ = false;
  bool input_open_ = true;
  std::vector<Output> outputs_;
  size_t poll_base_ = 0;  // index of our first pollfd in the last poll set
};

}  // namespace runvm::runtime
