#include "vm/tsc.h"

#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace runvm::vm {

#if defined(__x86_64__)
namespace {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// One sample: TSC ticks and nanoseconds over a busy-waited interval.
double sample_khz(uint64_t interval_ns) {
  uint64_t t0 = now_ns();
  uint64_t c0 = __rdtsc();
  uint64_t t1;
  do t1 = now_ns();
  while (t1 - t0 < interval_ns);
  uint64_t c1 = __rdtsc();
  return static_cast<double>(c1 - c0) * 1e6 / static_cast<double>(t1 - t0);
}

}  // namespace

std::optional<uint64_t> measure_host_tsc_khz() {
  // Two samples must agree: a preemption inside one shows as disagreement.
  for (int attempt = 0; attempt < 3; ++attempt) {
    double a = sample_khz(2500000), b = sample_khz(2500000);
    if (a > 100000 && b > 0 && a / b > 0.999 && a / b < 1.001)
      return static_cast<uint64_t>((a + b) / 2 / 1000 + 0.5) * 1000;
  }
  return std::nullopt;
}

#else

std::optional<uint64_t> measure_host_tsc_khz() { return std::nullopt; }

#endif

}  // namespace runvm::vm
