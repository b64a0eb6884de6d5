// matmul_v2.wgsl: tiled fp32 matmul, any M, N, K: the tiling of lib/matmul_tiled.wgsl with
// element-wise (bounds-checked) global loads and stores.
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;

fn a_at(r: u32, k: u32) -> f32 {
  if (r < d.M && k < d.K) { return A[r * d.K + k]; }
  return 0.0;
}
fn b_at(k: u32, c: u32) -> f32 {
  if (k < d.K && c < d.N) { return B[k * d.N + c]; }
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
    C[row * d.N + col] = v.x;
    C[row * d.N + col + 1u] = v.y;
    C[row * d.N + col + 2u] = v.z;
    C[row * d.N + col + 3u] = v.w;
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (col + j < d.N) { C[row * d.N + col + j] = v[j]; }
    }
  }
}

#include "lib/matmul_tiled.wgsl"
