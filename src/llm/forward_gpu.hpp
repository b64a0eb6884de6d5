// forward_gpu.hpp: the llama forward pass on the GPU through Dawn, all WGSL (kernels/llm_*.wgsl):
// the same packed weights as the CPU reference (GGUF blocks uploaded as-is), one submit per batch.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "llm/model.hpp"
#include "llm/sampler.hpp"

namespace pxos::llm {

// Kernel versions stay side by side: a new matvec or attention kernel is a new enum value and
// file, chosen here (the benches and tests name the one they ran). A field left unset takes
// $PXOS_LLM_KERNELS (comma-separated: v1 or v2 for every kind, matvec=v1|v2, attention=v1|v2,
// prefill=matvec|tiled), else the newest.
enum class GpuMatvecKernel {
  v1,  // kernels/llm_matvec.wgsl: a row's lanes read whole blocks (strided), norm in a prologue
  v2,  // kernels/llm_matvec_v2.wgsl: a row's lanes read consecutive words, norm folded in
};
enum class GpuAttentionKernel {
  v1,  // kernels/llm_attention.wgsl: keys in blocks of 64, two reductions per block
  v2,  // kernels/llm_attention_v2.wgsl: 1024-key chunks, vec4 P V over key partitions
};
enum class GpuPrefillKernel {
  matvec,  // batches through the matvec kernel (the weights re-read every few tokens)
  tiled,   // kernels/llm_matmul.wgsl for batches of at least kTiledMinTokens tokens
};

struct GpuOptions {
  uint32_t n_ctx = 0;     // 0: the model's context length; else at most that (sizes the KV cache)
  bool timed = false;     // GPU timestamps around each submit (stats().gpu_ms)
  bool profile = false;   // one timed submit per dispatch (slow): stats().kind_ms
  std::optional<GpuMatvecKernel> matvec;
  std::optional<GpuAttentionKernel> attention;
  std::optional<GpuPrefillKernel> prefill;
  uint32_t attn_chunk = 0;  // llm_attention_v2's keys per chunk: 0 the tunable (tests set fewer)
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
  // The kernels this session runs, as the benches name them ("llm_matvec_v2", ...).
  std::string matvec_kernel() const, attention_kernel() const, prefill_kernel() const;
  // GPU ms of N dispatches of an empty kernel (one workgroup each) in one timed submit: the
  // per-dispatch floor of this device and Dawn (the benches' evidence); -1 without timestamps.
  Result<double> empty_dispatches_ms(uint32_t n);

 private:
  explicit GpuSession(const Model& m);
  Status check(std::span<const int32_t> tokens) const;
  // Evaluates TOKENS (at most the batch size) at pos_ in one submit; logits of the last token
  // (all = false) or of every token (all = true, at most the logit rows) into logits_.
  Status run(std::span<const int32_t> tokens, bool want_logits, bool all);

  const Model& m_;
  uint32_t n_ctx_ = 0, pos_ = 0;
  bool timed_ = false, profile_ = false;
  GpuMatvecKernel matvec_ = GpuMatvecKernel::v2;
  GpuAttentionKernel attention_ = GpuAttentionKernel::v2;
  GpuPrefillKernel prefill_ = GpuPrefillKernel::tiled;
  GpuStats stats_;
  std::vector<float> logits_;
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace pxos::llm
