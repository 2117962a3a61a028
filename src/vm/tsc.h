// The host's TSC rate. Under TCG the guest reads the host's TSC, but a
// loaded host makes the guest kernel's PIT calibration fail, after which it
// can hang at boot; telling it the rate (tsc_early_khz=) skips calibration.
#pragma once

#include <cstdint>
#include <optional>

namespace runvm::vm {

// Measured against CLOCK_MONOTONIC_RAW over ~5 ms, rounded to 1 MHz
// steps; nullopt where there is no TSC or the measurement is unreliable.
std::optional<uint64_t> measure_host_tsc_khz();

}  // namespace runvm::vm
