// lib/attention_io_vec4.wgsl: attention v2's global memory as 16-byte words (D % 4 == 0): the
// Q, K, V, O bindings and the load4/store4 hooks lib/attention_fa2.wgsl calls.
@group(0) @binding(0) var<storage, read> Q: array<vec4f>;
@group(0) @binding(1) var<storage, read> K: array<vec4f>;
@group(0) @binding(2) var<storage, read> V: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> O: array<vec4f>;

fn load4(which: u32, base: u32, c: u32) -> vec4f {  // base and c are multiples of 4
  if (c >= d.D) { return vec4f(0.0); }
  let i = (base + c) / 4u;
  if (which == 0u) { return Q[i]; }
  if (which == 1u) { return K[i]; }
  return V[i];
}
fn store4(off: u32, n: u32, v: vec4f) { O[off / 4u] = v; }
