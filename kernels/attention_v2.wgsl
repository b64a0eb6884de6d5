// attention_v2.wgsl: attention v2 (FlashAttention-2 tiling, lib/attention_fa2.wgsl), any head
// dimension D <= 128: element-wise, bounds-checked global loads and stores.
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;

fn at(which: u32, i: u32) -> f32 {
  if (which == 0u) { return Q[i]; }
  if (which == 1u) { return K[i]; }
  return V[i];
}
fn load4(which: u32, base: u32, c: u32) -> vec4f {
  var v = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (c + e < d.D) { v[e] = at(which, base + c + e); }
  }
  return v;
}
fn store4(off: u32, n: u32, v: vec4f) {
  for (var e = 0u; e < n; e++) { O[off + e] = v[e]; }
}

#include "lib/attention_rows_shared.wgsl"
#include "lib/attention_fa2.wgsl"
