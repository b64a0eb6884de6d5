// fuzz_tokenizer.cpp: any bytes through encode on a generated vocabulary (a few hundred merges,
// control and user-defined tokens, two bytes without a token). Invalid UTF-8 must be refused at
// the first bad offset; valid text must decode back to itself, less the bytes without a token.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "gguf_writer.hpp"
#include "llm/tokenizer.hpp"

namespace {

using pxos::llm::Tokenizer;

Tokenizer make() {
  using namespace pxos::llm;
  testgguf::GgufWriter w;
  auto alpha = testgguf::byte_alphabet();
  std::vector<std::string> toks, merges;
  for (size_t b = 0; b < 256; ++b)
    if (b != 0x04 && b != 0xf5) toks.push_back(alpha[b]);
  auto merge = [&](const std::string& a, const std::string& b) {
    merges.push_back(a + " " + b);
    if (std::find(toks.begin(), toks.end(), a + b) == toks.end()) toks.push_back(a + b);
  };
  // Pairs of common letters, then longer tokens built on them, so merges chain and compete.
  const std::vector<std::string> common = {"Ġ", "e", "t", "a", "o", "i", "n", "s", "h", "r", "Ċ", "ĉ", "!", "1"};
  for (auto& a : common)
    for (auto& b : common) merge(a, b);
  for (auto& a : common) merge("Ġt", a), merge(a + "e", "e"), merge("ĠĠ", a);
  merge("ĠĠ", "ĠĠ");
  merge("ã", "ģ");  // "あ" is E3 81 82: its first two bytes, then all three
  merge("ãģ", "Ĥ");
  merge("Ã", "©");
  std::vector<int32_t> types(toks.size(), 1);
  for (auto s : {"<|im_start|>", "<|im_end|>"}) toks.push_back(s), types.push_back(3);
  toks.push_back("<tool>"), types.push_back(4);
  w.kv_str("tokenizer.ggml.model", "gpt2");
  w.kv_str("tokenizer.ggml.pre", "smollm");
  w.kv_strs("tokenizer.ggml.tokens", toks);
  w.kv_i32s("tokenizer.ggml.token_type", types);
  w.kv_strs("tokenizer.ggml.merges", merges);
  static const pxos::Bytes file = w.finish();
  auto g = parse_gguf(file, "fuzz.gguf");
  if (!g) std::abort();
  auto t = Tokenizer::from_gguf(*g, "fuzz.gguf");
  if (!t) std::abort();
  return std::move(*t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Tokenizer t = make();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t bad = pxos::llm::utf8_invalid_at(text);
  for (bool special : {true, false}) {
    auto ids = t.encode(text, {.parse_special = special});
    if (bad != std::string_view::npos) {
      if (ids || ids.error().code != pxos::Errc::TextInvalid) std::abort();
      if (ids.error().detail.find("offset " + std::to_string(bad) + " ") == std::string::npos) std::abort();
      continue;
    }
    if (!ids) std::abort();
    for (int32_t id : *ids)
      if (id < 0 || size_t(id) >= t.n_vocab()) std::abort();
    auto back = t.decode(*ids);
    if (!back) std::abort();
    std::string expect;
    for (char c : text)
      if (t.byte_token(uint8_t(c)) >= 0) expect += c;
    if (*back != expect) std::abort();
  }
  if (bad == std::string_view::npos) {  // the pieces tile the text
    size_t at = 0;
    for (auto [b, e] : Tokenizer::pre_tokenize(text)) {
      if (b != at || e <= b) std::abort();
      at = e;
    }
    if (at != text.size()) std::abort();
  }
  return 0;
}
