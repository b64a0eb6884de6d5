// limits.hpp: every tunable of the PixelVM in one place. Run limits default here and are
// overridden per run (pxos run flags, the hypervisor's manifest limits).
#pragma once
#include <cstdint>

namespace pxos::vm {

inline constexpr uint32_t kDefaultMemoryWords = 1024;   // the seed's 1024 words of data memory
inline constexpr uint32_t kMaxMemoryWords = 65536;      // LOAD/STORE take a u16 address
inline constexpr uint32_t kDefaultStackWords = 4096;    // operand stack depth
inline constexpr uint32_t kDefaultMaxFrames = 4096;     // CALL depth (return stack)
inline constexpr uint32_t kDefaultLocalWords = 65536;   // all frames' local slots together
inline constexpr int64_t kFuelSlice = 1 << 20;          // fast-mode steps between timeout checks
inline constexpr int64_t kExactSlice = 1 << 12;         // the same when tracing (each step prints)
inline constexpr size_t kOutputFlushBytes = 1 << 16;    // buffered program output before a flush

struct Limits {
  uint64_t max_steps = 0;         // 0: unlimited (fuel)
  uint64_t max_output_bytes = 0;  // 0: unlimited
  uint64_t timeout_ms = 0;        // 0: none (checked between slices, at output flushes, in input waits)
  uint32_t memory_words = kDefaultMemoryWords;
  uint32_t stack_words = kDefaultStackWords;
  uint32_t max_frames = kDefaultMaxFrames;
  uint32_t local_words = kDefaultLocalWords;
};

}  // namespace pxos::vm
