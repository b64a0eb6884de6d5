// sampler_test.cpp: each sampling stage on hand-made logits (greedy, temperature, top-k, top-p,
// min-p, repetition penalty), seed determinism, and the generation loop's stop rules.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "llm/sampler.hpp"

using namespace pxos;
using namespace pxos::llm;

namespace {
// Draws N tokens from fixed logits; returns how often each id came.
std::map<int32_t, int> draw(SamplerOptions o, const std::vector<float>& logits, int n) {
  Sampler s(o);
  std::map<int32_t, int> c;
  for (int i = 0; i < n; ++i) c[s.sample(logits, {})]++;
  return c;
}
std::vector<float> logp(std::vector<double> p) {
  std::vector<float> l;
  for (double x : p) l.push_back(float(std::log(x)));
  return l;
}

// A fake model: logits that always favour token (last + 1) % n, so outputs are predictable.
struct Counter : LogitsSource {
  uint32_t n_ctx = 100, pos = 0;
  std::vector<float> l = std::vector<float>(10);
  Result<std::span<const float>> eval(std::span<const int32_t> t) override {
    if (pos + t.size() > n_ctx) return fail(Errc::ContextFull, "full");
    pos += uint32_t(t.size());
    std::fill(l.begin(), l.end(), 0.0f);
    l[size_t(t.back() + 1) % l.size()] = 5.0f;
    return std::span<const float>(l);
  }
};
}  // namespace

TEST(Rng, FixedSequence) {
  Rng a(42), b(42), c(43);
  uint64_t x = a.next();
  EXPECT_EQ(x, b.next());
  EXPECT_NE(x, c.next());
  // Pinned: the same seed must give the same draws on every build and library.
  Rng z(0);
  EXPECT_EQ(z.next(), 0x99ec5f36cb75f2b4ull);
  for (int i = 0; i < 1000; ++i) {
    double u = a.uniform();
    ASSERT_TRUE(u >= 0.0 && u < 1.0);
  }
}

TEST(Sampler, GreedyTakesTheMaxLowestIdOnTies) {
  Sampler s({});
  std::vector<float> l = {1, 3, 2, 3, -1};
  EXPECT_EQ(s.sample(l, {}), 1);
  l[4] = 9;
  EXPECT_EQ(s.sample(l, {}), 4);
}

TEST(Sampler, TemperatureFollowsTheSoftmaxAndTheSeed) {
  std::vector<float> l = logp({0.5, 0.3, 0.2});
  auto c = draw({.temperature = 1.0f, .seed = 1}, l, 20000);
  EXPECT_NEAR(c[0] / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(c[1] / 20000.0, 0.3, 0.02);
  EXPECT_NEAR(c[2] / 20000.0, 0.2, 0.02);
  // Same seed, same tokens; another seed, another sequence.
  Sampler a({.temperature = 1.0f, .seed = 9}), b({.temperature = 1.0f, .seed = 9}), d({.temperature = 1.0f, .seed = 10});
  std::vector<int32_t> sa, sb, sd;
  for (int i = 0; i < 64; ++i) { sa.push_back(a.sample(l, {})); sb.push_back(b.sample(l, {})); sd.push_back(d.sample(l, {})); }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sd);
  // A low temperature sharpens towards the top token; a high one flattens.
  auto cold = draw({.temperature = 0.1f, .seed = 2}, l, 2000);
  EXPECT_GT(cold[0], 1950);
  auto hot = draw({.temperature = 100.0f, .seed = 2}, l, 3000);
  EXPECT_NEAR(hot[2] / 3000.0, 1.0 / 3, 0.04);
}

TEST(Sampler, TopKKeepsTheKBest) {
  std::vector<float> l = logp({0.1, 0.4, 0.2, 0.3});
  auto c = draw({.temperature = 1.0f, .top_k = 2, .seed = 3}, l, 4000);
  EXPECT_EQ(c.count(0) + c.count(2), 0u);
  EXPECT_NEAR(c[1] / 4000.0, 0.4 / 0.7, 0.03);
  c = draw({.temperature = 5.0f, .top_k = 1, .seed = 3}, l, 100);
  EXPECT_EQ(c[1], 100);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  std::vector<float> l = logp({0.5, 0.3, 0.15, 0.05});
  auto c = draw({.temperature = 1.0f, .top_p = 0.7f, .seed = 4}, l, 4000);  // 0.5 + 0.3 reaches it
  EXPECT_EQ(c.count(2) + c.count(3), 0u);
  EXPECT_NEAR(c[0] / 4000.0, 0.5 / 0.8, 0.03);
  c = draw({.temperature = 1.0f, .top_p = 0.9f, .seed = 4}, l, 4000);
  EXPECT_EQ(c.count(3), 0u);
  EXPECT_GT(c[2], 0);
  c = draw({.temperature = 1.0f, .top_p = 0.01f, .seed = 4}, l, 100);  // at least one survives
  EXPECT_EQ(c[0], 100);
}

TEST(Sampler, MinPDropsTokensBelowAShareOfTheBest) {
  std::vector<float> l = logp({0.4, 0.3, 0.19, 0.11});
  auto c = draw({.temperature = 1.0f, .min_p = 0.5f, .seed = 5}, l, 4000);  // keeps p >= 0.2
  EXPECT_EQ(c.count(2) + c.count(3), 0u);
  EXPECT_GT(c[1], 0);
  c = draw({.temperature = 1.0f, .min_p = 0.25f, .seed = 5}, l, 4000);  // keeps p >= 0.1
  EXPECT_GT(c[3], 0);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveMultipliesNegative) {
  // Token 0 leads; once penalised (3.0 / 2 = 1.5) token 1 (2.0) wins.
  std::vector<float> l = {3.0f, 2.0f, -1.0f, -1.2f};
  std::vector<int32_t> hist = {0, 0, 0};
  EXPECT_EQ(Sampler({}).sample(l, hist), 0);
  EXPECT_EQ(Sampler({.repeat_penalty = 2.0f}).sample(l, hist), 1);
  // Negative logits are multiplied: with tokens 0 and 1 out of the way, -1 * 1.5 = -1.5 < -1.2.
  std::vector<float> n = {-1.0f, -1.2f};
  std::vector<int32_t> h0 = {0};
  EXPECT_EQ(Sampler({}).sample(n, h0), 0);
  EXPECT_EQ(Sampler({.repeat_penalty = 1.5f}).sample(n, h0), 1);
  // Only the last N tokens count, and each distinct token once (1.5 twice would be 0.75 < 1.2... any way: once).
  std::vector<int32_t> old = {0, 3, 3, 3};
  EXPECT_EQ(Sampler({.repeat_penalty = 2.0f, .repeat_last_n = 3}).sample(l, old), 0);
  std::vector<float> m = {2.9f, 2.0f};
  std::vector<int32_t> twice = {0, 0};
  EXPECT_EQ(Sampler({.repeat_penalty = 1.4f}).sample(m, twice), 0);  // 2.9/1.4 = 2.07 > 2.0; twice would be 1.48
}

TEST(Sampler, ValidateNamesTheOption) {
  EXPECT_TRUE(validate({}));
  EXPECT_EQ(validate({.temperature = -1}).error().code, Errc::Usage);
  EXPECT_NE(validate({.top_p = 0}).error().detail.find("top-p"), std::string::npos);
  EXPECT_NE(validate({.min_p = 2}).error().detail.find("min-p"), std::string::npos);
  EXPECT_NE(validate({.repeat_penalty = 0}).error().detail.find("repeat penalty"), std::string::npos);
}

TEST(Generate, MaxTokensStopIdsStringsAndContext) {
  Sampler greedy({});
  std::vector<int32_t> prompt = {3};
  {
    Counter c;
    auto g = generate(c, greedy, prompt, {.max_tokens = 4});
    ASSERT_TRUE(g);
    EXPECT_EQ(g->tokens, (std::vector<int32_t>{4, 5, 6, 7}));
    EXPECT_EQ(g->reason, StopReason::MaxTokens);
    EXPECT_EQ(c.pos, 4u);  // the prompt + 3 (the last token is never evaluated)
  }
  {
    Counter c;
    auto g = generate(c, greedy, prompt, {.max_tokens = 20, .stop_ids = {7}});
    ASSERT_TRUE(g);
    EXPECT_EQ(g->tokens, (std::vector<int32_t>{4, 5, 6}));
    EXPECT_EQ(g->reason, StopReason::StopToken);
  }
  {
    Counter c;
    GenerateOptions o{.max_tokens = 20, .stop_strings = {"56"}, .piece = [](int32_t t) { return std::to_string(t); }};
    auto g = generate(c, greedy, prompt, o);  // "4" "5" "6": the stop string straddles two tokens
    ASSERT_TRUE(g);
    EXPECT_EQ(g->tokens, (std::vector<int32_t>{4, 5, 6}));
    EXPECT_EQ(g->text, "4");
    EXPECT_EQ(g->reason, StopReason::StopString);
  }
  {
    Counter c;
    c.n_ctx = 5;
    auto g = generate(c, greedy, prompt, {.max_tokens = 20});
    ASSERT_TRUE(g);
    EXPECT_EQ(g->reason, StopReason::ContextFull);
    EXPECT_EQ(g->tokens.size(), 5u);  // 4 evaluated after the prompt, the 5th sampled then refused
  }
  {
    Counter c;
    c.n_ctx = 0;
    auto g = generate(c, greedy, prompt, {});
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, Errc::ContextFull);  // a prompt that does not fit is an error
  }
  {
    Counter c;
    int seen = 0;
    auto g = generate(c, greedy, prompt, {.max_tokens = 20}, [&](int32_t) { return ++seen < 2; });
    ASSERT_TRUE(g);
    EXPECT_EQ(g->tokens.size(), 2u);
    EXPECT_FALSE(generate(c, greedy, prompt, {.stop_strings = {"x"}}));  // no detokenizer
  }
}

TEST(Sampler, TheWholeChainAtOnce) {
  // llm run's defaults (top-k 40, top-p 0.95, min-p 0.05, temperature 0.8) and a penalty together:
  // only tokens every stage keeps ever come out; another seed gives another sequence.
  std::vector<double> p(60);
  for (size_t i = 0; i < p.size(); ++i) p[i] = 1.0 / double(i + 2);  // decreasing, id 0 likeliest
  double sum = 0;
  for (double x : p) sum += x;
  for (double& x : p) x /= sum;
  const std::vector<float> l = logp(p);
  SamplerOptions o{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.3f, .seed = 7};
  const std::vector<int32_t> history = {0};  // token 0 penalised: 1 becomes likeliest
  auto seq = [&](uint64_t seed) {
    SamplerOptions s = o;
    s.seed = seed;
    Sampler sm(s);
    std::vector<int32_t> out;
    for (int i = 0; i < 3000; ++i) out.push_back(sm.sample(l, history));
    return out;
  };
  const auto a = seq(7), b = seq(7), c = seq(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Here top-k 40 is the binding cut (top-p 0.95 and min-p 0.05 would keep more of the tail).
  std::set<int32_t> seen(a.begin(), a.end());
  EXPECT_LT(*seen.rbegin(), 40);
  EXPECT_GT(seen.size(), 10u);
  EXPECT_TRUE(seen.count(1));
}
