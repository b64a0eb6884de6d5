// fuzz_gguf.cpp: any bytes through the GGUF reader; an accepted file's tensors must lie inside it.
#include <cstdint>
#include <cstdlib>

#include "llm/gguf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pxos::ByteView in(data, size);
  auto g = pxos::llm::parse_gguf(in, "fuzz.gguf");
  if (!g) return 0;
  for (auto& t : g->tensors) {
    if (t.data.data() < data || t.data.data() + t.data.size() > data + size) std::abort();
    for (auto& [k, v] : g->kvs) (void)pxos::llm::kv_to_string(v);
  }
  return 0;
}
