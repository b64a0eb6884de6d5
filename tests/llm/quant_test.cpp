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
