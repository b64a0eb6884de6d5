// gen_exits.cpp: pxos_boot_gen, the build-time tool that writes the kernel's EXIT_* NASM
// include from src/boot/exits.def, so the kernel and `pxos boot` read one table.
//   pxos_boot_gen --nasm OUT.inc
#include <cstdio>
#include <cstring>
#include <string>

#include "boot/boot.hpp"
#include "common/fs.hpp"

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--nasm") != 0) {
    std::fprintf(stderr, "usage: pxos_boot_gen --nasm OUT.inc\n");
    return 2;
  }
  auto st = pxos::write_file_atomic(argv[2], pxos::boot::exits_nasm_include());
  if (!st) {
    std::fprintf(stderr, "pxos_boot_gen: %s\n", st.error().to_string().c_str());
    return 1;
  }
  return 0;
}
