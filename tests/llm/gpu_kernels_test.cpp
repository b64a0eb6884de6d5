// gpu_kernels_test.cpp: the LLM kernels one at a time against the CPU reference's pieces: the
// fused dequant matvec for every block type, with and without the RMSNorm prologue, for several
// tokens, and its residual and SwiGLU epilogues (random blocks, seed printed).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "../gpu/gpu_test_util.hpp"
#include "gguf_writer.hpp"
#include "gpu/half.hpp"
#include "gpu/runtime.hpp"
#include "llm/quant.hpp"

using namespace pxos;
using namespace pxos::llm;

namespace {
struct MatParams {
  uint32_t n_tok, tok_base, cols, x_stride, y_stride, mode, norm;
  float eps;
  uint32_t rows0, rows1, n_out, ty0, ty1, ty2, stride0, stride1, stride2, pad[3];
};

// A random packed matrix of ROWS x COLS of type T (finite f16 scales of moderate size).
Bytes random_matrix(GgmlType t, size_t rows, size_t cols, std::mt19937& g) {
  const size_t stride = row_bytes(t, cols);
  Bytes b(rows * stride);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& c : b) c = uint8_t(g());
  auto put_half = [&](size_t at, float v) {
    uint16_t h = gpu::f32_to_f16(v);
    std::memcpy(&b[at], &h, 2);
  };
  for (size_t r = 0; r < rows; ++r) {
    uint8_t* row = &b[r * stride];
    for (size_t i = 0; i < cols / 32; ++i) {
      const size_t o = size_t(row - b.data());
      switch (t) {
        case GgmlType::Q4_1: put_half(o + i * 20, 0.05f + 0.01f * u(g)); put_half(o + i * 20 + 2, 0.3f * u(g)); break;
        case GgmlType::Q4_0: put_half(o + i * 18, 0.05f + 0.01f * u(g)); break;
        case GgmlType::Q8_0: put_half(o + i * 34, 0.01f + 0.002f * u(g)); break;
        default: break;
      }
    }
    if (t == GgmlType::F32)
      for (size_t i = 0; i < cols; ++i) { float v = u(g); std::memcpy(row + 4 * i, &v, 4); }
    if (t == GgmlType::F16)
      for (size_t i = 0; i < cols; ++i) put_half(size_t(row - b.data()) + 2 * i, u(g));
  }
  return b;
}

template <class T> Bytes as_bytes(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
std::vector<float> floats(const Bytes& b) {
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}
void near(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_GE(got.size(), want.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f + 1e-4f * std::fabs(want[i])) && bad++ < 5)
      ADD_FAILURE() << what << ": [" << i << "] gpu " << got[i] << " cpu " << want[i];
}
}  // namespace

TEST(LlmKernels, MatvecEveryTypeNormAndEpilogues) {
  PXOS_REQUIRE_GPU();
  std::mt19937 g(uint32_t(::pxos::gpu::testing::test_seed()));
  const uint32_t ntok = 7;  // several token tiles, the last one partial
  for (auto [cols, rows] : {std::pair<uint32_t, uint32_t>{96, 10}, {576, 40}})
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0}) {
    SCOPED_TRACE(::testing::Message() << type_info(uint32_t(t))->name << " " << rows << "x" << cols);
    Bytes w = random_matrix(t, rows, cols, g), w2 = random_matrix(t, rows, cols, g);
    const size_t stride = row_bytes(t, cols);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> x(size_t(ntok) * cols), nw(cols), y0(size_t(ntok) * rows * 2);
    for (auto& v : x) v = u(g);
    for (auto& v : nw) v = u(g);
    for (auto& v : y0) v = u(g);
    for (uint32_t mode : {0u, 1u, 2u})
      for (uint32_t norm : {0u, 1u}) {
        SCOPED_TRACE(::testing::Message() << "mode " << mode << " norm " << norm);
        MatParams p{};
        p.n_tok = ntok;
        p.cols = p.x_stride = cols;
        p.mode = mode;
        p.norm = norm;
        p.eps = 1e-5f;
        p.rows0 = rows;
        p.rows1 = mode == 2 ? rows : 0;
        p.n_out = mode == 2 ? 2 * rows : rows;
        p.y_stride = rows;
        p.ty0 = p.ty1 = p.ty2 = uint32_t(t);
        p.stride0 = p.stride1 = p.stride2 = uint32_t(stride);
        // CPU: the norm as forward_cpu (double sum), then dot_row per row.
        std::vector<float> want(size_t(ntok) * rows);
        for (uint32_t k = 0; k < ntok; ++k) {
          std::vector<float> xn(x.begin() + k * cols, x.begin() + (k + 1) * cols);
          if (norm) {
            double ss = 0;
            for (float a : xn) ss += double(a * a);
            const float sc = 1.0f / std::sqrt(float(ss / cols) + 1e-5f);
            for (uint32_t i = 0; i < cols; ++i) xn[i] = (xn[i] * sc) * nw[i];
          }
          for (uint32_t r = 0; r < rows; ++r) {
            const float a = dot_row(t, w.data() + r * stride, xn.data(), cols);
            float& o = want[size_t(k) * rows + r];
            if (mode == 0) o = a;
            if (mode == 1) o = y0[size_t(k) * rows + r] + a;
            if (mode == 2) {
              const float up = dot_row(t, w2.data() + r * stride, xn.data(), cols);
              o = a / (1.0f + std::exp(-a)) * up;
            }
          }
        }
        Bytes pb(sizeof p);
        std::memcpy(pb.data(), &p, sizeof p);
        const uint32_t groups = (p.n_out + 3) / 4;
        auto out = gpu::run_kernel("llm_matvec", "main",
                                   {pb, as_bytes(x), as_bytes(nw), w, mode == 2 ? w2 : Bytes(4), Bytes(4), as_bytes(y0)},
                                   {groups, 1, 1});
        ASSERT_TRUE(out) << out.error().to_string();
        near(floats((*out)[6]), want, "matvec");
      }
  }
}
