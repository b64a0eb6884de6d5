// matmul_f16.wgsl: matmul_v2 with f16 storage for A, B and C and f32 accumulation (needs the
// ShaderF16 feature). Any M, N, K. Tiling: lib/matmul_tiled.wgsl.
enable f16;

@group(0) @binding(0) var<storage, read> A: array<f16>;
@group(0) @binding(1) var<storage, read> B: array<f16>;
@group(0) @binding(2) var<storage, read_write> C: array<f16>;

fn a_at(r: u32, k: u32) -> f32 {
  if (r < d.M && k < d.K) { return f32(A[r * d.K + k]); }
  return 0.0;
}
fn b_at(k: u32, c: u32) -> f32 {
  if (k < d.K && c < d.N) { return f32(B[k * d.N + c]); }
  return 0.0;
}
fn load_a4(r: u32, k: u32) -> vec4f {
  return vec4f(a_at(r, k), a_at(r, k + 1u), a_at(r, k + 2u), a_at(r, k + 3u));
}
fn load_b4(k: u32, c: u32) -> vec4f {
  return vec4f(b_at(k, c), b_at(k, c + 1u), b_at(k, c + 2u), b_at(k, c + 3u));
}
fn store_c4(row: u32, col: u32, v: vec4f) {
  if (col + 3u < d.N) {
    C[row * d.N + col] = f16(v.x);
    C[row * d.N + col + 1u] = f16(v.y);
    C[row * d.N + col + 2u] = f16(v.z);
    C[row * d.N + col + 3u] = f16(v.w);
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (col + j < d.N) { C[row * d.N + col + j] = f16(v[j]); }
    }
  }
}

#include "lib/matmul_tiled.wgsl"
