// reference.cpp: the CPU references, straightforward loops in double.
#include "gpu/reference.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace pxos::gpu::ref {

std::vector<float> matmul(std::span<const float> A, std::span<const float> B, uint32_t M, uint32_t N,
                          uint32_t K) {
  std::vector<double> acc(N);
  std::vector<float> C(size_t(M) * N);
  for (uint32_t i = 0; i < M; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (uint32_t k = 0; k < K; ++k) {
      double a = A[size_t(i) * K + k];
      const float* b = &B[size_t(k) * N];
      for (uint32_t j = 0; j < N; ++j) acc[j] += a * b[j];
    }
    for (uint32_t j = 0; j < N; ++j) C[size_t(i) * N + j] = float(acc[j]);
  }
  return C;
}

std::vector<float> softmax(std::span<const float> X, uint32_t rows, uint32_t cols) {
  std::vector<float> Y(X.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const float* x = &X[size_t(r) * cols];
    double m = -INFINITY, s = 0;
    for (uint32_t c = 0; c < cols; ++c) m = std::max(m, double(x[c]));
    for (uint32_t c = 0; c < cols; ++c) s += std::exp(double(x[c]) - m);
    for (uint32_t c = 0; c < cols; ++c) Y[size_t(r) * cols + c] = float(std::exp(double(x[c]) - m) / s);
  }
  return Y;
}

std::vector<float> layernorm(std::span<const float> X, std::span<const float> gamma,
                             std::span<const float> beta, uint32_t rows, uint32_t cols, float eps) {
  std::vector<float> Y(X.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const float* x = &X[size_t(r) * cols];
    double mean = 0, var = 0;
    for (uint32_t c = 0; c < cols; ++c) mean += x[c];
    mean /= cols;
    for (uint32_t c = 0; c < cols; ++c) var += (x[c] - mean) * (x[c] - mean);
    var /= cols;
    double rstd = 1.0 / std::sqrt(var + eps);
    for (uint32_t c = 0; c < cols; ++c)
      Y[size_t(r) * cols + c] = float((x[c] - mean) * rstd * gamma[c] + beta[c]);
  }
  return Y;
}

std::vector<float> rmsnorm(std::span<const float> X, std::span<const float> gamma, uint32_t rows,
                           uint32_t cols, float eps) {
  std::vector<float> Y(X.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const float* x = &X[size_t(r) * cols];
    double q = 0;
    for (uint32_t c = 0; c < cols; ++c) q += double(x[c]) * x[c];
    double rstd = 1.0 / std::sqrt(q / cols + eps);
    for (uint32_t c = 0; c < cols; ++c) Y[size_t(r) * cols + c] = float(x[c] * rstd * gamma[c]);
  }
  return Y;
}

std::vector<float> relu(std::span<const float> X) {
  std::vector<float> Y(X.size());
  for (size_t i = 0; i < X.size(); ++i) Y[i] = X[i] > 0 ? X[i] : 0.0f;
  return Y;
}
std::vector<float> leaky_relu(std::span<const float> X, float alpha) {
  std::vector<float> Y(X.size());
  for (size_t i = 0; i < X.size(); ++i) Y[i] = X[i] >= 0 ? X[i] : float(double(alpha) * X[i]);
  return Y;
}
std::vector<float> gelu(std::span<const float> X) {
  std::vector<float> Y(X.size());
  const double k = std::sqrt(2.0 / M_PI);
  for (size_t i = 0; i < X.size(); ++i) {
    double x = X[i];
    Y[i] = float(0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x))));
  }
  return Y;
}
std::vector<float> silu(std::span<const float> X) {
  std::vector<float> Y(X.size());
  for (size_t i = 0; i < X.size(); ++i) Y[i] = float(X[i] / (1.0 + std::exp(-double(X[i]))));
  return Y;
}

std::vector<float> rotary_inv_freq(uint32_t D, double base) {
  std::vector<float> f(D / 2);
  for (uint32_t i = 0; i < D / 2; ++i) f[i] = float(std::pow(base, -2.0 * i / D));
  return f;
}

std::vector<float> rotary(std::span<const float> X, std::span<const float> inv_freq, uint32_t T,
                          uint32_t H, uint32_t D, uint32_t offset) {
  std::vector<float> Y(X.size());
  uint32_t half = D / 2;
  for (uint32_t t = 0; t < T; ++t)
    for (uint32_t h = 0; h < H; ++h) {
      size_t base = (size_t(t) * H + h) * D;
      for (uint32_t i = 0; i < half; ++i) {
        double a = double(t + offset) * double(inv_freq[i]);
        double c = std::cos(a), s = std::sin(a);
        double x0 = X[base + i], x1 = X[base + i + half];
        Y[base + i] = float(x0 * c - x1 * s);
        Y[base + i + half] = float(x0 * s + x1 * c);
      }
    }
  return Y;
}

std::vector<float> attention(std::span<const float> Q, std::span<const float> K,
                             std::span<const float> V, uint32_t H, uint32_t N, uint32_t D,
                             bool causal) {
  std::vector<float> O(Q.size());
  std::vector<double> s(N);
  const double scale = 1.0 / std::sqrt(double(D));
  for (uint32_t h = 0; h < H; ++h) {
    size_t off = size_t(h) * N * D;
    for (uint32_t i = 0; i < N; ++i) {
      uint32_t last = causal ? i + 1 : N;
      double m = -INFINITY;
      for (uint32_t j = 0; j < last; ++j) {
        double acc = 0;
        for (uint32_t e = 0; e < D; ++e) acc += double(Q[off + size_t(i) * D + e]) * K[off + size_t(j) * D + e];
        s[j] = acc * scale;
        m = std::max(m, s[j]);
      }
      double sum = 0;
      for (uint32_t j = 0; j < last; ++j) { s[j] = std::exp(s[j] - m); sum += s[j]; }
      for (uint32_t e = 0; e < D; ++e) {
        double acc = 0;
        for (uint32_t j = 0; j < last; ++j) acc += s[j] * V[off + size_t(j) * D + e];
        O[off + size_t(i) * D + e] = float(acc / sum);
      }
    }
  }
  return O;
}

Comparison compare(std::span<const float> got, std::span<const float> want, double rtol,
                   double atol_scale) {
  Comparison c;
  if (got.size() != want.size()) {
    c.ok = false;
    c.first = fmt::format("size {} != expected {}", got.size(), want.size());
    return c;
  }
  double scale = 0;
  for (float w : want) scale = std::max(scale, std::fabs(double(w)));
  double atol = atol_scale * scale;
  for (size_t i = 0; i < got.size(); ++i) {
    double g = got[i], w = want[i];
    double err = std::fabs(g - w);
    bool bad = !std::isfinite(g) || !(err <= atol + rtol * std::fabs(w));
    if (std::isfinite(err)) c.max_abs = std::max(c.max_abs, err);
    else c.max_abs = INFINITY;
    if (bad) {
      if (c.mismatches < 5) c.first += fmt::format("{}i={}: got {:.9g} want {:.9g}", c.mismatches ? "; " : "", i, g, w);
      ++c.mismatches;
      c.ok = false;
    }
  }
  c.max_rel = scale > 0 ? c.max_abs / scale : c.max_abs;
  return c;
}

}  // namespace pxos::gpu::ref
