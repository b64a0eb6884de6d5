// matmul_v3.wgsl: subgroup fp32 matmul, any M, N, K, meant for skinny products (M or N small,
// the decode-time shape of an LLM): each subgroup owns 4x4 outputs, its lanes split K, and
// subgroupAdd combines the partial sums. Works for any subgroup size up to 64.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Dims { M: u32, N: u32, K: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<storage, read> d: Dims;

// Host-set (src/gpu/tunables.hpp): a workgroup of WG invocations covers TILE x TILE outputs,
// (TILE/4)^2 blocks of 4x4.
override TILE: u32;
override WG: u32;
override BPR = TILE / 4u;  // 4x4 blocks per row of the tile

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32,
        @builtin(subgroup_size) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let nsg = (WG + sg - 1u) / sg;
  let sgid = tid / sg;
  for (var blk = sgid; blk < BPR * BPR; blk += nsg) {
    let r0 = wid.y * TILE + (blk / BPR) * 4u;
    let c0 = wid.x * TILE + (blk % BPR) * 4u;
    var acc: array<vec4f, 4>;
    for (var i = 0u; i < 4u; i++) { acc[i] = vec4f(0.0); }  // explicit: some drivers keep the last iteration's
    for (var k = lane; k < d.K; k += sg) {
      var b = vec4f(0.0);
      for (var j = 0u; j < 4u; j++) {
        if (c0 + j < d.N) { b[j] = B[k * d.N + c0 + j]; }
      }
      for (var i = 0u; i < 4u; i++) {
        if (r0 + i < d.M) { acc[i] = fma(vec4f(A[(r0 + i) * d.K + k]), b, acc[i]); }
      }
    }
    for (var i = 0u; i < 4u; i++) {
      let s = subgroupAdd(acc[i]);
      if (lane == 0u && r0 + i < d.M) {
        for (var j = 0u; j < 4u; j++) {
          if (c0 + j < d.N) { C[(r0 + i) * d.N + c0 + j] = s[j]; }
        }
      }
    }
  }
}
