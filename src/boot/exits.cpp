// exits.cpp: the NASM text of the kernel's exit codes (kernel_exits.inc), written from
// exits.def by pxos_boot_gen at build time and checked against the table by the unit test.
#include <fmt/format.h>

#include "boot/boot.hpp"

namespace pxos::boot {

std::string exits_nasm_include() {
  std::string s =
      "; kernel_exits.inc: generated from src/boot/exits.def by pxos_boot_gen: do not edit.\n"
      "; isa-debug-exit codes; QEMU's exit status is (code << 1) | 1, in brackets.\n";
#define X(name, value, sym, errc, doc) \
  s += fmt::format("{:<18} equ 0x{:02X}    ; [{}] {}\n", sym, unsigned(value), (unsigned(value) << 1) | 1, doc);
#include "boot/exits.def"
#undef X
  // The kernel <-> ring-3 guest ABI (guest.def) rides in the same include.
  s += "; guest ABI (src/boot/guest.def): argument block offsets, syscall numbers, guest exits\n";
  int nsys = 0;
#define GUEST_ARG(name, offset, doc) s += fmt::format("GA_{:<15} equ 0x{:02X}    ; {}\n", #name, unsigned(offset), doc);
#define GUEST_SYS(name, number, doc) s += fmt::format("SYS_{:<14} equ {}    ; {}\n", #name, number, doc), ++nsys;
#define GUEST_EXIT(name, value, doc) s += fmt::format("GUEST_{:<12} equ {}    ; {}\n", #name, value, doc);
#include "boot/guest.def"
  s += fmt::format("SYS_COUNT          equ {}    ; syscall_table must have this many entries\n", nsys);
  return s;
}

}  // namespace pxos::boot
