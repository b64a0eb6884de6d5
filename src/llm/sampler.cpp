// sampler.cpp: the sampling chain in llama.cpp's default order. Candidates are sorted by logit
// with ties broken by the lower id, and probabilities are summed in double, so a seed always
// yields the same tokens for the same logits.
#include "llm/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace pxos::llm {
namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& w : s_) w = splitmix64(seed);
}
uint64_t Rng::next() {
  const uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return r;
}
double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

Status validate(const SamplerOptions& o) {
  if (!std::isfinite(o.temperature) || o.temperature < 0) return failf(Errc::Usage, "temperature {} must be 0 or more", o.temperature);
  if (!(o.top_p > 0 && o.top_p <= 1)) return failf(Errc::Usage, "top-p {} must be in (0, 1]", o.top_p);
  if (!(o.min_p >= 0 && o.min_p <= 1)) return failf(Errc::Usage, "min-p {} must be in [0, 1]", o.min_p);
  if (!(std::isfinite(o.repeat_penalty) && o.repeat_penalty > 0)) return failf(Errc::Usage, "repeat penalty {} must be positive", o.repeat_penalty);
  return {};
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  auto& c = cand_;
  c.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) c[i] = {logits[i], int32_t(i)};
  // Repetition penalty (llama.cpp): once per distinct recent token, a positive logit is divided
  // by the penalty and a negative one multiplied, so both move towards "less likely".
  if (o_.repeat_penalty != 1.0f && o_.repeat_last_n) {
    size_t n = std::min<size_t>(history.size(), o_.repeat_last_n);
    std::unordered_set<int32_t> seen;
    for (int32_t t : history.subspan(history.size() - n)) {
      if (t < 0 || size_t(t) >= c.size() || !seen.insert(t).second) continue;
      float& l = c[size_t(t)].first;
      l = l > 0 ? l / o_.repeat_penalty : l * o_.repeat_penalty;
    }
  }
  auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  if (o_.temperature <= 0.0f) return std::min_element(c.begin(), c.end(), better)->second;
  size_t keep = c.size();
  if (o_.top_k && o_.top_k < keep) {
    keep = o_.top_k;
    std::partial_sort(c.begin(), c.begin() + ptrdiff_t(keep), c.end(), better);
  } else {
    std::sort(c.begin(), c.end(), better);
  }
  // top-p and min-p look at the distribution before temperature, as llama.cpp's chain does.
  auto probs = [&](size_t n, double temp, std::vector<double>& p) {
    p.resize(n);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp((double(c[i].first) - double(c[0].first)) / temp);
    for (auto& x : p) x /= sum;
  };
  std::vector<double> p;
  if (o_.top_p < 1.0f) {
    probs(keep, 1.0, p);
    double cum = 0.0;
    size_t i = 0;
    while (i < keep) {
      cum += p[i++];
      if (cum >= double(o_.top_p)) break;
    }
    keep = std::max<size_t>(1, i);
  }
  if (o_.min_p > 0.0f) {
    // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p)
    const double bar = double(c[0].first) + std::log(double(o_.min_p));
    size_t i = 1;
    while (i < keep && double(c[i].first) >= bar) ++i;
    keep = i;
  }
  probs(keep, double(o_.temperature), p);
  const double u = rng_.uniform();
  double cum = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    cum += p[i];
    if (u < cum) return c[i].second;
  }
  return c[keep - 1].second;  // u within rounding of 1
}

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::MaxTokens: return "max_tokens";
    case StopReason::StopToken: return "stop_token";
    case StopReason::StopString: return "stop_string";
    case StopReason::ContextFull: return "context_full";
  }
  return "?";
}

Result<Generation> generate(LogitsSource& src, Sampler& s, std::span<const int32_t> prompt,
                            const GenerateOptions& o, const std::function<bool(int32_t)>& on_token) {
  if (!o.stop_strings.empty() && !o.piece) return fail(Errc::Usage, "stop strings need a detokenizer");
  for (auto& st : o.stop_strings)
    if (st.empty()) return fail(Errc::Usage, "an empty stop string");
  Generation g;
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  auto logits = src.eval(prompt);
  if (!logits) return std::unexpected(std::move(logits.error()));
  size_t longest = 0;
  for (auto& st : o.stop_strings) longest = std::max(longest, st.size());
  while (g.tokens.size() < o.max_tokens) {
    const int32_t t = s.sample(*logits, history);
    if (std::find(o.stop_ids.begin(), o.stop_ids.end(), t) != o.stop_ids.end()) {
      g.reason = StopReason::StopToken;
      return g;
    }
    g.tokens.push_back(t);
    history.push_back(t);
    if (o.piece) {
      const size_t before = g.text.size();
      g.text += o.piece(t);
      // A stop string may straddle tokens: search from where one could have begun.
      const size_t from = before >= longest ? before - longest + 1 : 0;
      size_t at = std::string::npos;
      for (auto& st : o.stop_strings) at = std::min(at, g.text.find(st, from));
      if (at != std::string::npos) {
        g.text.resize(at);
        g.reason = StopReason::StopString;
        return g;
      }
    }
    if (on_token && !on_token(t)) break;
    if (g.tokens.size() == o.max_tokens) break;
    logits = src.eval(std::span<const int32_t>(&g.tokens.back(), 1));
    if (!logits) {
      if (logits.error().code != Errc::ContextFull) return std::unexpected(std::move(logits.error()));
      g.reason = StopReason::ContextFull;
      return g;
    }
  }
  g.reason = StopReason::MaxTokens;
  return g;
}

}  // namespace pxos::llm
