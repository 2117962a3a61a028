// process.capabilities applied with raw system calls (no libcap in the
// static agent), in runc's order: the bounding set is dropped while still
// root, the uid change keeps the permitted set (PR_SET_KEEPCAPS), then the
// effective/permitted/inheritable sets are set and the ambient ones raised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace runvm::agent {

// CAP_CHOWN -> 0 ... CAP_CHECKPOINT_RESTORE -> 40; nullopt if unknown.
std::optional<int> capability_number(const std::string& name);

// A set as a 64-bit mask. Unknown names are skipped (runc warns and goes on).
uint64_t capability_mask(const std::vector<std::string>& names);

// Drops from the bounding set everything not in caps.bounding. Call as root,
// before the uid change.
Status drop_bounding_set(const oci::Capabilities& caps);

// Sets effective, permitted and inheritable, then ambient. Call after the
// uid change (made with PR_SET_KEEPCAPS on).
Status apply_capability_sets(const oci::Capabilities& caps);

}  // namespace runvm::agent
