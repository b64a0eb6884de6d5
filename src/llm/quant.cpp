// quant.cpp: block dequantisation and the fused packed-row dot products. The inner loops work on
// 16 independent fp32 lanes with fixed trip counts, so the compiler vectorises them without
// reordering any sum: every build and every thread gets the same bits for the same row.
#include "llm/quant.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <memory>

namespace pxos::llm {
namespace {

constexpr size_t kBlock = 32;
constexpr size_t kLanes = 16;

// f16 -> f32 for all 65536 halves, built once: the matvec reads two scales per block.
const std::array<float, 65536>& f16_table() {
  static const std::array<float, 65536> table = [] {
    std::array<float, 65536> t{};
    for (uint32_t h = 0; h < 65536; ++h) {
      uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
      if (exp == 0x1f) bits = sign | 0x7f800000u | (mant << 13);             // inf, NaN
      else if (exp != 0) bits = sign | ((exp + 112) << 23) | (mant << 13);     // normal
      else if (mant == 0) bits = sign;                                         // +-0
      else {                                                                   // subnormal: renormalise
        int e = -1;
        do { mant <<= 1; ++e; } while (!(mant & 0x400));
        bits = sign | uint32_t(112 - e) << 23 | ((mant & 0x3ff) << 13);
      }
      t[h] = std::bit_cast<float>(bits);
    }
    return t;
  }();
  return table;
}

inline uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline float half(const float* tab, const uint8_t* p) { return tab[le16(p)]; }

// The lanes are summed in one fixed tree order.
inline float reduce(const float* acc) {
  float s8[8], s4[4];
  for (size_t i = 0; i < 8; ++i) s8[i] = acc[i] + acc[i + 8];
  for (size_t i = 0; i < 4; ++i) s4[i] = s8[i] + s8[i + 4];
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

// Q4_1 block: f16 d, f16 m, 16 bytes; element j is the low nibble of byte j, element j+16 the high
// one; value = d*q + m. So a block's dot is d*sum(q*x) + m*sum(x): xsum holds sum(x) per block.
float dot_q4_1(const uint8_t* row, const float* x, const float* xsum, size_t nb, const float* tab) {
  float acc[kLanes] = {}, macc = 0.0f;
  for (size_t b = 0; b < nb; ++b, row += 20, x += kBlock) {
    const float d = half(tab, row), m = half(tab, row + 2);
    const uint8_t* q = row + 4;
    for (size_t j = 0; j < kLanes; ++j)
      acc[j] += d * (float(q[j] & 15) * x[j] + float(q[j] >> 4) * x[j + 16]);
    macc += m * xsum[b];
  }
  return reduce(acc) + macc;
}

// Q4_0 block: f16 d, 16 bytes of nibbles laid out as Q4_1; value = d*(q-8).
float dot_q4_0(const uint8_t* row, const float* x, size_t nb, const float* tab) {
  float acc[kLanes] = {};
  for (size_t b = 0; b < nb; ++b, row += 18, x += kBlock) {
    const float d = half(tab, row);
    const uint8_t* q = row + 2;
    for (size_t j = 0; j < kLanes; ++j)
      acc[j] += d * (float(int(q[j] & 15) - 8) * x[j] + float(int(q[j] >> 4) - 8) * x[j + 16]);
  }
  return reduce(acc);
}

// Q8_0 block: f16 d, 32 int8; value = d*q.
float dot_q8_0(const uint8_t* row, const float* x, size_t nb, const float* tab) {
  float acc[kLanes] = {};
  for (size_t b = 0; b < nb; ++b, row += 34, x += kBlock) {
    const float d = half(tab, row);
    const int8_t* q = reinterpret_cast<const int8_t*>(row + 2);
    for (size_t j = 0; j < kLanes; ++j) acc[j] += d * (float(q[j]) * x[j] + float(q[j + 16]) * x[j + 16]);
  }
  return reduce(acc);
}

float dot_f32(const uint8_t* row, const float* x, size_t n) {
  float acc[kLanes] = {}, tail = 0.0f;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    float w[kLanes];
    std::memcpy(w, row + 4 * i, sizeof w);  // rows are only 4-byte aligned by the format at best
    for (size_t j = 0; j < kLanes; ++j) acc[j] += w[j] * x[i + j];
  }
  for (; i < n; ++i) {
    float w;
    std::memcpy(&w, row + 4 * i, 4);
    tail += w * x[i];
  }
  return reduce(acc) + tail;
}

float dot_f16(const uint8_t* row, const float* x, size_t n, const float* tab) {
  float acc[kLanes] = {}, tail = 0.0f;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t j = 0; j < kLanes; ++j) acc[j] += half(tab, row + 2 * (i + j)) * x[i + j];
  for (; i < n; ++i) tail += half(tab, row + 2 * i) * x[i];
  return reduce(acc) + tail;
}

void block_sums(const float* x, size_t nb, float* out) {
  for (size_t b = 0; b < nb; ++b) {
    float s[kLanes];
    for (size_t j = 0; j < kLanes; ++j) s[j] = x[b * kBlock + j] + x[b * kBlock + j + 16];
    out[b] = reduce(s);
  }
}

}  // namespace

float f16_to_f32(uint16_t h) { return f16_table()[h]; }

bool can_dequantize(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q8_0: return true;
    default: return false;
  }
}

size_t row_bytes(GgmlType t, size_t n) {
  const TypeInfo* ti = type_info(uint32_t(t));
  return n / ti->block_elems * ti->block_bytes;
}

void dequantize_row(GgmlType t, const uint8_t* src, float* dst, size_t n) {
  const float* tab = f16_table().data();
  switch (t) {
    case GgmlType::F32: std::memcpy(dst, src, n * 4); return;
    case GgmlType::F16:
      for (size_t i = 0; i < n; ++i) dst[i] = half(tab, src + 2 * i);
      return;
    case GgmlType::Q4_0:
      for (size_t b = 0; b < n / kBlock; ++b, src += 18, dst += kBlock) {
        const float d = half(tab, src);
        for (size_t j = 0; j < 16; ++j) {
          dst[j] = d * float(int(src[2 + j] & 15) - 8);
          dst[j + 16] = d * float(int(src[2 + j] >> 4) - 8);
        }
      }
      return;
    case GgmlType::Q4_1:
      for (size_t b = 0; b < n / kBlock; ++b, src += 20, dst += kBlock) {
        const float d = half(tab, src), m = half(tab, src + 2);
        for (size_t j = 0; j < 16; ++j) {
          dst[j] = d * float(src[4 + j] & 15) + m;
          dst[j + 16] = d * float(src[4 + j] >> 4) + m;
        }
      }
      return;
    case GgmlType::Q8_0:
      for (size_t b = 0; b < n / kBlock; ++b, src += 34, dst += kBlock) {
        const float d = half(tab, src);
        for (size_t j = 0; j < kBlock; ++j) dst[j] = d * float(int8_t(src[2 + j]));
      }
      return;
    default: return;  // the loader refuses every other type before any row is read
  }
}

void matvec_rows(GgmlType t, const uint8_t* w, size_t stride, const float* x, size_t n, float* y,
                 size_t r0, size_t r1) {
  const float* tab = f16_table().data();
  const size_t nb = n / kBlock;
  switch (t) {
    case GgmlType::Q4_1: {
      // Per-block sums of x: computed by each caller the same way, so a row's bits do not depend
      // on how rows were split between threads.
      float small[64];
      std::unique_ptr<float[]> big;
      float* xs = nb <= 64 ? small : (big.reset(new float[nb]), big.get());
      block_sums(x, nb, xs);
      for (size_t r = r0; r < r1; ++r) y[r] = dot_q4_1(w + r * stride, x, xs, nb, tab);
      return;
    }
    case GgmlType::Q4_0:
      for (size_t r = r0; r < r1; ++r) y[r] = dot_q4_0(w + r * stride, x, nb, tab);
      return;
    case GgmlType::Q8_0:
      for (size_t r = r0; r < r1; ++r) y[r] = dot_q8_0(w + r * stride, x, nb, tab);
      return;
    case GgmlType::F16:
      for (size_t r = r0; r < r1; ++r) y[r] = dot_f16(w + r * stride, x, n, tab);
      return;
    case GgmlType::F32:
      for (size_t r = r0; r < r1; ++r) y[r] = dot_f32(w + r * stride, x, n);
      return;
    default: return;
  }
}

float dot_row(GgmlType t, const uint8_t* row, const float* x, size_t n) {
  float y = 0.0f;
  matvec_rows(t, row, 0, x, n, &y, 0, 1);
  return y;
}

}  // namespace pxos::llm
