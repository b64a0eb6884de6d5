// fuzz_gpu_call.cpp: the gpu host call's descriptor parser (vm::parse_gpu_call) on any memory:
// it fails with GpuError, or every buffer it returns lies inside memory and the kernel name is
// printable and short enough for GPU_EXECUTE's name field.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vm/hostcalls.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  int32_t desc;
  std::memcpy(&desc, data, 4);
  desc %= 64;  // most inputs then point into the memory below
  std::vector<int32_t> mem((size - 4) / 4);
  if (!mem.empty()) std::memcpy(mem.data(), data + 4, mem.size() * 4);
  auto g = pxos::vm::parse_gpu_call(mem, desc);
  if (!g) {
    if (g.error().code != pxos::Errc::GpuError) std::abort();
    return 0;
  }
  if (g->kernel.empty() || g->kernel.size() > pxos::vm::kGpuMaxName) std::abort();
  for (char c : g->kernel)
    if (c < 0x21 || c > 0x7e) std::abort();
  if (g->nbuf == 0 || g->nbuf > pxos::vm::kGpuMaxBufs) std::abort();
  for (uint32_t b = 0; b < g->nbuf; ++b)
    if (g->bufs[b].words == 0 || uint64_t(g->bufs[b].addr) + g->bufs[b].words > mem.size()) std::abort();
  return 0;
}
