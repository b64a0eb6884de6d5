// quant_test.cpp: the block formats decoded by hand-made blocks (nibble order, scales, signs,
// every f16 class), and the fused dot products against dequantise-then-multiply.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

#include "gguf_writer.hpp"
#include "llm/quant.hpp"

using namespace pxos;
using namespace pxos::llm;

namespace {
void put16(Bytes& b, uint16_t v) { b.push_back(uint8_t(v)); b.push_back(uint8_t(v >> 8)); }
uint16_t h(float f) { return testgguf::GgufWriter::f16(f); }
}  // namespace

TEST(Quant, F16EveryClass) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(std::bit_cast<uint32_t>(f16_to_f32(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)) && f16_to_f32(0x7c00) > 0);
  EXPECT_TRUE(std::isinf(f16_to_f32(0xfc00)) && f16_to_f32(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  // Every finite half round-trips through the writer's converter.
  for (uint32_t x = 0; x < 0x7c00; x += 7) {
    if (x < 0x0400) continue;  // the writer flushes subnormals
    EXPECT_EQ(h(f16_to_f32(uint16_t(x))), x) << x;
  }
}

TEST(Quant, Q4_1NibbleOrder) {
  // Element j is the low nibble of byte j, element j+16 the high nibble; value = d*q + m.
  Bytes b;
  put16(b, h(0.5f));
  put16(b, h(-1.0f));
  for (int j = 0; j < 16; ++j) b.push_back(uint8_t(j | (15 - j) << 4));
  float out[32];
  dequantize_row(GgmlType::Q4_1, b.data(), out, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], 0.5f * float(j) - 1.0f) << j;
    EXPECT_EQ(out[j + 16], 0.5f * float(15 - j) - 1.0f) << j;
  }
}

TEST(Quant, Q4_0AndQ8_0) {
  Bytes b;
  put16(b, h(0.25f));
  for (int j = 0; j < 16; ++j) b.push_back(uint8_t(j | (15 - j) << 4));
  float out[32];
  dequantize_row(GgmlType::Q4_0, b.data(), out, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], 0.25f * float(j - 8));
    EXPECT_EQ(out[j + 16], 0.25f * float(7 - j));
  }
  Bytes c;
  put16(c, h(2.0f));
  for (int j = 0; j < 32; ++j) c.push_back(uint8_t(int8_t(j * 8 - 128)));
  dequantize_row(GgmlType::Q8_0, c.data(), out, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 2.0f * float(j * 8 - 128)) << j;
}

TEST(Quant, DotMatchesDequantised) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const size_t n = 96;  // three blocks; also not a multiple of the 16 lanes' 32-element F32 chunk
  std::vector<float> x(n);
  for (auto& v : x) v = u(rng);
  testgguf::GgufWriter w;
  struct Case { GgmlType t; Bytes row; };
  std::vector<Case> cases;
  auto make = [&](GgmlType t) {
    Bytes row;
    for (size_t blk = 0; blk < n / 32; ++blk) {
      switch (t) {
        case GgmlType::Q4_1: put16(row, h(u(rng))); put16(row, h(u(rng))); for (int i = 0; i < 16; ++i) row.push_back(uint8_t(rng())); break;
        case GgmlType::Q4_0: put16(row, h(u(rng))); for (int i = 0; i < 16; ++i) row.push_back(uint8_t(rng())); break;
        case GgmlType::Q8_0: put16(row, h(u(rng))); for (int i = 0; i < 32; ++i) row.push_back(uint8_t(rng())); break;
        case GgmlType::F16: for (int i = 0; i < 32; ++i) put16(row, h(u(rng))); break;
        default: for (int i = 0; i < 32; ++i) { uint32_t v = std::bit_cast<uint32_t>(u(rng)); for (int k = 0; k < 4; ++k) row.push_back(uint8_t(v >> 8 * k)); }
      }
    }
    cases.push_back({t, row});
  };
  for (auto t : {GgmlType::Q4_1, GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::F16, GgmlType::F32}) make(t);
  for (auto& c : cases) {
    ASSERT_EQ(c.row.size(), row_bytes(c.t, n));
    std::vector<float> d(n);
    dequantize_row(c.t, c.row.data(), d.data(), n);
    double want = 0, mag = 0;
    for (size_t i = 0; i < n; ++i) { want += double(d[i]) * x[i]; mag += std::abs(double(d[i]) * x[i]); }
    EXPECT_NEAR(dot_row(c.t, c.row.data(), x.data(), n), want, 1e-5 * mag + 1e-6) << type_info(uint32_t(c.t))->name;
  }
  // F32 rows whose length is not a multiple of 16 use the tail loop.
  std::vector<float> r(21);
  for (auto& v : r) v = u(rng);
  double want = 0;
  for (size_t i = 0; i < r.size(); ++i) want += double(r[i]) * x[i];
  EXPECT_NEAR(dot_row(GgmlType::F32, reinterpret_cast<const uint8_t*>(r.data()), x.data(), r.size()), want, 1e-5);
}

TEST(Quant, MatvecRowsIndependentOfSplit) {
  // A row's result must not depend on which range it was computed in (thread determinism).
  std::mt19937 rng(3);
  testgguf::GgufWriter w;
  const size_t n = 64, rows = 10, stride = row_bytes(GgmlType::Q4_1, n);
  Bytes m;
  for (size_t i = 0; i < rows * stride; ++i) m.push_back(uint8_t(rng()));
  for (size_t r = 0; r < rows; ++r) {  // sane scales (random bytes could be NaN halves)
    for (size_t b = 0; b < n / 32; ++b) {
      uint16_t d = h(0.01f * float(r + 1)), mn = h(-0.1f);
      std::memcpy(&m[r * stride + b * 20], &d, 2);
      std::memcpy(&m[r * stride + b * 20 + 2], &mn, 2);
    }
  }
  std::vector<float> x(n);
  for (auto& v : x) v = float(int(rng() % 200) - 100) / 37.0f;
  std::vector<float> all(rows), parts(rows);
  matvec_rows(GgmlType::Q4_1, m.data(), stride, x.data(), n, all.data(), 0, rows);
  matvec_rows(GgmlType::Q4_1, m.data(), stride, x.data(), n, parts.data(), 0, 3);
  matvec_rows(GgmlType::Q4_1, m.data(), stride, x.data(), n, parts.data(), 3, 4);
  matvec_rows(GgmlType::Q4_1, m.data(), stride, x.data(), n, parts.data(), 4, rows);
  for (size_t r = 0; r < rows; ++r) EXPECT_EQ(std::bit_cast<uint32_t>(all[r]), std::bit_cast<uint32_t>(parts[r]));
}

// ---- ggml's numerics (act_quant mode) ----

TEST(QuantAct, F32ToF16RoundsToNearestEven) {
  // Every finite half comes back exactly, subnormals included.
  for (uint32_t x = 0; x < 0x7c00; ++x) {
    ASSERT_EQ(f32_to_f16(f16_to_f32(uint16_t(x))), x) << x;
    ASSERT_EQ(f32_to_f16(-f16_to_f32(uint16_t(x))), x | 0x8000u) << x;
  }
  // Halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);                   // half the smallest subnormal: even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);                   // 1.5 subnormal steps: even (2)
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                                // rounds past 65504: infinity
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(INFINITY), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
}

TEST(QuantAct, Q8_1BlockAsGgml) {
  // amax 2.54: d = 0.02, q = nearbyint(x * 127/2.54) = nearbyint(50 x), ties to even.
  std::vector<float> x(32, 0.0f);
  x[0] = 2.54f;
  x[1] = -1.0f;   // -50
  x[2] = 0.01f;   // 0.5 -> 0 (even), roundf would give 1
  x[3] = 0.03f;   // 1.5 -> 2
  x[31] = -2.54f;
  std::vector<uint8_t> q(act_bytes(GgmlType::Q4_1, 32));
  ASSERT_EQ(q.size(), 36u);
  quantize_act(GgmlType::Q4_1, x.data(), q.data(), 32);
  const float d = 2.54f / 127.f;
  EXPECT_EQ(q[0] | q[1] << 8, f32_to_f16(d));
  const int8_t* qs = reinterpret_cast<const int8_t*>(q.data() + 4);
  EXPECT_EQ(qs[0], 127);
  EXPECT_EQ(qs[1], -50);
  EXPECT_EQ(qs[2], 0);
  EXPECT_EQ(qs[3], 2);
  EXPECT_EQ(qs[31], -127);
  int sum = 0;
  for (int j = 0; j < 32; ++j) sum += qs[j];
  EXPECT_EQ(q[2] | q[3] << 8, f32_to_f16(d * float(sum)));  // s from the fp32 d
  // All zeros: d = 0 and q = 0, no division by zero.
  std::vector<float> z(32, 0.0f);
  quantize_act(GgmlType::Q4_1, z.data(), q.data(), 32);
  for (auto b : q) EXPECT_EQ(b, 0);
  EXPECT_EQ(act_type(GgmlType::Q8_0), GgmlType::Q8_0);
  EXPECT_EQ(act_type(GgmlType::F32), GgmlType::F32);
  EXPECT_EQ(act_bytes(GgmlType::Q8_0, 64), 68u);
}

TEST(QuantAct, DotsAreGgmlsIntegerBlockSums) {
  // Q4_1 row (one block: d 0.5, m -1, q_j = j % 16) against a Q8_1 vector: ggml's formula
  // d_w*d_x*sum(q_w*q_x) + m_w*s_x, evaluated here with the same halves.
  Bytes row;
  put16(row, h(0.5f));
  put16(row, h(-1.0f));
  for (int j = 0; j < 16; ++j) row.push_back(uint8_t((j % 16) | ((15 - j) << 4)));
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[size_t(j)] = float(j - 10) / 7.0f;
  std::vector<uint8_t> q(36);
  quantize_act(GgmlType::Q4_1, x.data(), q.data(), 32);
  const int8_t* qs = reinterpret_cast<const int8_t*>(q.data() + 4);
  long isum = 0;
  for (int j = 0; j < 16; ++j) isum += long(j) * qs[j] + long(15 - j) * qs[j + 16];
  const float dx = f16_to_f32(uint16_t(q[0] | q[1] << 8)), sx = f16_to_f32(uint16_t(q[2] | q[3] << 8));
  float y = 0;
  matvec_rows_act(GgmlType::Q4_1, row.data(), row.size(), q.data(), 32, &y, 0, 1);
  EXPECT_NEAR(y, 0.5f * dx * float(isum) + -1.0f * sx, 1e-5f);
  // ... and within 1% of the fp32 dot (the activation rounding is the only difference).
  const float f4 = dot_row(GgmlType::Q4_1, row.data(), x.data(), 32);
  EXPECT_NEAR(y, f4, 0.01f * std::fabs(f4));
  EXPECT_NE(y, f4);
  // Q8_0 row against a Q8_0 vector.
  Bytes r8;
  put16(r8, h(0.25f));
  for (int j = 0; j < 32; ++j) r8.push_back(uint8_t(int8_t(j - 16)));
  std::vector<uint8_t> q8(34);
  quantize_act(GgmlType::Q8_0, x.data(), q8.data(), 32);
  const int8_t* q8s = reinterpret_cast<const int8_t*>(q8.data() + 2);
  long i8 = 0;
  for (int j = 0; j < 32; ++j) i8 += long(j - 16) * q8s[j];
  float y8 = 0;
  matvec_rows_act(GgmlType::Q8_0, r8.data(), r8.size(), q8.data(), 32, &y8, 0, 1);
  EXPECT_NEAR(y8, 0.25f * f16_to_f32(uint16_t(q8[0] | q8[1] << 8)) * float(i8), 1e-5f);
  const float f8 = dot_row(GgmlType::Q8_0, r8.data(), x.data(), 32);
  EXPECT_NEAR(y8, f8, 0.01f * std::fabs(f8));
}
