// forward_test.cpp: the model loader's errors (each names its key or tensor) and the CPU forward
// pass's bookkeeping: thread-count and batching independence, context limit, bad tokens.
#include <gtest/gtest.h>

#include <bit>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf_writer.hpp"
#include "llm/forward_cpu.hpp"

using namespace pxos;
using namespace pxos::llm;

namespace {
struct Tiny {
  Bytes bytes;
  Gguf g;
  Model m;
  explicit Tiny(Bytes b) : bytes(std::move(b)) {
    auto gg = parse_gguf(bytes, "tiny.gguf");
    EXPECT_TRUE(gg) << gg.error().to_string();
    g = std::move(*gg);
    auto mm = load_model(g, "tiny.gguf");
    EXPECT_TRUE(mm) << mm.error().to_string();
    if (mm) m = std::move(*mm);
  }
};

// Rewrites the first occurrence of a key's u32 value (keys are unique in the writer's files).
Bytes with_u32(Bytes f, const std::string& key, uint32_t v) {
  auto it = std::search(f.begin(), f.end(), key.begin(), key.end());
  EXPECT_NE(it, f.end()) << key;
  size_t at = size_t(it - f.begin()) + key.size() + 4;  // past the type
  std::memcpy(&f[at], &v, 4);
  return f;
}
Error load_error(const Bytes& f) {
  auto g = parse_gguf(f, "bad.gguf");
  EXPECT_TRUE(g) << g.error().to_string();
  auto m = load_model(*g, "bad.gguf");
  EXPECT_FALSE(m);
  return m ? Error{} : m.error();
}
const std::vector<int32_t> kPrompt = {267, 117, 115, 101, 114, 10, 72, 105};
}  // namespace

TEST(Model, LoadsTinyHyperparameters) {
  Tiny t(testgguf::tiny_llama(1, 3, true));
  const Hparams& hp = t.m.hp;
  EXPECT_EQ(hp.dim, 64u);
  EXPECT_EQ(hp.n_head, 4u);
  EXPECT_EQ(hp.n_kv_head, 2u);
  EXPECT_EQ(hp.head_dim, 16u);
  EXPECT_EQ(hp.n_vocab, 269u);
  EXPECT_EQ(hp.n_ctx, 64u);
  EXPECT_TRUE(t.m.tied_output);
  EXPECT_EQ(t.m.tok_embd.type, GgmlType::Q8_0);
  EXPECT_EQ(t.m.layers[0].wv.type, GgmlType::Q4_0);
  EXPECT_EQ(t.m.layers[1].wo.type, GgmlType::F16);
  EXPECT_EQ(t.m.eos_id, 268);
  // The weights are views into the file, not copies.
  const TensorInfo* q = t.g.tensor("blk.1.attn_q.weight");
  EXPECT_EQ(t.m.layers[1].wq.data, q->data.data());
  Tiny u(testgguf::tiny_llama(1, 3, true, true));
  EXPECT_FALSE(u.m.tied_output);
}

TEST(Model, ErrorsNameTheKeyOrTensor) {
  Bytes f = testgguf::tiny_llama(1, 3, true);
  Error e = load_error(with_u32(f, "llama.attention.head_count_kv", 3));
  EXPECT_EQ(e.code, Errc::ModelInvalid);
  EXPECT_NE(e.detail.find("'llama.attention.head_count_kv'"), std::string::npos) << e.detail;
  e = load_error(with_u32(f, "llama.block_count", 3));  // blk.2.* does not exist
  EXPECT_NE(e.detail.find("tensor 'blk.2.attn_norm.weight' is missing"), std::string::npos) << e.detail;
  e = load_error(with_u32(f, "llama.feed_forward_length", 96));
  EXPECT_NE(e.detail.find("tensor 'blk.0.ffn_gate.weight' has shape [64,128], expected [64,96]"), std::string::npos) << e.detail;
  e = load_error(with_u32(f, "llama.context_length", 0));
  EXPECT_NE(e.detail.find("'llama.context_length' = 0 is out of range"), std::string::npos) << e.detail;
  // A missing required key: rename the eps key.
  Bytes g = f;
  std::string k = "llama.attention.layer_norm_rms_epsilon";
  auto it = std::search(g.begin(), g.end(), k.begin(), k.end());
  it[0] = 'X';
  e = load_error(g);
  EXPECT_NE(e.detail.find("'llama.attention.layer_norm_rms_epsilon' is missing"), std::string::npos) << e.detail;
  // An unsupported quant type (Q6_K) on a needed tensor is named.
  testgguf::GgufWriter w;
  w.kv_str("general.architecture", "llama");
  for (auto [key, v] : {std::pair{"llama.context_length", 8u}, {"llama.embedding_length", 256u}, {"llama.feed_forward_length", 256u},
                        {"llama.block_count", 1u}, {"llama.attention.head_count", 1u}})
    w.kv_u32(key, v);
  w.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.tensor("token_embd.weight", {256, 4}, 14, Bytes(4 * 210));
  auto q = parse_gguf(w.finish(), "q6.gguf");
  ASSERT_TRUE(q);
  auto m = load_model(*q, "q6.gguf");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::Unsupported);
  EXPECT_NE(m.error().detail.find("tensor 'token_embd.weight' has type Q6_K"), std::string::npos) << m.error().detail;
}

TEST(Forward, SameBitsForAnyThreadCountAndBatching) {
  Tiny t(testgguf::tiny_llama(5, 3, true));
  std::vector<float> ref;
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    Session s(t.m, {.threads = threads});
    auto all = s.eval_all(kPrompt);
    ASSERT_TRUE(all) << all.error().to_string();
    if (ref.empty()) ref = *all;
    ASSERT_EQ(all->size(), ref.size());
    EXPECT_EQ(std::memcmp(all->data(), ref.data(), ref.size() * 4), 0) << threads << " threads";
  }
  // One token at a time gives the same last logits as the whole prompt at once.
  Session s(t.m, {.threads = 2});
  std::span<const float> last;
  for (int32_t id : kPrompt) {
    auto l = s.eval(std::span<const int32_t>(&id, 1));
    ASSERT_TRUE(l);
    last = *l;
  }
  EXPECT_EQ(std::memcmp(last.data(), ref.data() + ref.size() - t.m.hp.n_vocab, t.m.hp.n_vocab * 4), 0);
  EXPECT_EQ(s.pos(), kPrompt.size());
  // reset() starts over: the first position's logits come back.
  s.reset();
  auto first = s.eval(std::span<const int32_t>(kPrompt.data(), 1));
  ASSERT_TRUE(first);
  EXPECT_EQ(std::memcmp(first->data(), ref.data(), t.m.hp.n_vocab * 4), 0);
}

TEST(Forward, GgmlNumericsAreCloseAndThreadIndependent) {
  // act_quant Ggml (and the f16 KV cache) move the logits a little, never a lot, and the bits
  // still do not depend on the thread count; rewind() re-evaluates a suffix to the same bits.
  Tiny t(testgguf::tiny_llama(5, 3, true));
  Session f(t.m, {.threads = 1});
  auto ref = f.eval_all(kPrompt);
  ASSERT_TRUE(ref);
  std::vector<float> first;
  for (unsigned threads : {1u, 3u}) {
    Session s(t.m, {.threads = threads, .act_quant = ActQuant::Ggml, .kv_f16 = true});
    auto all = s.eval_all(kPrompt);
    ASSERT_TRUE(all);
    if (first.empty()) first = *all;
    EXPECT_EQ(std::memcmp(all->data(), first.data(), first.size() * 4), 0) << threads << " threads";
    s.rewind(2);
    EXPECT_EQ(s.pos(), 2u);
    auto again = s.eval(std::span<const int32_t>(kPrompt).subspan(2));
    ASSERT_TRUE(again);
    EXPECT_EQ(std::memcmp(again->data(), first.data() + first.size() - t.m.hp.n_vocab, t.m.hp.n_vocab * 4), 0);
  }
  double max_diff = 0, max_abs = 0, differ = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    max_diff = std::max(max_diff, double(std::fabs(first[i] - (*ref)[i])));
    max_abs = std::max(max_abs, double(std::fabs((*ref)[i])));
    differ += first[i] != (*ref)[i];
  }
  EXPECT_GT(differ, 0) << "the ggml numerics changed nothing";
  EXPECT_LT(max_diff, 0.05 * max_abs) << max_diff << " vs " << max_abs;
}

TEST(Forward, ContextFullAndBadTokens) {
  Tiny t(testgguf::tiny_llama(2, 3, true));
  Session s(t.m, {.n_ctx = 10});
  EXPECT_EQ(s.n_ctx(), 10u);
  ASSERT_TRUE(s.eval(kPrompt));  // 8 of 10
  std::vector<int32_t> three = {1, 2, 3};
  auto r = s.eval(three);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::ContextFull);
  EXPECT_EQ(s.pos(), 8u);  // nothing of the refused batch was evaluated
  ASSERT_TRUE(s.eval(std::span<const int32_t>(three.data(), 2)));
  r = s.eval(std::span<const int32_t>(three.data(), 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::ContextFull);
  // The model's own context (64) bounds a larger request.
  Session big(t.m, {.n_ctx = 1000});
  EXPECT_EQ(big.n_ctx(), 64u);
  std::vector<int32_t> bad = {1, 269};
  r = big.eval(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Usage);
  EXPECT_NE(r.error().detail.find("token 269 (at index 1)"), std::string::npos);
  EXPECT_EQ(big.pos(), 0u);
  EXPECT_FALSE(big.eval({}));
}

TEST(Forward, LogitsAreFiniteAndDependOnPosition) {
  Tiny t(testgguf::tiny_llama(3, 3, true));
  Session s(t.m);
  std::vector<int32_t> same = {65, 65, 65};
  auto all = s.eval_all(same);
  ASSERT_TRUE(all);
  const size_t v = t.m.hp.n_vocab;
  for (float x : *all) ASSERT_TRUE(std::isfinite(x));
  // The same token at positions 0 and 2 sees a different context (RoPE + attention).
  EXPECT_NE(std::memcmp(all->data(), all->data() + 2 * v, v * 4), 0);
}
