// forward_gpu_test.cpp: GpuSession against the CPU reference Session on tiny generated llamas
// (Q4_1 and the mixed-type file, tied and separate heads): every position's logits within
// 1e-4 + 1e-3 * |cpu|, batched prefill vs one-token decode, keys past one attention block, and
// the contract's errors (bad token, context full, nothing evaluated), for each kernel set (the v1
// kernels, the v2 ones with the tiled prefill, and v2 matvec batches with v1 attention). Prompts
// are seeded.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "../gpu/gpu_test_util.hpp"
#include "gguf_writer.hpp"
#include "llm/forward_cpu.hpp"
#include "llm/forward_gpu.hpp"

using namespace pxos;
using namespace pxos::llm;

namespace {
constexpr float kAbs = 1e-4f, kRel = 1e-3f;

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

Bytes with_u32(Bytes f, const std::string& key, uint32_t v) {
  auto it = std::search(f.begin(), f.end(), key.begin(), key.end());
  EXPECT_NE(it, f.end()) << key;
  std::memcpy(&f[size_t(it - f.begin()) + key.size() + 4], &v, 4);
  return f;
}

std::vector<int32_t> prompt(uint64_t seed, size_t n, uint32_t vocab) {
  std::mt19937_64 g(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = int32_t(g() % vocab);
  return t;
}

// Counts logits outside the tolerance; prints the first few with their position and token.
size_t mismatches(const std::vector<float>& gpu, const std::vector<float>& cpu, size_t vocab, const char* what) {
  EXPECT_EQ(gpu.size(), cpu.size()) << what;
  size_t bad = 0;
  float worst = 0;
  for (size_t i = 0; i < std::min(gpu.size(), cpu.size()); ++i) {
    const float err = std::fabs(gpu[i] - cpu[i]);
    worst = std::max(worst, err);
    if (!(err <= kAbs + kRel * std::fabs(cpu[i]))) {
      if (bad < 5)
        ADD_FAILURE() << what << ": position " << i / vocab << " token " << i % vocab << ": gpu " << gpu[i]
                      << " cpu " << cpu[i];
      ++bad;
    }
  }
  std::printf("%s: %zu logits, max abs error %.3g, %zu outside %.0e + %.0e*|cpu|\n", what, gpu.size(), double(worst),
              bad, double(kAbs), double(kRel));
  return bad;
}

// The kernel sets every comparison runs (forward_gpu.hpp's versions side by side).
struct KernelSet {
  const char* name;
  GpuOptions o;
};
std::vector<KernelSet> kernel_sets(uint32_t n_ctx = 0) {
  using M = GpuMatvecKernel;
  using A = GpuAttentionKernel;
  using P = GpuPrefillKernel;
  return {{"v1", {.n_ctx = n_ctx, .matvec = M::v1, .attention = A::v1, .prefill = P::matvec}},
          {"v2", {.n_ctx = n_ctx, .matvec = M::v2, .attention = A::v2, .prefill = P::tiled}},
          {"matvec v2 batches, attention v1", {.n_ctx = n_ctx, .matvec = M::v2, .attention = A::v1, .prefill = P::matvec}}};
}

std::vector<float> cpu_all(const Model& m, std::span<const int32_t> ids, uint32_t n_ctx = 0) {
  Session s(m, {.threads = 1, .n_ctx = n_ctx});
  auto r = s.eval_all(ids);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? *r : std::vector<float>{};
}
}  // namespace

TEST(GpuSession, MatchesCpuEveryPositionTinyFiles) {
  PXOS_REQUIRE_GPU();
  struct Case { uint32_t seed; bool mixed, separate; const char* what; };
  for (Case c : {Case{1, false, false, "Q4_1 tied"}, Case{2, true, false, "mixed types, Q8_0 tied head"},
                 Case{3, true, true, "mixed types, Q4_1 output.weight"}}) {
    Tiny t(testgguf::tiny_llama(c.seed, 3, c.mixed, c.separate));
    auto ids = prompt(::pxos::gpu::testing::test_seed() + c.seed, 40, t.m.hp.n_vocab);
    auto cpu = cpu_all(t.m, ids);
    for (const KernelSet& k : kernel_sets()) {
      auto gs = GpuSession::create(t.m, k.o);
      ASSERT_TRUE(gs) << gs.error().to_string();
      auto all = (*gs)->eval_all(ids);  // chunks of 32 tokens: the second reads cached keys
      ASSERT_TRUE(all) << all.error().to_string();
      const std::string what = std::string(c.what) + ", kernels " + k.name;
      EXPECT_EQ(mismatches(*all, cpu, t.m.hp.n_vocab, what.c_str()), 0u) << "model seed " << c.seed;
      EXPECT_EQ((*gs)->pos(), 40u);
      EXPECT_EQ((*gs)->stats().last_dispatches, (*gs)->dispatches_per_token());
    }
  }
}

TEST(GpuSession, DecodeOneTokenAtATimeAndBatchedPrefillAgree) {
  PXOS_REQUIRE_GPU();
  // Context 200, so attention runs several key blocks (64 keys each; v2: chunks of 32, set below)
  // from the cache and the batch.
  Tiny t(with_u32(testgguf::tiny_llama(4, 3, true), "llama.context_length", 200));
  ASSERT_EQ(t.m.hp.n_ctx, 200u);
  auto ids = prompt(::pxos::gpu::testing::test_seed(), 150, t.m.hp.n_vocab);
  auto cpu = cpu_all(t.m, ids);
  const size_t V = t.m.hp.n_vocab;
  for (const KernelSet& k : kernel_sets()) {
    // Batched prefill of 140 tokens (one submit), then 10 single-token decode steps.
    GpuOptions o = k.o;
    o.attn_chunk = 32;
    auto gs = GpuSession::create(t.m, o);
    ASSERT_TRUE(gs) << gs.error().to_string();
    std::vector<float> got;
    auto l = (*gs)->eval(std::span<const int32_t>(ids).first(140));
    ASSERT_TRUE(l) << l.error().to_string();
    EXPECT_EQ((*gs)->stats().submits, 1u);
    got.insert(got.end(), l->begin(), l->end());
    for (size_t i = 140; i < ids.size(); ++i) {
      auto s = (*gs)->eval(std::span<const int32_t>(&ids[i], 1));
      ASSERT_TRUE(s) << s.error().to_string();
      got.insert(got.end(), s->begin(), s->end());
    }
    std::vector<float> want(cpu.begin() + ptrdiff_t(139 * V), cpu.end());
    EXPECT_EQ(mismatches(got, want, V, (std::string("prefill 140 + decode 10, kernels ") + k.name).c_str()), 0u);
    // Decode from position 0, token by token, equals the CPU too.
    o.n_ctx = 80;
    auto gd = GpuSession::create(t.m, o);
    ASSERT_TRUE(gd);
    std::vector<float> dec;
    for (size_t i = 0; i < 80; ++i) {
      auto s = (*gd)->eval(std::span<const int32_t>(&ids[i], 1));
      ASSERT_TRUE(s) << s.error().to_string();
      dec.insert(dec.end(), s->begin(), s->end());
    }
    EXPECT_EQ(mismatches(dec, std::vector<float>(cpu.begin(), cpu.begin() + ptrdiff_t(80 * V)), V, (std::string("decode 80, kernels ") + k.name).c_str()), 0u);
    EXPECT_EQ((*gd)->stats().submits, 80u);
    EXPECT_EQ((*gd)->stats().dispatches, 80u * (*gd)->dispatches_per_token());
  }
}

TEST(GpuSession, ContractErrorsEvaluateNothing) {
  PXOS_REQUIRE_GPU();
  Tiny t(testgguf::tiny_llama(1));
  auto gs = GpuSession::create(t.m, {.n_ctx = 8});
  ASSERT_TRUE(gs);
  GpuSession& s = **gs;
  EXPECT_EQ(s.n_ctx(), 8u);
  std::vector<int32_t> bad = {1, 269};
  auto r = s.eval(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Usage);
  EXPECT_NE(r.error().detail.find("token 269 (at index 1)"), std::string::npos) << r.error().detail;
  EXPECT_EQ(s.pos(), 0u);
  r = s.eval({});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Usage);
  std::vector<int32_t> six = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(s.eval(six));
  auto full = s.eval(std::vector<int32_t>{1, 2, 3});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Errc::ContextFull);
  EXPECT_EQ(s.pos(), 6u);
  // reset forgets the cache: the same prompt gives the same logits as a fresh session.
  s.reset();
  auto a = s.eval(six);
  ASSERT_TRUE(a);
  std::vector<float> first(a->begin(), a->end());
  auto cpu = cpu_all(t.m, six);
  EXPECT_EQ(mismatches(first, std::vector<float>(cpu.end() - 269, cpu.end()), 269, "after reset"), 0u);
}

TEST(GpuSession, KernelsFromTheEnvironment) {
  PXOS_REQUIRE_GPU();
  Tiny t(testgguf::tiny_llama(1));
  ::setenv("PXOS_LLM_KERNELS", "matvec=v1,prefill=matvec", 1);
  auto a = GpuSession::create(t.m);
  ::setenv("PXOS_LLM_KERNELS", "v2,attention=v3", 1);
  auto bad = GpuSession::create(t.m);
  ::setenv("PXOS_LLM_KERNELS", "v1", 1);
  auto b = GpuSession::create(t.m, {.attention = GpuAttentionKernel::v2});  // a set field wins
  ::unsetenv("PXOS_LLM_KERNELS");
  auto c = GpuSession::create(t.m);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ((*a)->matvec_kernel(), "llm_matvec v1");
  EXPECT_EQ((*a)->attention_kernel(), "llm_attention_v2");
  EXPECT_EQ((*a)->prefill_kernel(), "llm_matvec v1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::Usage);
  EXPECT_NE(bad.error().detail.find("PXOS_LLM_KERNELS: unknown item 'attention=v3'"), std::string::npos) << bad.error().detail;
  EXPECT_EQ((*b)->matvec_kernel(), "llm_matvec v1");
  EXPECT_EQ((*b)->attention_kernel(), "llm_attention_v2");
  EXPECT_EQ((*c)->matvec_kernel(), "llm_matvec_v2");
  EXPECT_NE((*c)->prefill_kernel().find("llm_matmul"), std::string::npos);
}
