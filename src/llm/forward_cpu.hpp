// forward_cpu.hpp: the CPU reference of the whole llama forward pass (llm.c style, fp32), one
// token at a time over a KV cache; the yardstick the GPU path and the peers are checked against.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "llm/model.hpp"
#include "llm/sampler.hpp"

namespace pxos::llm {

struct SessionOptions {
  unsigned threads = 1;  // matvec rows and attention heads are split between them (at most 64)
  uint32_t n_ctx = 0;    // 0: the model's context length; else at most that
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
  const Model& model() const { return m_; }

 private:
  Status check(std::span<const int32_t> tokens) const;
  void step(int32_t token, bool want_logits);

  const Model& m_;
  uint32_t n_ctx_, pos_ = 0;
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace pxos::llm
