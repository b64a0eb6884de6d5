// sampler.hpp: next-token choice from logits with llama.cpp's semantics and order (repetition
// penalty, top-k, top-p, min-p, temperature, then a seeded draw), and the generation loop with
// its stop rules (stop token ids, stop strings, max tokens, the end of the context).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace pxos::llm {

// xoshiro256** seeded through splitmix64: the same seed gives the same draws on every build
// (std:: distributions differ between standard libraries).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1), 53 bits
 private:
  uint64_t s_[4];
};

struct SamplerOptions {
  float temperature = 0.0f;      // <= 0: greedy (after the penalty)
  uint32_t top_k = 0;            // 0: off
  float top_p = 1.0f;            // 1: off
  float min_p = 0.0f;            // 0: off
  float repeat_penalty = 1.0f;   // 1: off
  uint32_t repeat_last_n = 64;   // how many of the latest tokens the penalty looks at
  uint64_t seed = 0;
};
// A Usage error naming the first bad option (negative temperature, top_p outside (0,1], ...).
Status validate(const SamplerOptions& o);

class Sampler {
 public:
  explicit Sampler(SamplerOptions o) : o_(o), rng_(o.seed) {}
  // The next token after LOGITS, given the tokens so far (prompt and generated) in HISTORY.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  const SamplerOptions& options() const { return o_; }

 private:
  SamplerOptions o_;
  Rng rng_;
  std::vector<std::pair<float, int32_t>> cand_;  // scratch: (logit, id)
};

enum class StopReason { MaxTokens, StopToken, StopString, ContextFull };
const char* stop_reason_name(StopReason r);

struct GenerateOptions {
  uint32_t max_tokens = 128;
  std::vector<int32_t> stop_ids;          // e.g. the model's EOS; not included in the output
  std::vector<std::string> stop_strings;  // matched on the decoded text; needs `piece`
  std::function<std::string(int32_t)> piece;  // token id -> its bytes
};

struct Generation {
  std::vector<int32_t> tokens;  // generated, without a stop token
  std::string text;             // the pieces of `tokens`, cut before a matched stop string
  StopReason reason = StopReason::MaxTokens;
};

// What generation needs of a model: append tokens, get the last logits; ContextFull when full.
struct LogitsSource {
  virtual ~LogitsSource() = default;
  virtual Result<std::span<const float>> eval(std::span<const int32_t> tokens) = 0;
};

// Evaluates PROMPT (an error if it does not fit), then samples until a stop rule holds; reaching
// the end of the context stops generation (reason ContextFull) rather than failing it.
// ON_TOKEN sees each kept token as it comes (streaming); returning false stops like max tokens.
Result<Generation> generate(LogitsSource& src, Sampler& s, std::span<const int32_t> prompt,
                            const GenerateOptions& o, const std::function<bool(int32_t)>& on_token = {});

}  // namespace pxos::llm
