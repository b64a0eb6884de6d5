// reference.hpp: plain C++ references for every GPU kernel (double accumulation), and the
// comparison used by tests and benches: abs + rel tolerance, NaN/Inf never pass.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pxos::gpu::ref {

std::vector<float> matmul(std::span<const float> A, std::span<const float> B, uint32_t M, uint32_t N,
                          uint32_t K);
std::vector<float> softmax(std::span<const float> X, uint32_t rows, uint32_t cols);
std::vector<float> layernorm(std::span<const float> X, std::span<const float> gamma,
                             std::span<const float> beta, uint32_t rows, uint32_t cols, float eps);
std::vector<float> rmsnorm(std::span<const float> X, std::span<const float> gamma, uint32_t rows,
                           uint32_t cols, float eps);
std::vector<float> relu(std::span<const float> X);
std::vector<float> leaky_relu(std::span<const float> X, float alpha);
std::vector<float> gelu(std::span<const float> X);
std::vector<float> silu(std::span<const float> X);
std::vector<float> rotary_inv_freq(uint32_t D, double base);  // base^(-2i/D), as f32
std::vector<float> rotary(std::span<const float> X, std::span<const float> inv_freq, uint32_t T,
                          uint32_t H, uint32_t D, uint32_t offset);
std::vector<float> attention(std::span<const float> Q, std::span<const float> K,
                             std::span<const float> V, uint32_t H, uint32_t N, uint32_t D,
                             bool causal);

struct Comparison {
  bool ok = true;
  double max_abs = 0;      // max |got - want|
  double max_rel = 0;      // max |got - want| / max |want|  (max-norm relative error)
  size_t mismatches = 0;
  std::string first;       // the first few mismatches, "i=..: got .. want .."
};
// Element i passes when |got - want| <= atol_scale * max|want| + rtol * |want| and got is finite.
Comparison compare(std::span<const float> got, std::span<const float> want, double rtol,
                   double atol_scale);

}  // namespace pxos::gpu::ref
