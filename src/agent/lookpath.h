// Finding args[0] the way runc does (Go's exec.LookPath), with the same
// error wording, since Docker and users match on it.
#pragma once

#include <string>
#include <vector>

namespace runvm::agent {

struct LookPathResult {
  std::string path;     // set on success
  std::string message;  // set on failure: runc's wording
  int exit_code = 0;    // 127 not found, 126 not executable
};

// `env` is the process's environment ("KEY=VALUE"); its PATH is searched
// (runc's default PATH when it has none). Paths are as seen by the caller
// (the agent calls this after entering the container's root).
LookPathResult look_path(const std::string& file, const std::vector<std::string>& env);

// The message and exit code for an execve(path) that failed with err.
LookPathResult exec_failure(const std::string& path, int err);

}  // namespace runvm::agent
