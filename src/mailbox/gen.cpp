// gen.cpp: pxos_mailbox_gen, the build-time tool that writes the NASM include, the WGSL prelude
// (and, with --markdown, the docs tables) from protocol.def, so kernels include the same numbers.
//   pxos_mailbox_gen --nasm OUT.inc  |  --wgsl OUT.wgsl  |  --markdown
#include <cstdio>
#include <cstring>
#include <string>

#include "common/fs.hpp"
#include "mailbox/protocol.hpp"

int main(int argc, char** argv) {
  using namespace pxos;
  bool nasm = argc == 3 && std::strcmp(argv[1], "--nasm") == 0;
  if (nasm || (argc == 3 && std::strcmp(argv[1], "--wgsl") == 0)) {
    auto st = write_file_atomic(argv[2], nasm ? mailbox::nasm_include() : mailbox::wgsl_prelude());
    if (!st) {
      std::fprintf(stderr, "pxos_mailbox_gen: %s\n", st.error().to_string().c_str());
      return 1;
    }
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "--markdown") == 0) {
    std::fputs(mailbox::markdown_tables().c_str(), stdout);
    return 0;
  }
  std::fprintf(stderr, "usage: pxos_mailbox_gen --nasm OUT.inc | --wgsl OUT.wgsl | --markdown\n");
  return 2;
}
