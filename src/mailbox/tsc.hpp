// tsc.hpp: a cheap cycle clock (RDTSC on x86-64, the steady clock elsewhere) calibrated
// against std::chrono::steady_clock, for the per-opcode latency counters and the benchmarks.
#pragma once
#include <chrono>
#include <cstdint>
#include <thread>

namespace pxos::mailbox {

inline uint64_t tsc_now() {
#if defined(__x86_64__)
  return __builtin_ia32_rdtsc();
#else
  return uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// Ticks per nanosecond, measured once over `ms` milliseconds of the steady clock.
inline double tsc_calibrate(int ms = 20) {
  using clk = std::chrono::steady_clock;
  auto t0 = clk::now();
  uint64_t c0 = tsc_now();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  auto t1 = clk::now();
  uint64_t c1 = tsc_now();
  double ns = double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  return ns > 0 ? double(c1 - c0) / ns : 1.0;
}

inline double tsc_ticks_per_ns() {
  static const double v = tsc_calibrate();
  return v;
}

}  // namespace pxos::mailbox
