// The parts of the host's requests (docs/protocol.md, "Messages") that the
// agent validates before acting: stdio stream names and startContainer
// hooks. Pure functions: a malformed request is an error message for the
// host, never a crash.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "agent/container.h"
#include "oci/spec.h"

namespace runvm::agent {

// Stream names of a process's stdio: tty alone, or stdin/stdout/stderr.
struct StdioStreams {
  std::string tty;  // set for a terminal
  std::string stdin_stream, stdout_stream, stderr_stream;
  bool terminal() const { return !tty.empty(); }
  // The streams the agent writes on (and EOFs).
  std::vector<std::string> outputs() const;
};

// `stdio` of a create or exec; `terminal` is process.terminal, which must
// agree with the shape.
Result<StdioStreams> parse_stdio(const nlohmann::json& stdio, bool terminal);

// `hooks` of a start (absent or null: none).
Result<std::vector<oci::Hook>> parse_hooks(const nlohmann::json& hooks);

// `binds` of a create (absent: none): bind mounts served from extra
// virtio-fs shares. Share tags are [a-z0-9]; subpaths are relative and never
// climb out of their share; destinations are absolute.
Result<std::vector<BindMount>> parse_binds(const nlohmann::json& binds);

// `devices` of a create (absent: none): nodes to make under /dev, already
// limited by the host to portable ones; checked again here, since the
// request crosses a trust boundary.
Result<std::vector<oci::Device>> parse_devices(const nlohmann::json& devices);

// A process ID chosen by the host: 1-64 bytes.
Result<std::string> parse_process_id(const nlohmann::json& request);

}  // namespace runvm::agent
