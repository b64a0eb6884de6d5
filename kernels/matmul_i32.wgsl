// matmul_i32.wgsl: C[M,N] = A[M,K] * B[K,N] over i32 (wrapping, row-major), one output per
// invocation: the kernel a PixelVM module runs through its `gpu` host call (the VM's words are
// i32; examples/gpu_matmul.pxasm checks it against its own CPU loop).
struct Dims { M: u32, N: u32, K: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> A: array<i32>;
@group(0) @binding(1) var<storage, read> B: array<i32>;
@group(0) @binding(2) var<storage, read_write> C: array<i32>;
@group(0) @binding(3) var<storage, read> d: Dims;

override TILE: u32;  // TILE x TILE invocations per workgroup (host: src/gpu/tunables.hpp)

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let row = g.y;
  let col = g.x;
  if (row >= d.M || col >= d.N) { return; }
  var acc = 0i;
  for (var k = 0u; k < d.K; k++) {
    acc += A[row * d.K + k] * B[k * d.N + col];
  }
  C[row * d.N + col] = acc;
}
