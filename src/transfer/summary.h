// TransferSummary: what an import or export did, for the caller's report.
#pragma once

#include <cstdint>
#include <optional>

#include "common/result.h"

namespace runvm::transfer {

struct TransferSummary {
  uint64_t bytes = 0;    // file payload bytes (not headers, not holes)
  uint64_t entries = 0;  // archive entries extracted or written
  uint64_t errors = 0;   // entries that failed (only with keep_going)
  // The first entry that failed. Without keep_going that error is returned
  // instead, so this is set only when the import went on past it.
  std::optional<Error> first_error;
};

}  // namespace runvm::transfer
