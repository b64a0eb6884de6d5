// llm_embed.wgsl: the token embedding: row tok[t] of the packed table, dequantised into x[t].
// One invocation per 32 elements of a token's row.
struct EmbParams { n_tok: u32, dim: u32, ty: u32, stride: u32 }
@group(0) @binding(0) var<storage, read> p: EmbParams;
@group(0) @binding(1) var<storage, read> tok: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

override WG: u32;  // invocations per workgroup (host: src/gpu/tunables.hpp)

fn wword(m: u32, i: u32) -> u32 { return table[i]; }

#include "lib/llm_quant.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let chunks = p.dim / 32u;
  let t = gid.x / chunks;
  let c = gid.x % chunks;
  if (t >= p.n_tok) { return; }
  let v = deq(0u, p.ty, tok[t] * p.stride + c * chunk_bytes(p.ty));
  let base = t * p.dim + c * 32u;
  for (var e = 0u; e < 32u; e++) { x[base + e] = v[e]; }
}
