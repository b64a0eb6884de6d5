// quant.hpp: the GGUF block formats the engine reads (F32, F16, Q4_0, Q4_1, Q8_0), bit-exact with
// ggml's layout, and the fused dot product of a packed row with an fp32 vector (the CPU matvec).
#pragma once
#include <cstddef>
#include <cstdint>

#include "llm/gguf.hpp"

namespace pxos::llm {

// IEEE half to float, exact for every input (subnormals, infinities, NaN payloads).
float f16_to_f32(uint16_t h);

// True for the types below; the others are named by the loader, never guessed.
bool can_dequantize(GgmlType t);
// Bytes of a row of n elements (n a multiple of the type's block size).
size_t row_bytes(GgmlType t, size_t n);

// dst[0..n) = the n elements packed at src.
void dequantize_row(GgmlType t, const uint8_t* src, float* dst, size_t n);

// sum_i row[i] * x[i] in fp32, in one fixed order (so a row's result does not depend on which
// thread computes it). n is a multiple of the block size.
float dot_row(GgmlType t, const uint8_t* row, const float* x, size_t n);

// y[r] = dot_row(row r, x) for r in [r0, r1) of a matrix whose rows are `stride` bytes apart.
void matvec_rows(GgmlType t, const uint8_t* w, size_t stride, const float* x, size_t n, float* y,
                 size_t r0, size_t r1);

// ggml's CPU numerics (the x86 AVX2 path of the llama.cpp peer, bench/llm/peer.sh), for the
// reference's `act_quant` mode: ggml quantizes the ACTIVATION vector to its weight type's
// vec_dot_type before every matvec (Q4_1 -> Q8_1, Q4_0/Q8_0 -> Q8_0, F16 -> F16) and sums the
// exact integer block dots in 8 fp32 lanes with FMA. fp32 engines drift from it on near-ties.
uint16_t f32_to_f16(float f);  // round to nearest even (F16C's _cvtss_sh)
inline float round_f16(float f) { return f16_to_f32(f32_to_f16(f)); }
// The type ggml quantizes a matvec's input to for weights of type T (F32: itself).
GgmlType act_type(GgmlType t);
// Bytes of N activations in act_type(T).
size_t act_bytes(GgmlType t, size_t n);
// x[0..n) in act_type(T), as ggml's quantize_row_q8_1 / _q8_0 (AVX: id = 127/amax, round to
// nearest even; Q8_1's s = f16(d * sum q)) or fp32 -> f16.
void quantize_act(GgmlType t, const float* x, uint8_t* out, size_t n);
// y[r] = ggml's vec_dot of weight row r with the quantized activations XQ, for r in [r0, r1).
void matvec_rows_act(GgmlType t, const uint8_t* w, size_t stride, const uint8_t* xq, size_t n, float* y,
                     size_t r0, size_t r1);

}  // namespace pxos::llm
