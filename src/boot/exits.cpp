// exits.cpp: the NASM text of the kernel's exit codes (kernel_exits.inc), written from
// exits.def by pxos_boot_gen at build time and checked against the table by the unit test.
#include <fmt/format.h>

#include "boot/boot.hpp"

namespace pxos::boot {

std::string exits_nasm_include() {
  std::string s =
      "; kernel_exits.inc: generated from src/boot/exits.def by pxos_boot_gen: do not edit.\n"
      "; isa-debug-exit codes; QEMU's exit status is (code << 1) | 1, in brackets.\n";
#define X(name, value, sym, doc) \
  s += fmt::format("{:<16}equ 0x{:02X}    ; [{}] {}\n", sym, unsigned(value), (unsigned(value) << 1) | 1, doc);
#include "boot/exits.def"
#undef X
  return s;
}

}  // namespace pxos::boot
