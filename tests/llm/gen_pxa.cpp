// gen_pxa.cpp: `gen_pxa OUT`: the archive payload of the tiny test llama packed as `llm pack`
// does it, the seed of the fuzz_llm_pxa corpus (written at build time; nothing is committed).
#include <cstdio>

#include "common/fs.hpp"
#include "gguf_writer.hpp"
#include "llm/source.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  pxos::Bytes f = pxos::llm::testgguf::tiny_llama();
  auto a = pxos::llm::pack_gguf(f, "tiny.gguf");
  if (!a) { std::fprintf(stderr, "%s\n", a.error().to_string().c_str()); return 1; }
  auto p = pxos::hv::encode_archive(*a);
  if (!p) { std::fprintf(stderr, "%s\n", p.error().to_string().c_str()); return 1; }
  auto s = pxos::write_file_atomic(argv[1], *p);
  if (!s) { std::fprintf(stderr, "%s\n", s.error().to_string().c_str()); return 1; }
  return 0;
}
