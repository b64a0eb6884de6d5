// fuzz_asm.cpp: any text through the assembler; whatever assembles must disassemble and
// reassemble to the same code bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "asm/assembler.hpp"
#include "asm/disassembler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view src(reinterpret_cast<const char*>(data), size);
  auto m = pxos::assembler::assemble(src, "fuzz.pxasm");
  if (!m) {
    if (m.error().detail.empty()) std::abort();  // every failure explains itself
    return 0;
  }
  auto text = pxos::assembler::disassemble(*m);
  if (!text) std::abort();
  auto again = pxos::assembler::assemble(*text, "again.pxasm");
  if (!again || again->code != m->code) std::abort();
  return 0;
}
