// lib/matmul_tiled.wgsl: the tiled fp32-accumulating matmul shared by matmul_v2, matmul_v2_vec4
// and matmul_f16 (each ends with `#include "lib/matmul_tiled.wgsl"`, expanded by the host, see
// src/gpu/kernel_source.hpp). Any M, N, K. A TILE x TILE block tile per workgroup of
// (TILE/8)^2 invocations, each owning an 8x8 register tile; A is stored transposed in workgroup
// memory so that one vec4 load gives 4 rows; the next K tile is fetched into registers while
// this one computes. With TILE = 128: 256 invocations, BK = 8.
//
//   thread (tx, ty) owns rows {ty*4+0..3, TILE/2+ty*4+0..3} x vec4 columns {tx, NT+tx}:
//   acc[2*i + h] = C[row(i)][(h*NT + tx)*4 .. +3]
//
// The including kernel declares bindings 0-2 (A, B, C in its element type) and
//   fn load_a4(r, k) -> vec4f     A[r][k .. k+3] as f32, zero outside M x K
//   fn load_b4(k, c) -> vec4f     B[k][c .. c+3] as f32, zero outside K x N
//   fn store_c4(row, col, v)      C[row][col .. col+3] = v, clipped to N (row < M)
struct Dims { M: u32, N: u32, K: u32, pad: u32 }
@group(0) @binding(3) var<storage, read> d: Dims;

override TILE: u32;         // the block tile, BM = BN (host: src/gpu/tunables.hpp)
override NT = TILE / 8u;    // invocations per workgroup side: each owns 8 rows x 8 columns
// K tile: each invocation loads exactly one vec4 of A and one of B per K tile, so
// TILE * BK / 4 = NT * NT. (TILE 128: BK = 8, tuned on the H100: 8 gave 41.4 TFLOP/s at 4096^3,
// 16 gave 29.8.)
override BK = TILE / 16u;
override BK4 = BK / 4u;     // vec4 per A-tile row
override T4 = TILE / 4u;    // vec4 per B-tile row
var<workgroup> As: array<vec4f, BK * T4>;  // [BK][TILE/4]: As[k*T4 + r4] = A[m0 + r4*4 .. +3][k0 + k]
var<workgroup> Bs: array<vec4f, BK * T4>;  // [BK][TILE/4]: Bs[k*T4 + c4] = B[k0 + k][n0 + c4*4 .. +3]

@compute @workgroup_size(NT, NT)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) tid: u32) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let tx = lid.x;
  let ty = lid.y;
  var acc: array<vec4f, 16>;
  // Loader mapping: A tile = TILE rows x BK4 vec4 (k); B tile = BK rows x T4 vec4.
  let ntiles = (d.K + BK - 1u) / BK;
  let ar = tid / BK4;
  let ak = (tid % BK4) * 4u;
  let bk = tid / T4;
  let bc = (tid % T4) * 4u;
  var ra = load_a4(m0 + ar, ak);
  var rb = load_b4(bk, n0 + bc);
  for (var t = 0u; t < ntiles; t++) {
    As[(ak + 0u) * T4 + ar / 4u][ar % 4u] = ra.x;
    As[(ak + 1u) * T4 + ar / 4u][ar % 4u] = ra.y;
    As[(ak + 2u) * T4 + ar / 4u][ar % 4u] = ra.z;
    As[(ak + 3u) * T4 + ar / 4u][ar % 4u] = ra.w;
    Bs[tid] = rb;
    workgroupBarrier();
    if (t + 1u < ntiles) {
      let k0 = (t + 1u) * BK;
      ra = load_a4(m0 + ar, k0 + ak);
      rb = load_b4(k0 + bk, n0 + bc);
    }
    for (var k = 0u; k < BK; k++) {
      let a0 = As[k * T4 + ty];
      let a1 = As[k * T4 + NT + ty];
      let b0 = Bs[k * T4 + tx];
      let b1 = Bs[k * T4 + NT + tx];
      acc[0] = fma(vec4f(a0.x), b0, acc[0]);
      acc[1] = fma(vec4f(a0.x), b1, acc[1]);
      acc[2] = fma(vec4f(a0.y), b0, acc[2]);
      acc[3] = fma(vec4f(a0.y), b1, acc[3]);
      acc[4] = fma(vec4f(a0.z), b0, acc[4]);
      acc[5] = fma(vec4f(a0.z), b1, acc[5]);
      acc[6] = fma(vec4f(a0.w), b0, acc[6]);
      acc[7] = fma(vec4f(a0.w), b1, acc[7]);
      acc[8] = fma(vec4f(a1.x), b0, acc[8]);
      acc[9] = fma(vec4f(a1.x), b1, acc[9]);
      acc[10] = fma(vec4f(a1.y), b0, acc[10]);
      acc[11] = fma(vec4f(a1.y), b1, acc[11]);
      acc[12] = fma(vec4f(a1.z), b0, acc[12]);
      acc[13] = fma(vec4f(a1.z), b1, acc[13]);
      acc[14] = fma(vec4f(a1.w), b0, acc[14]);
      acc[15] = fma(vec4f(a1.w), b1, acc[15]);
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 8u; i++) {
    let row = m0 + (i / 4u) * (TILE / 2u) + ty * 4u + (i % 4u);
    if (row >= d.M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      store_c4(row, n0 + (h * NT + tx) * 4u, acc[2u * i + h]);
    }
  }
}
