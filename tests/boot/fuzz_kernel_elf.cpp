// fuzz_kernel_elf.cpp: check_kernel_elf (what `pxos god bootstrap` and `pxos boot --kernel`
// accept as a kernel) on arbitrary bytes: no crash, no read past the input, and an accepted
// input really is a little-endian x86 ELF with a checksummed multiboot 1 header in its first 8 KiB.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cli/boot_kernel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pxos::ByteView b(data, size);
  auto r = pxos::cli::check_kernel_elf(b, "fuzz");
  if (!r) {
    if (r.error().code != pxos::Errc::KernelInvalid) std::abort();
    return 0;
  }
  if (size < 64 || std::memcmp(data, "\x7f" "ELF", 4) != 0) std::abort();
  bool found = false;
  for (size_t o = 0; o + 12 <= size && o + 12 <= pxos::cli::kMultiboot1Window && !found; o += 4) {
    uint32_t w[3];
    std::memcpy(w, data + o, 12);
    found = w[0] == pxos::cli::kMultiboot1Magic && uint32_t(w[0] + w[1] + w[2]) == 0;
  }
  if (!found) std::abort();
  return 0;
}
