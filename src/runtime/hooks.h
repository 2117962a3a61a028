// OCI hooks run on the host: createRuntime, prestart, createContainer (in
// the monitor's namespaces, before the VM boots), poststart (after start)
// and poststop (at delete). startContainer hooks run inside the guest (the
// agent runs them; see docs/protocol.md). Each hook gets the state JSON on
// stdin and is killed after its timeout.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "oci/spec.h"

namespace runvm::runtime {

// Runs hooks in order; the first failure stops them. Errors read as runc's:
// "error running hook #N: ..., stdout: ..., stderr: ...".
Status run_hooks(const std::vector<oci::Hook>& hooks, const nlohmann::json& state);

nlohmann::json hooks_to_json(const std::vector<oci::Hook>& hooks);
std::vector<oci::Hook> hooks_from_json(const nlohmann::json& json);

}  // namespace runvm::runtime
