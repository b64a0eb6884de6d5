// ops.hpp: the GPU kernels as C++ operations. Each op has a prepare_* that uploads inputs and
// picks the kernel (an Launch to run and time repeatedly, as the benches do) and a one-shot
// wrapper. Inputs are checked (empty or mis-sized input is Errc::Usage with a clear message).
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gpu/runtime.hpp"

namespace pxos::gpu {

// Matmul kernel versions, side by side: v1 naive, v2 tiled (register + workgroup memory),
// v2s the same tiling with the small tile where the large one gives too few workgroups to fill
// the GPU (1024^3), v3 subgroup reduction (for skinny shapes).
enum class MatmulKernel { v1, v2, v2s, v3 };
Result<MatmulKernel> parse_matmul_kernel(std::string_view s);
const char* matmul_kernel_name(MatmulKernel k);

// Rotary kernel versions, side by side: v1 one invocation per element pair (rotary.wgsl), v2 one
// per (position, pair) across all heads (rotary_heads.wgsl: cos/sin once per position and pair),
// v3 one per (position, 4 pairs, group of heads) with 16-byte accesses (rotary_vec4.wgsl; needs
// D % 8 == 0, other D run v2).
enum class RotaryKernel { v1, v2, v3 };
Result<RotaryKernel> parse_rotary_kernel(std::string_view s);

// Defaults (here and in `pxos gpu bench`) stay the kernels measured fastest on the H100 so far:
// matmul v2, rotary v2, attention v1, until v2s, v3 and attention v2 are measured there.
// Attention kernel versions, side by side: v1 one query row per 8 invocations with scalar dot
// products (attention.wgsl), v2 FlashAttention-2 tiling with register-blocked QK^T and PV
// (attention_v2[_vec4].wgsl, lib/attention_fa2.wgsl).
enum class AttentionKernel { v1, v2 };
Result<AttentionKernel> parse_attention_kernel(std::string_view s);

enum class Activation { relu, leaky_relu, gelu, silu };

// A prepared dispatch: pipeline, its buffers (inputs uploaded), workgroup counts.
struct Launch {
  Pipeline* pipeline = nullptr;
  std::vector<Buffer> buffers;
  std::array<uint32_t, 3> groups{1, 1, 1};
  size_t output = 0;       // index of the output buffer
  uint64_t output_bytes = 0;
  std::string kernel;      // which kernel file / entry ran
  Result<DispatchTiming> run(int repeats = 1, bool timed = false);
  Result<Bytes> read_output();
};

Result<Launch> prepare_matmul(std::span<const float> A, std::span<const float> B, uint32_t M,
                              uint32_t N, uint32_t K, MatmulKernel kernel);
Result<Launch> prepare_matmul_f16(std::span<const uint16_t> A, std::span<const uint16_t> B,
                                  uint32_t M, uint32_t N, uint32_t K);
Result<Launch> prepare_softmax(std::span<const float> X, uint32_t rows, uint32_t cols);
Result<Launch> prepare_layernorm(std::span<const float> X, std::span<const float> gamma,
                                 std::span<const float> beta, uint32_t rows, uint32_t cols, float eps);
Result<Launch> prepare_rmsnorm(std::span<const float> X, std::span<const float> gamma, uint32_t rows,
                               uint32_t cols, float eps);
Result<Launch> prepare_activation(Activation act, std::span<const float> X, float alpha = 0.01f);
Result<Launch> prepare_rotary(std::span<const float> X, std::span<const float> inv_freq, uint32_t T,
                              uint32_t H, uint32_t D, uint32_t offset, RotaryKernel kernel = RotaryKernel::v2);
Result<Launch> prepare_attention(std::span<const float> Q, std::span<const float> K,
                                 std::span<const float> V, uint32_t H, uint32_t N, uint32_t D,
                                 bool causal, AttentionKernel kernel = AttentionKernel::v1);

// One-shot forms: run once, return the output.
Result<std::vector<float>> matmul(std::span<const float> A, std::span<const float> B, uint32_t M,
                                  uint32_t N, uint32_t K, MatmulKernel kernel = MatmulKernel::v2);
Result<std::vector<uint16_t>> matmul_f16(std::span<const uint16_t> A, std::span<const uint16_t> B,
                                         uint32_t M, uint32_t N, uint32_t K);
Result<std::vector<float>> softmax(std::span<const float> X, uint32_t rows, uint32_t cols);
Result<std::vector<float>> layernorm(std::span<const float> X, std::span<const float> gamma,
                                     std::span<const float> beta, uint32_t rows, uint32_t cols,
                                     float eps = 1e-5f);
Result<std::vector<float>> rmsnorm(std::span<const float> X, std::span<const float> gamma,
                                   uint32_t rows, uint32_t cols, float eps = 1e-5f);
Result<std::vector<float>> activation(Activation act, std::span<const float> X, float alpha = 0.01f);
Result<std::vector<float>> rotary(std::span<const float> X, std::span<const float> inv_freq,
                                  uint32_t T, uint32_t H, uint32_t D, uint32_t offset = 0,
                                  RotaryKernel kernel = RotaryKernel::v2);
Result<std::vector<float>> attention(std::span<const float> Q, std::span<const float> K,
                                     std::span<const float> V, uint32_t H, uint32_t N, uint32_t D,
                                     bool causal, AttentionKernel kernel = AttentionKernel::v1);

std::vector<float> bytes_to_floats(const Bytes& b);
std::vector<uint16_t> bytes_to_halves(const Bytes& b);

}  // namespace pxos::gpu
