// matmul_v2_vec4.wgsl: matmul_v2 with 16-byte global loads and stores, for K % 4 == 0 and
// N % 4 == 0 (any M); the host picks it when the shape allows. Tiling: lib/matmul_tiled.wgsl.
@group(0) @binding(0) var<storage, read> A: array<vec4f>;  // [M][K/4]
@group(0) @binding(1) var<storage, read> B: array<vec4f>;  // [K][N/4]
@group(0) @binding(2) var<storage, read_write> C: array<vec4f>;  // [M][N/4]

fn load_a4(r: u32, k: u32) -> vec4f {  // k % 4 == 0
  if (r < d.M && k < d.K) { return A[(r * d.K + k) / 4u]; }
  return vec4f(0.0);
}
fn load_b4(k: u32, c: u32) -> vec4f {  // c % 4 == 0
  if (k < d.K && c < d.N) { return B[(k * d.N + c) / 4u]; }
  return vec4f(0.0);
}
fn store_c4(row: u32, col: u32, v: vec4f) {
  if (col < d.N) { C[(row * d.N + col) / 4u] = v; }
}

#include "lib/matmul_tiled.wgsl"
