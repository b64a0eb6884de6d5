// quant.cpp: block dequantisation and the fused packed-row dot products. The inner loops work on
// 16 independent fp32 lanes with fixed trip counts, so the compiler vectorises them without
// reordering any sum: every build and every thread gets the same bits for the same row.
#include "llm/quant.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
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

// ---- ggml's CPU numerics (act_quant mode) ------------------------------------------------------
namespace pxos::llm {
namespace {

constexpr size_t kQ8_1Bytes = 36, kQ8_0Bytes = 34;  // f16 d [, f16 s], 32 int8

// _mm256_round_ps(v, _MM_ROUND_NEAREST) then cvtps_epi32: round half to even (not roundf).
inline int8_t round_even_i8(float v) { return int8_t(std::nearbyint(v)); }

// The 32 activations of one block as ggml's AVX quantize_row_q8_*: d = amax/127 (stored f16),
// q = nearbyint(x * (127/amax)); returns the sum of q (for Q8_1's s).
int quant_block(const float* x, uint16_t& d16, float& d, int8_t* q) {
  float amax = 0.0f;
  for (size_t j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  d = amax / 127.f;
  d16 = f32_to_f16(d);
  const float id = amax != 0.0f ? 127.f / amax : 0.0f;
  int sum = 0;
  for (size_t j = 0; j < kBlock; ++j) sum += q[j] = round_even_i8(x[j] * id);
  return sum;
}

inline void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); }

// hsum_float_8: (l[i] + l[i+4]) for i < 4, then (r0 + r2) + (r1 + r3).
inline float hsum8(const float* l) {
  float r[4];
  for (size_t i = 0; i < 4; ++i) r[i] = l[i + 4] + l[i];
  return (r[0] + r[2]) + (r[1] + r[3]);
}

// Lane i of maddubs + madd(ones): the integer dot of elements 4i..4i+3 (exact).
template <class Qx>
inline void lane_dots(const Qx& qx, const int8_t* qy, int32_t* lanes) {
  for (size_t i = 0; i < 8; ++i) {
    int32_t s = 0;
    for (size_t j = 4 * i; j < 4 * i + 4; ++j) s += int32_t(qx(j)) * int32_t(qy[j]);
    lanes[i] = s;
  }
}

}  // namespace

uint16_t f32_to_f16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds past 65504: infinity
  if (ax < 0x38800000u) {                                   // below 2^-14: a subnormal half (or 0)
    if (ax < 0x33000000u) return uint16_t(sign);            // under half the smallest subnormal
    const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    const int shift = 126 - int(ax >> 23);                  // 14..24
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = ((ax >> 13) - (112u << 10));
  const uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: correct
  return uint16_t(sign | h);
}

GgmlType act_type(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_1: return GgmlType::Q8_1;
    case GgmlType::Q4_0:
    case GgmlType::Q8_0: return GgmlType::Q8_0;
    case GgmlType::F16: return GgmlType::F16;
    default: return GgmlType::F32;
  }
}

size_t act_bytes(GgmlType t, size_t n) {
  switch (act_type(t)) {
    case GgmlType::Q8_1: return n / kBlock * kQ8_1Bytes;
    case GgmlType::Q8_0: return n / kBlock * kQ8_0Bytes;
    case GgmlType::F16: return n * 2;
    default: return n * 4;
  }
}

void quantize_act(GgmlType t, const float* x, uint8_t* out, size_t n) {
  switch (act_type(t)) {
    case GgmlType::Q8_1:
      for (size_t b = 0; b < n / kBlock; ++b, x += kBlock, out += kQ8_1Bytes) {
        uint16_t d16;
        float d;
        const int sum = quant_block(x, d16, d, reinterpret_cast<int8_t*>(out + 4));
        put16(out, d16);
        put16(out + 2, f32_to_f16(d * float(sum)));  // the fp32 d, not the rounded one
      }
      return;
    case GgmlType::Q8_0:
      for (size_t b = 0; b < n / kBlock; ++b, x += kBlock, out += kQ8_0Bytes) {
        uint16_t d16;
        float d;
        quant_block(x, d16, d, reinterpret_cast<int8_t*>(out + 2));
        put16(out, d16);
      }
      return;
    case GgmlType::F16:
      for (size_t i = 0; i < n; ++i) put16(out + 2 * i, f32_to_f16(x[i]));
      return;
    default: std::memcpy(out, x, n * 4); return;
  }
}

void matvec_rows_act(GgmlType t, const uint8_t* w, size_t stride, const uint8_t* xq, size_t n, float* y,
                     size_t r0, size_t r1) {
  const float* tab = f16_table().data();
  const size_t nb = n / kBlock;
  int32_t lanes[8];
  for (size_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + r * stride;
    float acc[8] = {};
    switch (t) {
      case GgmlType::Q4_1: {  // ggml_vec_dot_q4_1_q8_1 (AVX2)
        float summs = 0.0f;
        for (size_t b = 0; b < nb; ++b) {
          const uint8_t* xb = row + b * 20;
          const uint8_t* yb = xq + b * kQ8_1Bytes;
          const float d0 = half(tab, xb), d1 = half(tab, yb);
          summs = std::fma(half(tab, xb + 2), half(tab, yb + 2), summs);  // gcc contracts ggml's C here
          const float d0d1 = d0 * d1;
          const uint8_t* qs = xb + 4;
          lane_dots([&](size_t j) { return j < 16 ? int(qs[j] & 15) : int(qs[j - 16] >> 4); },
                    reinterpret_cast<const int8_t*>(yb + 4), lanes);
          for (size_t i = 0; i < 8; ++i) acc[i] = std::fma(d0d1, float(lanes[i]), acc[i]);
        }
        y[r] = hsum8(acc) + summs;
        break;
      }
      case GgmlType::Q4_0:    // ggml_vec_dot_q4_0_q8_0 (AVX2)
      case GgmlType::Q8_0: {  // ggml_vec_dot_q8_0_q8_0 (AVX2)
        const bool q4 = t == GgmlType::Q4_0;
        const size_t wb = q4 ? 18 : 34;
        for (size_t b = 0; b < nb; ++b) {
          const uint8_t* xb = row + b * wb;
          const uint8_t* yb = xq + b * kQ8_0Bytes;
          const float d = half(tab, xb) * half(tab, yb);
          const uint8_t* qs = xb + 2;
          if (q4) lane_dots([&](size_t j) { return (j < 16 ? int(qs[j] & 15) : int(qs[j - 16] >> 4)) - 8; },
                            reinterpret_cast<const int8_t*>(yb + 2), lanes);
          else lane_dots([&](size_t j) { return int(int8_t(qs[j])); }, reinterpret_cast<const int8_t*>(yb + 2), lanes);
          for (size_t i = 0; i < 8; ++i) acc[i] = std::fma(d, float(lanes[i]), acc[i]);
        }
        y[r] = hsum8(acc);
        break;
      }
      case GgmlType::F16: {  // both sides f16, products summed in fp32
        float a16[kLanes] = {}, tail = 0.0f;
        size_t i = 0;
        for (; i + kLanes <= n; i += kLanes)
          for (size_t j = 0; j < kLanes; ++j) a16[j] += half(tab, row + 2 * (i + j)) * half(tab, xq + 2 * (i + j));
        for (; i < n; ++i) tail += half(tab, row + 2 * i) * half(tab, xq + 2 * i);
        y[r] = reduce(a16) + tail;
        break;
      }
      default: {
        matvec_rows(t, w, stride, reinterpret_cast<const float*>(xq), n, y, r, r + 1);
        break;
      }
    }
  }
}

}  // namespace pxos::llm
