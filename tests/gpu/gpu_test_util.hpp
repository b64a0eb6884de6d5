// gpu_test_util.hpp: shared helpers for the GPU tests: fresh random inputs (seed printed on
// failure, PXOS_TEST_SEED to replay) and the "no adapter" policy: fail loudly unless
// PXOS_GPU_EXPECT_NONE=1 marks this machine as known to lack Vulkan (then: skip).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "gpu/runtime.hpp"

namespace pxos::gpu::testing {

inline uint64_t test_seed() {
  if (const char* s = std::getenv("PXOS_TEST_SEED"); s && *s) return std::strtoull(s, nullptr, 10);
  static uint64_t seed = std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32);
  return seed;
}

inline std::vector<float> rnd(std::mt19937_64& g, size_t n, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

// Returns the runtime, or fails / skips the test per the policy above.
#define PXOS_REQUIRE_GPU()                                                                     \
  auto rt_ = ::pxos::gpu::Runtime::get();                                                      \
  if (!rt_) {                                                                                  \
    const char* none_ = std::getenv("PXOS_GPU_EXPECT_NONE");                                  \
    if (none_ && std::string(none_) == "1") GTEST_SKIP() << "expected: no GPU adapter: " << rt_.error().detail; \
    FAIL() << "no WebGPU adapter (set PXOS_GPU_EXPECT_NONE=1 on a machine known to lack Vulkan): " \
           << rt_.error().detail;                                                              \
  }                                                                                            \
  ::pxos::gpu::Runtime* rt = *rt_;                                                             \
  (void)rt;                                                                                    \
  SCOPED_TRACE(::testing::Message() << "seed " << ::pxos::gpu::testing::test_seed()            \
                                    << " (PXOS_TEST_SEED to replay)");

}  // namespace pxos::gpu::testing
