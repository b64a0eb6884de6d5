// fuzz_pxa.cpp: any bytes as the archive payload of a packed model (`llm pack`): the archive
// parser, then the GGUF reassembly; an accepted model must parse and keep its tensors inside it.
#include <cstdint>
#include <cstdlib>

#include "llm/source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto a = pxos::hv::parse_archive(pxos::ByteView(data, size), "fuzz.pxa");
  if (!a) return 0;
  auto g = pxos::llm::unpack_gguf(*a, "fuzz.pxa");
  if (!g) return 0;
  auto parsed = pxos::llm::parse_gguf(*g, "fuzz.pxa");
  if (!parsed) std::abort();  // unpack_gguf only returns bytes that its own parse accepted
  for (auto& t : parsed->tensors)
    if (t.data.data() < g->data() || t.data.data() + t.data.size() > g->data() + g->size()) std::abort();
  return 0;
}
