// bench.hpp: `pxos god bench`: store put/get latency and throughput against the zstd CLI on
// the same bytes (bench/godpixel/run.sh drives it and records docs/BENCHMARKS.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace pxos::god {

struct BenchOptions {
  std::string dir;                  // scratch directory (a store and files are made inside)
  std::vector<uint64_t> sizes;      // payload bytes
  int runs = 7;                     // median of this many
  bool zstd_cli = true;             // also time `zstd` / `zstd -d` processes on the same data
};
// Prints a markdown table to stdout. Every get is checked byte for byte against what was put.
Status run_bench(const BenchOptions& o);

}  // namespace pxos::god
