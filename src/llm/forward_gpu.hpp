// forward_gpu.hpp: the llama forward pass on the GPU through Dawn, all WGSL (kernels/llm_*.wgsl):
// the same packed weights as the CPU reference (GGUF blocks uploaded as-is), one submit per batch.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "llm/model.hpp"
#include "llm/sampler.hpp"

namespace pxos::llm {

// Kernel versions stay side by side: a new matvec or attention kernel is a new enum value and
// file, chosen here (the benches and tests name the one they ran).
enum class GpuMatvecKernel { v1 };     // kernels/llm_matvec.wgsl: fused dequant, norm, epilogues
enum class GpuAttentionKernel { v1 };  // kernels/llm_attention.wgsl: online softmax, fused RoPE

struct GpuOptions {
  uint32_t n_ctx = 0;     // 0: the model's context length; else at most that (sizes the KV cache)
  bool timed = false;     // GPU timestamps around each submit (stats().gpu_ms)
  bool profile = false;   // one timed submit per dispatch (slow): stats().kind_ms
  GpuMatvecKernel matvec = GpuMatvecKernel::v1;
  GpuAttentionKernel attention = GpuAttentionKernel::v1;
};

struct GpuStats {
  uint64_t submits = 0, dispatches = 0;  // totals since creation
  uint64_t last_dispatches = 0;          // of the last submit
  double last_gpu_ms = -1;               // GPU time of the last submit's pass (timed), else -1
  double gpu_ms = 0;                     // sum over timed submits
  uint64_t weight_bytes = 0, kv_bytes = 0, other_bytes = 0;  // GPU memory allocated, by use
  // profile: GPU ms summed per kind of dispatch, in kind_names order.
  static constexpr const char* kind_names[7] = {"embed", "qkv+norm", "attention+rope", "wo+residual",
                                                "gate/up+norm+silu", "down+residual", "head+norm"};
  double kind_ms[7] = {};
};

class GpuSession : public LogitsSource {
 public:
  // Uploads MODEL's weights (which must outlive the session). GpuUnavailable without an adapter;
  // Unsupported (naming the tensor) for a matrix whose type or width the kernels do not read.
  static Result<std::unique_ptr<GpuSession>> create(const Model& model, GpuOptions o = {});
  ~GpuSession() override;
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;

  // The CPU Session's contract: logits after the last token (n_vocab floats, valid until the next
  // call); Usage for a token outside the vocabulary, ContextFull past n_ctx, nothing evaluated.
  Result<std::span<const float>> eval(std::span<const int32_t> tokens) override;
  // The logits after every token: tokens.size() rows of n_vocab.
  Result<std::vector<float>> eval_all(std::span<const int32_t> tokens);

  uint32_t pos() const { return pos_; }
  uint32_t n_ctx() const { return n_ctx_; }
  void reset() { pos_ = 0; }
  // Forgets every position from N on, as Session::rewind (llm chat keeps a shared prefix).
  void rewind(uint32_t n) { pos_ = n < pos_ ? n : pos_; }
  const Model& model() const { return m_; }
  const GpuStats& stats() const { return stats_; }
  // Dispatches one decode step (one token, logits wanted) records: 2 + 5 per layer.
  uint64_t dispatches_per_token() const;

 private:
  explicit GpuSession(const Model& m);
  Status check(std::span<const int32_t> tokens) const;
  // Evaluates TOKENS (at most the batch size) at pos_ in one submit; logits of the last token
  // (all = false) or of every token (all = true, at most the logit rows) into logits_.
  Status run(std::span<const int32_t> tokens, bool want_logits, bool all);

  const Model& m_;
  uint32_t n_ctx_ = 0, pos_ = 0;
  bool timed_ = false, profile_ = false;
  GpuStats stats_;
  std::vector<float> logits_;
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace pxos::llm
