// Durations as runc's flags take them (events --interval): Go's
// time.ParseDuration syntax, "300ms", "1.5s", "1h30m"; units ns, us (µs),
// ms, s, m, h; a bare "0" is zero, any other number needs a unit.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"

namespace runvm::runtime {

// The duration, or Go's error text ("time: missing unit in duration \"1\"").
Result<std::chrono::nanoseconds> parse_go_duration(const std::string& text);

}  // namespace runvm::runtime
