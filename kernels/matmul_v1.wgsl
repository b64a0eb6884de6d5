// matmul_v1.wgsl: naive fp32 matmul C[M,N] = A[M,K] * B[K,N] (row-major), one output per
// invocation. The baseline the tuned versions are measured against.
struct Dims { M: u32, N: u32, K: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read> d: Dims;

override TILE: u32;  // TILE x TILE invocations per workgroup (host: src/gpu/tunables.hpp)

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let row = g.y;
  let col = g.x;
  if (row >= d.M || col >= d.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < d.K; k++) {
    acc = fma(A[row * d.K + k], B[k * d.N + col], acc);
  }
  C[row * d.N + col] = acc;
}
