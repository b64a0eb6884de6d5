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

}  // namespace pxos::llm
