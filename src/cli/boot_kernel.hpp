// boot_kernel.hpp: the kernel as a god pixel. `pxos god bootstrap pxos-kernel.elf` packs the
// multiboot ELF into a self-bootstrapping image (kind "kernel"); `pxos boot --kernel IMAGE.png`
// extracts it to a private temp file after every check (hash, key pixel, kind, ELF) for QEMU.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::cli {

// What QEMU's -kernel loads: an x86 ELF (32- or 64-bit) carrying a multiboot 1 header (magic,
// flags, checksum summing to 0, 4-byte aligned in the first 8 KiB: the multiboot spec's rule).
// `what` prefixes the one-line error (KernelInvalid).
inline constexpr uint32_t kMultiboot1Magic = 0x1BADB002;
inline constexpr size_t kMultiboot1Window = 8192;
inline Status check_kernel_elf(ByteView b, std::string_view what) {
  auto u16 = [&](size_t o) { return uint16_t(b[o] | b[o + 1] << 8); };
  auto u32 = [&](size_t o) { uint32_t v; std::memcpy(&v, b.data() + o, 4); return v; };
  if (b.size() < 64 || std::memcmp(b.data(), "\x7f" "ELF", 4) != 0)
    return failf(Errc::KernelInvalid, "{}: not an ELF file (offset 0: no \\x7fELF magic), so not a kernel", what);
  if (b[4] != 1 && b[4] != 2) return failf(Errc::KernelInvalid, "{}: offset 4: ELF class {} is neither 32- nor 64-bit", what, b[4]);
  if (b[5] != 1) return failf(Errc::KernelInvalid, "{}: offset 5: not a little-endian ELF", what);
  if (u16(18) != 3 && u16(18) != 62)
    return failf(Errc::KernelInvalid, "{}: offset 18: ELF machine {} is not x86 (3) or x86-64 (62)", what, u16(18));
  for (size_t o = 0; o + 12 <= std::min(b.size(), kMultiboot1Window); o += 4)
    if (u32(o) == kMultiboot1Magic && uint32_t(u32(o) + u32(o + 4) + u32(o + 8)) == 0) return {};
  return failf(Errc::KernelInvalid, "{}: no multiboot 1 header (magic 0x{:08X} with a valid checksum) in its first {} bytes: "
               "QEMU -kernel cannot boot it", what, kMultiboot1Magic, kMultiboot1Window);
}

// A kernel extracted from its image: a private temp file (mode 0600) removed when the last copy
// of `owner` goes; the key and hash are for the log line.
struct ExtractedKernel {
  std::string path, key, sha256;
  uint64_t bytes = 0;
  std::shared_ptr<void> owner;
};
// nullopt: the file is not a PNG (an ELF or ISO to pass to QEMU as it is). Any PNG that is not a
// sound kernel image (tampered, a key image, another payload kind, a bad ELF) is KernelInvalid.
using KernelExtractor = std::function<Result<std::optional<ExtractedKernel>>(const std::string& path)>;
// Defined in cmd_boot.cpp; boot_kernel.cpp fills it when its row of src/cli/CMakeLists.txt is built.
KernelExtractor& kernel_extractor();

}  // namespace pxos::cli
