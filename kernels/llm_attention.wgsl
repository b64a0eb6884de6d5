// llm_attention.wgsl: causal grouped-query attention for n_tok new tokens at positions pos0...,
// one workgroup per (query head, token), keys in blocks of WG with an online softmax (flash
// style). RoPE (adjacent pairs, host cos/sin table) is fused: q is rotated here, and the new
// tokens' keys are rotated from qkv on the fly, so no dispatch reads a cache row this one writes;
// the first query head of each KV group stores its token's rotated key and value in the cache.
struct AttnParams {
  n_tok: u32, pos0: u32, group: u32, hd: u32,
  qkv_stride: u32, dim: u32, kv_dim: u32, scale: f32,
}
@group(0) @binding(0) var<storage, read> p: AttnParams;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> rope: array<f32>;  // [pos][hd/2] (cos, sin)
@group(0) @binding(3) var<storage, read_write> kc: array<f32>;  // [pos][kv_dim]
@group(0) @binding(4) var<storage, read_write> vc: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;  // [token][dim]

override WG: u32;    // keys per block = invocations (host: src/gpu/tunables.hpp), a power of 2
override DMAX: u32;  // the largest head dimension
var<workgroup> qs: array<f32, DMAX>;
var<workgroup> ov: array<f32, DMAX>;
var<workgroup> sc: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

fn wg_reduce(v: f32, li: u32, is_max: bool) -> f32 {
  workgroupBarrier();
  red[li] = v;
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st /= 2u) {
    if (li < st) {
      if (is_max) { red[li] = max(red[li], red[li + st]); } else { red[li] += red[li + st]; }
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// q . k(j), k(j) from the cache for old positions, rotated from qkv for this batch's.
fn kdot(j: u32, g: u32) -> f32 {
  var s = 0.0;
  if (j < p.pos0) {
    let b = j * p.kv_dim + g * p.hd;
    for (var d = 0u; d < p.hd; d++) { s += qs[d] * kc[b + d]; }
  } else {
    let b = (j - p.pos0) * p.qkv_stride + p.dim + g * p.hd;
    let rb = j * (p.hd / 2u);
    for (var i = 0u; i < p.hd / 2u; i++) {
      let k0 = qkv[b + 2u * i];
      let k1 = qkv[b + 2u * i + 1u];
      let c = rope[2u * (rb + i)];
      let sn = rope[2u * (rb + i) + 1u];
      s += qs[2u * i] * (k0 * c - k1 * sn);
      s += qs[2u * i + 1u] * (k0 * sn + k1 * c);
    }
  }
  return s;
}

fn vval(j: u32, g: u32, d: u32) -> f32 {
  if (j < p.pos0) { return vc[j * p.kv_dim + g * p.hd + d]; }
  return qkv[(j - p.pos0) * p.qkv_stride + p.dim + p.kv_dim + g * p.hd + d];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wid.x;
  let t = wid.y;
  let pos = p.pos0 + t;
  let g = h / p.group;
  let half = p.hd / 2u;
  let qb = t * p.qkv_stride + h * p.hd;
  let rb = pos * half;
  for (var i = li; i < half; i += WG) {
    let c = rope[2u * (rb + i)];
    let sn = rope[2u * (rb + i) + 1u];
    let q0 = qkv[qb + 2u * i];
    let q1 = qkv[qb + 2u * i + 1u];
    qs[2u * i] = q0 * c - q1 * sn;
    qs[2u * i + 1u] = q0 * sn + q1 * c;
  }
  if (h % p.group == 0u) {
    let kb = t * p.qkv_stride + p.dim + g * p.hd;
    let cb = pos * p.kv_dim + g * p.hd;
    for (var i = li; i < half; i += WG) {
      let c = rope[2u * (rb + i)];
      let sn = rope[2u * (rb + i) + 1u];
      let k0 = qkv[kb + 2u * i];
      let k1 = qkv[kb + 2u * i + 1u];
      kc[cb + 2u * i] = k0 * c - k1 * sn;
      kc[cb + 2u * i + 1u] = k0 * sn + k1 * c;
    }
    for (var d = li; d < p.hd; d += WG) { vc[cb + d] = qkv[kb + p.kv_dim + d]; }
  }
  for (var d = li; d < p.hd; d += WG) { ov[d] = 0.0; }
  workgroupBarrier();
  let n = pos + 1u;
  var mx = -3.0e38;
  var l = 0.0;
  for (var j0 = 0u; j0 < n; j0 += WG) {
    let j = j0 + li;
    var s = -3.0e38;
    if (j < n) { s = kdot(j, g) * p.scale; }
    let mn = max(mx, wg_reduce(s, li, true));
    let alpha = exp(mx - mn);
    var e = 0.0;
    if (j < n) { e = exp(s - mn); }
    sc[li] = e;
    l = l * alpha + wg_reduce(e, li, false);  // its barriers publish sc
    let cnt = min(WG, n - j0);
    for (var d = li; d < p.hd; d += WG) {
      var o = ov[d] * alpha;
      for (var jj = 0u; jj < cnt; jj++) { o += sc[jj] * vval(j0 + jj, g, d); }
      ov[d] = o;
    }
    mx = mn;
    workgroupBarrier();
  }
  for (var d = li; d < p.hd; d += WG) { out[t * p.dim + h * p.hd + d] = ov[d] / l; }
}
