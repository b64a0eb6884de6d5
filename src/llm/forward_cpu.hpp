// forward_cpu.hpp: the CPU reference of the whole llama forward pass (llm.c style, fp32), one
// token at a time over a KV cache; the yardstick the GPU path and the peers are checked against.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "llm/model.hpp"
#include "llm/sampler.hpp"

namespace pxos::llm {

// How the reference does its arithmetic. F32: plain fp32 activations (the yardstick). Ggml: what
// ggml's CPU backend (the llama.cpp peer) does: every matvec's input vector is quantized to the
// weight type's vec_dot_type first (Q4_1 -> Q8_1, Q8_0/Q4_0 -> Q8_0, F16 -> F16, quant.hpp).
enum class ActQuant { F32, Ggml };
struct SessionOptions {
  unsigned threads = 1;  // matvec rows and attention heads are split between them (at most 64)
  uint32_t n_ctx = 0;    // 0: the model's context length; else at most that
  ActQuant act_quant = ActQuant::F32;
  // llama.cpp's default F16 KV cache without flash attention: K and V stored as f16, the query
  // rounded to f16 for Q.K and the softmax weights rounded to f16 for the V sum.
  bool kv_f16 = false;
};

class Session : public LogitsSource {
 public:
  // MODEL must outlive the session.
  explicit Session(const Model& model, SessionOptions o = {});
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends TOKENS at the current position and returns the logits after the last one (n_vocab
  // floats, valid until the next call). A token past the vocabulary is a Usage error, a batch
  // that would pass n_ctx is ContextFull; in both cases nothing was evaluated.
  Result<std::span<const float>> eval(std::span<const int32_t> tokens) override;
  // As eval, but the logits after every token: tokens.size() rows of n_vocab.
  Result<std::vector<float>> eval_all(std::span<const int32_t> tokens);

  uint32_t pos() const { return pos_; }
  uint32_t n_ctx() const { return n_ctx_; }
  unsigned threads() const;
  void reset() { pos_ = 0; }  // forgets the cache (its memory is kept)
  // Forgets every position from N on (N <= pos()): the next token is evaluated at position N.
  // Chat uses it to keep the cached prefix a new turn shares with the last one.
  void rewind(uint32_t n) { pos_ = std::min(pos_, n); }
  const Model& model() const { return m_; }

 private:
  Status check(std::span<const int32_t> tokens) const;
  void step(int32_t token, bool want_logits);

  const Model& m_;
  SessionOptions o_;
  uint32_t n_ctx_, pos_ = 0;
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace pxos::llm
