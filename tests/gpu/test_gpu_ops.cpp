// test_gpu_ops.cpp: every kernel against its CPU reference on fresh random inputs, at odd sizes
// (1, 7, 129, 1000 where the op allows), plus empty / mis-sized input rejection.
#include <cmath>

#include "gpu/half.hpp"
#include "gpu/ops.hpp"
#include "gpu/reference.hpp"
#include "gpu_test_util.hpp"

namespace pxos::gpu {
namespace {
using testing::rnd;
using testing::test_seed;

constexpr double kRtol32 = 1e-4, kAtol32 = 1e-5;  // fp32: far under 1e-3
constexpr double kRtol16 = 1e-2, kAtol16 = 2e-3;  // f16 storage

#define EXPECT_CLOSE(got, want, rtol, atol)                                                    \
  do {                                                                                         \
    auto c_ = ref::compare(got, want, rtol, atol);                                             \
    EXPECT_TRUE(c_.ok) << c_.mismatches << " mismatches, max rel " << c_.max_rel << ": " << c_.first; \
  } while (0)

TEST(GpuOps, MatmulAllVersionsOddShapes) {
  PXOS_REQUIRE_GPU();
  std::mt19937_64 g(test_seed());
  struct S { uint32_t M, N, K; } shapes[] = {{1, 1, 1}, {7, 7, 7}, {129, 7, 33}, {1, 129, 1000},
                                             {130, 131, 17}, {64, 128, 256}};
  // v2s runs the small tile on every one of these (each gives far fewer than 132 large tiles).
  for (auto k : {MatmulKernel::v1, MatmulKernel::v2, MatmulKernel::v2s, MatmulKernel::v3}) {
    if (k == MatmulKernel::v3 && !rt->info().subgroups) continue;
    for (auto s : shapes) {
      SCOPED_TRACE(::testing::Message() << matmul_kernel_name(k) << " " << s.M << "x" << s.N << "x" << s.K);
      auto A = rnd(g, size_t(s.M) * s.K), B = rnd(g, size_t(s.K) * s.N);
      auto got = matmul(A, B, s.M, s.N, s.K, k);
      ASSERT_TRUE(got) << got.error().detail;
      EXPECT_CLOSE(*got, ref::matmul(A, B, s.M, s.N, s.K), kRtol32, kAtol32);
    }
  }
}

TEST(GpuOps, MatmulF16WhereAvailable) {
  PXOS_REQUIRE_GPU();
  std::mt19937_64 g(test_seed() + 1);
  if (!rt->info().f16) {  // must say why, and refuse
    auto r = matmul_f16(std::vector<uint16_t>(1), std::vector<uint16_t>(1), 1, 1, 1);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("ShaderF16"), std::string::npos);
    return;
  }
  for (auto [M, N, K] : {std::tuple{1u, 1u, 1u}, {7u, 129u, 33u}, {129u, 64u, 100u}}) {
    auto A = to_f16(rnd(g, size_t(M) * K)), B = to_f16(rnd(g, size_t(K) * N));
    auto got = matmul_f16(A, B, M, N, K);
    ASSERT_TRUE(got) << got.error().detail;
    EXPECT_CLOSE(from_f16(*got), ref::matmul(from_f16(A), from_f16(B), M, N, K), kRtol16, kAtol16);
  }
}

TEST(GpuOps, RowOps) {
  PXOS_REQUIRE_GPU();
  std::mt19937_64 g(test_seed() + 2);
  for (auto [rows, cols] : {std::pair{1u, 1u}, {7u, 7u}, {3u, 129u}, {5u, 1000u}, {129u, 33u}}) {
    SCOPED_TRACE(::testing::Message() << rows << "x" << cols);
    auto X = rnd(g, size_t(rows) * cols, -8, 8);
    auto gamma = rnd(g, cols, 0.5, 1.5), beta = rnd(g, cols);
    auto sm = softmax(X, rows, cols);
    ASSERT_TRUE(sm) << sm.error().detail;
    EXPECT_CLOSE(*sm, ref::softmax(X, rows, cols), kRtol32, kAtol32);
    auto ln = layernorm(X, gamma, beta, rows, cols, 1e-5f);
    ASSERT_TRUE(ln) << ln.error().detail;
    EXPECT_CLOSE(*ln, ref::layernorm(X, gamma, beta, rows, cols, 1e-5f), kRtol32, kAtol32);
    auto rn = rmsnorm(X, gamma, rows, cols, 1e-5f);
    ASSERT_TRUE(rn) << rn.error().detail;
    EXPECT_CLOSE(*rn, ref::rmsnorm(X, gamma, rows, cols, 1e-5f), kRtol32, kAtol32);
  }
}

TEST(GpuOps, Activations) {
  PXOS_REQUIRE_GPU();
  std::mt19937_64 g(test_seed() + 3);
  for (size_t n : {1u, 7u, 129u, 1000u, 70001u}) {
    SCOPED_TRACE(n);
    auto X = rnd(g, n, -12, 12);
    X[0] = n > 1 ? -30.0f : 30.0f;  // saturated tails of tanh / exp
    auto r = activation(Activation::relu, X);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_CLOSE(*r, ref::relu(X), kRtol32, kAtol32);
    auto lr = activation(Activation::leaky_relu, X, 0.1f);
    ASSERT_TRUE(lr);
    EXPECT_CLOSE(*lr, ref::leaky_relu(X, 0.1f), kRtol32, kAtol32);
    auto ge = activation(Activation::gelu, X);
    ASSERT_TRUE(ge);
    EXPECT_CLOSE(*ge, ref::gelu(X), kRtol32, kAtol32);
    auto si = activation(Activation::silu, X);
    ASSERT_TRUE(si);
    EXPECT_CLOSE(*si, ref::silu(X), kRtol32, kAtol32);
  }
}

TEST(GpuOps, Rotary) {
  PXOS_REQUIRE_GPU();
  std::mt19937_64 g(test_seed() + 4);
  // v3 takes 4 heads per invocation: H = 3, 5 and 6 leave partial head groups; D = 2 and 12 are
  // not multiples of 8 (v3 falls back to v2 there).
  for (auto [T, H, D, off] : {std::tuple{1u, 1u, 2u, 0u}, {7u, 3u, 8u, 5u}, {129u, 2u, 64u, 0u},
                              {33u, 5u, 16u, 40u}, {9u, 6u, 12u, 1u}, {4u, 8u, 128u, 7u}}) {
    SCOPED_TRACE(::testing::Message() << T << "x" << H << "x" << D);
    auto X = rnd(g, size_t(T) * H * D);
    auto f = ref::rotary_inv_freq(D, 10000.0);
    auto want = ref::rotary(X, f, T, H, D, off);
    for (RotaryKernel k : {RotaryKernel::v1, RotaryKernel::v2, RotaryKernel::v3}) {
      SCOPED_TRACE(k == RotaryKernel::v1 ? "v1" : k == RotaryKernel::v2 ? "v2" : "v3");
      auto got = rotary(X, f, T, H, D, off, k);
      ASSERT_TRUE(got) << got.error().detail;
      EXPECT_CLOSE(*got, want, kRtol32, kAtol32);
    }
  }
}

TEST(GpuOps, AttentionCausalAndFull) {
  PXOS_REQUIRE_GPU();
  std::mt19937_64 g(test_seed() + 5);
  // v2 tiles 128 query rows x 64 keys, d in chunks of 16: sizes below, at and past one tile,
  // ragged in N and D (scalar path for D % 4 != 0, vec4 path otherwise).
  struct S { uint32_t H, N, D; };
  const S v1_shapes[] = {{1, 1, 1}, {2, 7, 5}, {1, 129, 16}, {2, 40, 128}};
  const S v2_shapes[] = {{1, 1, 1}, {2, 7, 5}, {1, 65, 16}, {1, 129, 18}, {1, 200, 128}, {2, 150, 64}};
  for (auto k : {AttentionKernel::v1, AttentionKernel::v2}) {
    for (auto [H, N, D] : k == AttentionKernel::v1 ? std::span<const S>(v1_shapes) : std::span<const S>(v2_shapes)) {
      for (bool causal : {true, false}) {
        SCOPED_TRACE(::testing::Message() << (k == AttentionKernel::v1 ? "v1 " : "v2 ") << H << "x" << N << "x"
                                          << D << (causal ? " causal" : ""));
        size_t n = size_t(H) * N * D;
        auto Q = rnd(g, n, -2, 2), K = rnd(g, n, -2, 2), V = rnd(g, n);
        auto L = prepare_attention(Q, K, V, H, N, D, causal, k);
        ASSERT_TRUE(L) << L.error().detail;
        if (k == AttentionKernel::v2) {
          // Which v2 file ran: the subgroup reductions wherever a subgroup holds a 16-wide row
          // (run with LP_NATIVE_VECTOR_WIDTH=512 for lavapipe's 16 lanes: unit.gpu_ops_sg16).
          bool sg = rt->info().subgroups && rt->info().subgroup_min >= 16;
          const char* want = D % 4 != 0 ? "attention_v2.wgsl" : sg ? "attention_v2_sg.wgsl" : "attention_v2_vec4.wgsl";
          EXPECT_NE(L->kernel.find(want), std::string::npos) << L->kernel;
        }
        ASSERT_TRUE(L->run());
        auto out = L->read_output();
        ASSERT_TRUE(out) << out.error().detail;
        EXPECT_CLOSE(bytes_to_floats(*out), ref::attention(Q, K, V, H, N, D, causal), kRtol32, kAtol32);
      }
    }
  }
}

TEST(GpuOps, EmptyAndMisSizedInputRejected) {
  PXOS_REQUIRE_GPU();
  std::vector<float> none, one(1);
  auto m = matmul(none, none, 0, 4, 4);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::Usage);
  EXPECT_NE(m.error().detail.find("empty"), std::string::npos);
  EXPECT_FALSE(matmul(one, one, 2, 2, 2));  // wrong element counts
  EXPECT_FALSE(softmax(none, 0, 3));
  EXPECT_FALSE(layernorm(none, none, none, 1, 0, 1e-5f));
  EXPECT_FALSE(rmsnorm(none, none, 0, 0, 1e-5f));
  auto a = activation(Activation::gelu, none);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().detail.find("empty"), std::string::npos);
  EXPECT_FALSE(rotary(one, one, 1, 1, 1, 0));  // odd D
  EXPECT_FALSE(attention(none, none, none, 1, 0, 8, true));
  EXPECT_FALSE(attention(one, one, one, 1, 1, 129, true));  // D > 128
}

TEST(GpuOps, ComparisonRejectsNaNAndInf) {
  std::vector<float> want{1, 2, 3};
  EXPECT_TRUE(ref::compare(want, want, 1e-4, 0).ok);
  EXPECT_FALSE(ref::compare(std::vector<float>{1, NAN, 3}, want, 1, 1).ok);
  EXPECT_FALSE(ref::compare(std::vector<float>{1, 2, INFINITY}, want, 1, 1).ok);
  auto c = ref::compare(std::vector<float>{1, 2.5f, 3}, want, 1e-4, 0);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.first.find("i=1"), std::string::npos);
}

TEST(GpuOps, HalfConversionRoundTrips) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f})
    EXPECT_EQ(f16_to_f32(f32_to_f16(f)), f) << f;
  EXPECT_EQ(f32_to_f16(1e6f), 0x7C00);                // overflow -> inf
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 4096), 0x3C00);  // ties to even
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
}

}  // namespace
}  // namespace pxos::gpu
