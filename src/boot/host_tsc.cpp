// host_tsc.cpp: the host's TSC rate for `pxos boot`'s tsc_khz= (under TCG the guest's RDTSC
// reads the host's TSC, so the kernel need not spend 5 ms calibrating it against the PIT).
#include <time.h>

#include <string>

#include "boot/boot.hpp"
#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace pxos::boot {
namespace {
// ---- tunables ---------------------------------------------------------------------------
// The measuring window: QEMU's exec waits for it, so it is short; with the ~50 ns brackets
// below, 1 ms still gives ~1e-4 (the guest's own PIT calibration: ~5e-3 on a loaded host).
constexpr int64_t kHostTscWindowNs = 1'000'000;
constexpr int kBracketTries = 5;                 // (TSC, clock, TSC) reads; the narrowest is kept
constexpr uint64_t kMinKhz = 100'000, kMaxKhz = 20'000'000;  // the kernel's TSC_KHZ_MIN/MAX (defs.inc)

int64_t mono_raw_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

TscSample host_tsc_sample() {
#if defined(__x86_64__)
  // The clock read bracketed by two TSC reads; a preemption in between widens the bracket, so
  // the narrowest of a few tries is the one to trust (its midpoint is the TSC at that ns).
  TscSample best;
  uint64_t best_width = ~uint64_t(0);
  for (int i = 0; i < kBracketTries; ++i) {
    uint64_t a = __rdtsc();
    int64_t ns = mono_raw_ns();
    uint64_t b = __rdtsc();
    if (b - a < best_width) {
      best_width = b - a;
      best = {a + (b - a) / 2, ns};
    }
  }
  return best;
#else
  return {};
#endif
}

uint64_t host_tsc_khz(const TscSample& since, std::string* source) {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  // Without an invariant TSC (CPUID 0x80000007 EDX bit 8) the rate is not one number.
  if (__get_cpuid_max(0x80000000, nullptr) < 0x80000007) return 0;
  __cpuid(0x80000007, a, b, c, d);
  if (!(d & (1u << 8))) return 0;
  auto in_range = [](uint64_t khz) { return khz >= kMinKhz && khz <= kMaxKhz ? khz : 0; };
  if (__get_cpuid_max(0, nullptr) >= 0x15) {
    __cpuid_count(0x15, 0, a, b, c, d);
    if (a && b && c) {
      if (uint64_t khz = in_range(uint64_t(c) * b / a / 1000)) {
        if (source) *source = "cpuid-0x15";
        return khz;
      }
    }
  }
  __cpuid(1, a, b, c, d);
  if (c & (1u << 31)) {  // a hypervisor: its timing leaf, when it has one
    __cpuid(0x40000000, a, b, c, d);
    if (a >= 0x40000010 && a <= 0x400000FF) {
      __cpuid(0x40000010, a, b, c, d);
      if (uint64_t khz = in_range(a)) {
        if (source) *source = "cpuid-0x40000010";
        return khz;
      }
    }
  }
  if (since.ns == 0) return 0;
  TscSample now = host_tsc_sample();
  while (now.ns - since.ns < kHostTscWindowNs) {  // sleep, not spin: mailboxd is starting beside us
    int64_t left = kHostTscWindowNs - (now.ns - since.ns);
    timespec ts{0, long(left)};
    ::nanosleep(&ts, nullptr);
    now = host_tsc_sample();
  }
  uint64_t khz = in_range(uint64_t(double(now.tsc - since.tsc) * 1e6 / double(now.ns - since.ns)));
  if (khz && source) *source = "measured";
  return khz;
#else
  (void)since;
  (void)source;
  return 0;
#endif
}

}  // namespace pxos::boot
