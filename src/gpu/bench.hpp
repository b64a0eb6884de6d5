// bench.hpp: `pxos gpu bench`: times a kernel on random inputs with GPU timestamps (median of
// several runs), reports GFLOP/s or GB/s, and the max relative error against the CPU reference
// (on sampled rows/heads for sizes where the full reference would take minutes).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace pxos::gpu {

struct BenchConfig {
  std::string op = "matmul";   // matmul attention softmax layernorm rmsnorm relu leaky_relu gelu silu rotary
  std::vector<uint32_t> sizes; // --n (op-specific meaning; empty: the op's default)
  uint32_t cols = 4096;        // row ops: row length; attention/rotary: head dim is 128
  uint32_t heads = 32;         // attention, rotary
  std::string dtype = "f32";
  std::string kernel;          // matmul (v1 v2 v3), attention (v1 v2), rotary (v1 v2 v3); empty: the op's default
  bool causal = true;          // attention
  int reps = 20;
  bool json = false;
  uint64_t seed = 0;           // 0: random
};

struct BenchResult {
  std::string op, kernel, dtype, shape;
  double ms_median = 0, ms_min = 0;
  double gflops = 0, gbps = 0;   // whichever applies (the other is 0)
  double max_rel_err = 0;
  bool gpu_timestamps = false;
  std::string checked;           // what the error was measured on
};

std::vector<std::string> bench_ops();
// Runs every size of cfg; progress on stderr; rows printed as they finish (text or JSON lines).
Result<std::vector<BenchResult>> run_bench(const BenchConfig& cfg);

}  // namespace pxos::gpu
