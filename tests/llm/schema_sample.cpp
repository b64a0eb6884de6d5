// schema_sample.cpp: test tool for tests/llm/schema_validate.py: samples SEEDS texts under a JSON
// Schema from seeded random logits over a GGUF's real vocabulary (no forward pass), through the
// same constrained draw the server uses, and prints one JSON line per seed: {"seed","text","ended"}.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "architect/action.hpp"
#include "llm/gguf.hpp"
#include "llm/sampler.hpp"
#include "llm/schema.hpp"

using namespace pxos;
using namespace pxos::llm;

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--architect-schema") {
    std::puts(architect::action_schema().dump().c_str());
    return 0;
  }
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.gguf SCHEMA.json SEEDS MAX_TOKENS\n", argv[0]);
    return 2;
  }
  try {
    auto file = must(MappedFile::open(argv[1]));
    auto g = must(parse_gguf(file->bytes(), argv[1]));
    auto tok = must(Tokenizer::from_gguf(g, argv[1]));
    nlohmann::json schema;
    if (std::string_view(argv[2]) == "architect") {
      schema = architect::action_schema();
    } else {
      std::ifstream in(argv[2]);
      std::stringstream ss;
      ss << in.rdbuf();
      schema = nlohmann::json::parse(ss.str());
    }
    auto grammar = must(compile_schema(schema));
    auto trie = TokenTrie::build(tok);
    const int seeds = std::atoi(argv[3]), max_tokens = std::atoi(argv[4]);
    std::vector<int32_t> ends;
    for (auto name : {"<|im_end|>", "<|endoftext|>"})
      if (int32_t id = tok.find(name); id >= 0) ends.push_back(id);
    // Tokens that close things get a head start, so that texts end well before the schemas'
    // length limits (the architect's allows 256 KiB of content) as a model's would.
    std::vector<float> bias(tok.n_vocab(), 0.0f);
    for (size_t id = 0; id < tok.n_vocab(); ++id)
      if (tok.token_bytes(int32_t(id)).find_first_of("\"}],") != std::string::npos) bias[id] = 6.0f;
    double total_s = 0;
    size_t total_tokens = 0;
    for (int seed = 0; seed < seeds; ++seed) {
      Rng rng(uint64_t(seed) * 7919 + 1);
      Sampler s({.temperature = 1.0f, .seed = uint64_t(seed)});
      TokenConstraint c(grammar, trie, tok, ends);
      std::string text;
      std::vector<int32_t> hist;
      bool ended = false;
      auto t0 = std::chrono::steady_clock::now();
      std::vector<float> logits(tok.n_vocab());
      for (int i = 0; i < max_tokens; ++i) {
        // Peaked random logits (a model is confident most of the time).
        for (size_t k = 0; k < logits.size(); ++k) logits[k] = float(rng.uniform() * 8.0) + bias[k];
        int32_t t = sample_constrained(s, &c, logits, hist);
        if (t < 0) { std::fprintf(stderr, "seed %d: no token allowed after %s\n", seed, text.c_str()); return 1; }
        if (std::find(ends.begin(), ends.end(), t) != ends.end()) { ended = true; break; }
        c.accept(t);
        hist.push_back(t);
        text += tok.token_bytes(t);
      }
      total_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      total_tokens += hist.size();
      nlohmann::json line{{"seed", seed}, {"text", text}, {"ended", ended}};
      std::puts(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    }
    std::fprintf(stderr, "schema_sample: %zu tokens in %.2f s (%.2f ms/token)\n", total_tokens, total_s,
                 total_tokens ? 1000 * total_s / double(total_tokens) : 0.0);
  } catch (const Failure& f) {
    std::fprintf(stderr, "%s\n", f.err.to_string().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
