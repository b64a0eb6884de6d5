// gguf_writer.hpp: test helper that writes small llama-shaped GGUF files with random weights
// (F32 norms, Q4_1 matrices or a mix of every supported type, a tiny byte-level BPE vocab with
// merges), so unit tests are fast.
#pragma once
#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/bytes.hpp"

namespace pxos::llm::testgguf {

class GgufWriter {
 public:
  void kv_u32(const std::string& k, uint32_t v) { key(k, 4); u32(v); ++n_kv_; }
  void kv_f32(const std::string& k, float v) { key(k, 6); u32(std::bit_cast<uint32_t>(v)); ++n_kv_; }
  void kv_str(const std::string& k, const std::string& v) { key(k, 8); str(v); ++n_kv_; }
  void kv_strs(const std::string& k, const std::vector<std::string>& v) {
    key(k, 9); u32(8); u64(v.size());
    for (auto& s : v) str(s);
    ++n_kv_;
  }
  void kv_i32s(const std::string& k, const std::vector<int32_t>& v) {
    key(k, 9); u32(5); u64(v.size());
    for (auto x : v) u32(uint32_t(x));
    ++n_kv_;
  }
  // A tensor with raw bytes; dims in ggml order.
  void tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, Bytes data) {
    tensors_.push_back({name, std::move(dims), type, std::move(data)});
  }
  void f32_tensor(const std::string& name, std::vector<uint64_t> dims, std::mt19937& rng, float scale) {
    uint64_t n = 1;
    for (auto d : dims) n *= d;
    Bytes b;
    std::uniform_real_distribution<float> u(-scale, scale);
    for (uint64_t i = 0; i < n; ++i) put32(b, std::bit_cast<uint32_t>(u(rng)));
    tensor(name, std::move(dims), 0, std::move(b));
  }
  // Q4_1 blocks of 32: f16 d, f16 m, 16 bytes of nibbles (random d, m and nibbles).
  void q4_1_tensor(const std::string& name, std::vector<uint64_t> dims, std::mt19937& rng, float scale) {
    uint64_t n = 1;
    for (auto d : dims) n *= d;
    Bytes b;
    std::uniform_real_distribution<float> u(0.0f, scale);
    for (uint64_t blk = 0; blk < n / 32; ++blk) {
      float d = u(rng) / 15.0f * 2.0f, m = -u(rng);
      put16(b, f16(d)); put16(b, f16(m));
      for (int i = 0; i < 16; ++i) b.push_back(uint8_t(rng()));
    }
    tensor(name, std::move(dims), 3, std::move(b));
  }
  // Q8_0 blocks of 32: f16 d, 32 random int8.
  void q8_0_tensor(const std::string& name, std::vector<uint64_t> dims, std::mt19937& rng, float scale) {
    Bytes b;
    std::uniform_real_distribution<float> u(0.0f, scale);
    for (uint64_t blk = 0; blk < count(dims) / 32; ++blk) {
      put16(b, f16(u(rng) / 127.0f + 1e-4f));
      for (int i = 0; i < 32; ++i) b.push_back(uint8_t(rng()));
    }
    tensor(name, std::move(dims), 8, std::move(b));
  }
  // Q4_0 blocks of 32: f16 d, 16 bytes of nibbles (value d*(q-8)).
  void q4_0_tensor(const std::string& name, std::vector<uint64_t> dims, std::mt19937& rng, float scale) {
    Bytes b;
    std::uniform_real_distribution<float> u(0.0f, scale);
    for (uint64_t blk = 0; blk < count(dims) / 32; ++blk) {
      put16(b, f16(u(rng) / 8.0f + 1e-4f));
      for (int i = 0; i < 16; ++i) b.push_back(uint8_t(rng()));
    }
    tensor(name, std::move(dims), 2, std::move(b));
  }
  void f16_tensor(const std::string& name, std::vector<uint64_t> dims, std::mt19937& rng, float scale) {
    Bytes b;
    std::uniform_real_distribution<float> u(-scale, scale);
    for (uint64_t i = 0; i < count(dims); ++i) put16(b, f16(u(rng)));
    tensor(name, std::move(dims), 1, std::move(b));
  }
  static uint64_t count(const std::vector<uint64_t>& dims) {
    uint64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
  Bytes finish(uint32_t version = 3, uint32_t alignment = 32) const {
    Bytes out = {'G', 'G', 'U', 'F'};  // (insert into an empty vector trips GCC 12's -Wstringop-overflow)
    put32(out, version); put64(out, tensors_.size()); put64(out, n_kv_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    uint64_t off = 0;
    std::vector<uint64_t> offs;
    for (auto& t : tensors_) {
      putstr(out, t.name); put32(out, uint32_t(t.dims.size()));
      for (auto d : t.dims) put64(out, d);
      put32(out, t.type); put64(out, off);
      offs.push_back(off);
      off += (t.data.size() + alignment - 1) / alignment * alignment;
    }
    while (out.size() % alignment) out.push_back(0);
    for (auto& t : tensors_) {
      out.insert(out.end(), t.data.begin(), t.data.end());
      while (out.size() % alignment) out.push_back(0);
    }
    return out;
  }
  static uint16_t f16(float f) {  // round-to-nearest for normal values; tests use small normals
    uint32_t x = std::bit_cast<uint32_t>(f);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t e = int32_t((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffff;
    if (e <= 0) return uint16_t(sign);
    if (e >= 31) return uint16_t(sign | 0x7c00);
    uint32_t h = sign | (uint32_t(e) << 10) | (mant >> 13);
    if (mant & 0x1000) ++h;
    return uint16_t(h);
  }

 private:
  struct T { std::string name; std::vector<uint64_t> dims; uint32_t type; Bytes data; };
  static void put16(Bytes& b, uint16_t v) { b.push_back(uint8_t(v)); b.push_back(uint8_t(v >> 8)); }
  static void put32(Bytes& b, uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i))); }
  static void put64(Bytes& b, uint64_t v) { for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i))); }
  static void putstr(Bytes& b, const std::string& s) { put64(b, s.size()); b.insert(b.end(), s.begin(), s.end()); }
  void key(const std::string& k, uint32_t type) { putstr(kv_, k); put32(kv_, type); }
  void u32(uint32_t v) { put32(kv_, v); }
  void u64(uint64_t v) { put64(kv_, v); }
  void str(const std::string& s) { putstr(kv_, s); }
  Bytes kv_;
  uint64_t n_kv_ = 0;
  std::vector<T> tensors_;
};

// GPT-2's byte-to-unicode alphabet: token b is the one-character spelling of byte b.
inline std::vector<std::string> byte_alphabet() {
  auto cp = [](uint32_t c) {
    std::string s;
    if (c < 0x80) s += char(c);
    else { s += char(0xc0 | (c >> 6)); s += char(0x80 | (c & 0x3f)); }
    return s;
  };
  std::vector<std::string> toks;
  for (uint32_t b = 0, n = 0; b < 256; ++b) {
    bool direct = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    toks.push_back(cp(direct ? b : 256 + n));
    if (!direct) ++n;
  }
  return toks;
}

// A byte-level BPE vocabulary: the 256 byte tokens, one token per merge ("a b" -> "ab", in merge
// order), then the CONTROL tokens. Returns the token count.
inline size_t write_bpe_tokenizer(GgufWriter& w, const std::vector<std::string>& merges,
                                  const std::vector<std::string>& controls, const std::string& chat_template) {
  std::vector<std::string> toks = byte_alphabet();
  for (auto& m : merges) {
    auto sp = m.find(' ');
    toks.push_back(m.substr(0, sp) + m.substr(sp + 1));
  }
  std::vector<int32_t> types(toks.size(), 1);
  for (auto& s : controls) { toks.push_back(s); types.push_back(3); }
  w.kv_str("tokenizer.ggml.model", "gpt2");
  w.kv_str("tokenizer.ggml.pre", "smollm");
  w.kv_strs("tokenizer.ggml.tokens", toks);
  w.kv_i32s("tokenizer.ggml.token_type", types);
  w.kv_strs("tokenizer.ggml.merges", merges);
  w.kv_u32("tokenizer.ggml.bos_token_id", uint32_t(toks.size() - 2));
  w.kv_u32("tokenizer.ggml.eos_token_id", uint32_t(toks.size() - 1));
  if (!chat_template.empty()) w.kv_str("tokenizer.chat_template", chat_template);
  return toks.size();
}

// The tiny vocabulary's merges (ids 256..265) and control tokens (266..268).
inline const std::vector<std::string> kTinyMerges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ w", "r e", "1 2"};
inline const std::vector<std::string> kTinyControls = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
inline const std::string kTinyTemplate =
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}";

// A tiny llama: vocab of 256 byte tokens + merges + ChatML specials, 2 layers, dim 64, 4 heads /
// 2 KV heads. `mixed`: the real model's layout (Q8_0 tied embedding) with Q4_0, F16, Q8_0 and F32
// matrices among the Q4_1 ones, so every dequantiser runs; `separate_output` adds output.weight.
inline Bytes tiny_llama(uint32_t seed = 1, uint32_t version = 3, bool mixed = false, bool separate_output = false) {
  std::mt19937 rng(seed);
  GgufWriter w;
  w.kv_str("general.architecture", "llama");
  w.kv_str("general.name", "tiny-test");
  w.kv_u32("general.alignment", 32);
  const uint32_t dim = 64, hidden = 128, layers = 2, heads = 4, kv_heads = 2, ctx = 64;
  w.kv_u32("llama.context_length", ctx);
  w.kv_u32("llama.embedding_length", dim);
  w.kv_u32("llama.feed_forward_length", hidden);
  w.kv_u32("llama.block_count", layers);
  w.kv_u32("llama.attention.head_count", heads);
  w.kv_u32("llama.attention.head_count_kv", kv_heads);
  w.kv_f32("llama.rope.freq_base", 10000.0f);
  w.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  const uint64_t vocab = write_bpe_tokenizer(w, kTinyMerges, kTinyControls, kTinyTemplate);
  // Embedding rows padded to a whole number of Q4_1 blocks is not needed: dim = 64.
  if (mixed) w.q8_0_tensor("token_embd.weight", {dim, vocab}, rng, 1.0f);
  else w.q4_1_tensor("token_embd.weight", {dim, vocab}, rng, 0.5f);
  w.f32_tensor("output_norm.weight", {dim}, rng, 1.0f);
  if (separate_output) w.q4_1_tensor("output.weight", {dim, vocab}, rng, 0.3f);
  // In the mixed file, which matrices are not Q4_1 (the norms are F32 either way).
  auto matrix = [&](const std::string& name, std::vector<uint64_t> dims, uint32_t l) {
    if (mixed && l == 0 && name.ends_with("attn_v.weight")) return w.q4_0_tensor(name, dims, rng, 0.3f);
    if (mixed && l == 1 && name.ends_with("attn_output.weight")) return w.f16_tensor(name, dims, rng, 0.2f);
    if (mixed && l == 0 && name.ends_with("ffn_down.weight")) return w.q8_0_tensor(name, dims, rng, 0.3f);
    if (mixed && l == 1 && name.ends_with("attn_k.weight")) return w.f32_tensor(name, dims, rng, 0.3f);
    w.q4_1_tensor(name, dims, rng, 0.3f);
  };
  for (uint32_t l = 0; l < layers; ++l) {
    auto p = "blk." + std::to_string(l) + ".";
    uint32_t hd = dim / heads;
    w.f32_tensor(p + "attn_norm.weight", {dim}, rng, 1.0f);
    matrix(p + "attn_q.weight", {dim, dim}, l);
    matrix(p + "attn_k.weight", {dim, hd * kv_heads}, l);
    matrix(p + "attn_v.weight", {dim, hd * kv_heads}, l);
    matrix(p + "attn_output.weight", {dim, dim}, l);
    w.f32_tensor(p + "ffn_norm.weight", {dim}, rng, 1.0f);
    matrix(p + "ffn_gate.weight", {dim, hidden}, l);
    matrix(p + "ffn_up.weight", {dim, hidden}, l);
    matrix(p + "ffn_down.weight", {hidden, dim}, l);
  }
  return w.finish(version);
}

}  // namespace pxos::llm::testgguf
