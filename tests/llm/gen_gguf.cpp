// gen_gguf.cpp: writes a tiny test GGUF for the CLI tests: `gen_gguf OUT good|arch|quant` or
// `gen_gguf OUT mixed|mixed-out SEED` (every supported type; -out: an untied output.weight).
#include <cstdio>
#include <string>

#include "common/fs.hpp"
#include "gguf_writer.hpp"

int main(int argc, char** argv) {
  using namespace pxos::llm::testgguf;
  if (argc != 3 && argc != 4) return 2;
  std::string kind = argv[2];
  uint32_t seed = argc == 4 ? uint32_t(std::stoul(argv[3])) : 1;
  pxos::Bytes f;
  if (kind == "good") f = tiny_llama();
  else if (kind == "mixed" || kind == "mixed-out") f = tiny_llama(seed, 3, true, kind == "mixed-out");
  else if (kind == "arch") { GgufWriter w; w.kv_str("general.architecture", "mamba"); f = w.finish(); }
  else if (kind == "quant") {
    GgufWriter w;
    w.kv_str("general.architecture", "llama");
    w.tensor("blk.0.attn_q.weight", {256}, 14, pxos::Bytes(210));
    f = w.finish();
  } else return 2;
  auto s = pxos::write_file_atomic(argv[1], f);
  if (!s) { std::fprintf(stderr, "%s\n", s.error().to_string().c_str()); return 1; }
  return 0;
}
