// llm_attention_v2.wgsl: llm_attention's contract (causal grouped-query attention for n_tok new
// tokens at pos0..., RoPE fused, the first query head of a KV group writes its token's cache row)
// with fewer barriers: per chunk of CH keys, every invocation scores its own keys (all scores in
// workgroup memory), one max and one sum reduction (online softmax across chunks), then the
// invocations split as hd/4 vec4 columns x WG/(hd/4) key partitions for P V, reduced at the end.
// One workgroup per (query head, token). Needs hd % 4 == 0 (the host falls back to v1).
struct AttnParams {
  n_tok: u32, pos0: u32, group: u32, hd: u32,
  qkv_stride: u32, dim: u32, kv_dim: u32, scale: f32,
}
@group(0) @binding(0) var<storage, read> p: AttnParams;
@group(0) @binding(1) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(2) var<storage, read> rope: array<vec4f>;  // [pos][hd/2] (cos, sin): two pairs a vec4
@group(0) @binding(3) var<storage, read_write> kc: array<vec4f>;  // [pos][kv_dim]
@group(0) @binding(4) var<storage, read_write> vc: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>;  // [token][dim]

// The host sets these (src/llm/forward_gpu.cpp, tunables); the defaults only let the file compile alone.
override WG: u32 = 256u;    // invocations, a power of 2
override DMAX: u32 = 128u;  // the largest head dimension
override CH: u32 = 1024u;   // keys per chunk (their scores live in workgroup memory)
var<workgroup> qs: array<vec4f, DMAX / 4u>;
var<workgroup> sc: array<f32, CH>;
var<workgroup> red: array<f32, WG>;
var<workgroup> part: array<vec4f, WG>;

fn wg_reduce(v: f32, li: u32, is_max: bool) -> f32 {
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

// Two (x, y) pairs rotated by the (cos, sin) pairs of CS.
fn rot(v: vec4f, cs: vec4f) -> vec4f {
  return vec4f(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x, v.z * cs.z - v.w * cs.w, v.z * cs.w + v.w * cs.z);
}

// q . k(j): the cache for old positions, rotated from qkv for this batch's.
fn kdot(j: u32, g: u32, hd4: u32) -> f32 {
  var s = 0.0;
  if (j < p.pos0) {
    let b = (j * p.kv_dim + g * p.hd) / 4u;
    for (var i = 0u; i < hd4; i++) { s += dot(qs[i], kc[b + i]); }
  } else {
    let b = ((j - p.pos0) * p.qkv_stride + p.dim + g * p.hd) / 4u;
    let rb = j * hd4;
    for (var i = 0u; i < hd4; i++) { s += dot(qs[i], rot(qkv[b + i], rope[rb + i])); }
  }
  return s;
}

fn vval(j: u32, g: u32, d4: u32) -> vec4f {
  if (j < p.pos0) { return vc[(j * p.kv_dim + g * p.hd) / 4u + d4]; }
  return qkv[((j - p.pos0) * p.qkv_stride + p.dim + p.kv_dim + g * p.hd) / 4u + d4];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wid.x;
  let t = wid.y;
  let pos = p.pos0 + t;
  let g = h / p.group;
  let hd4 = p.hd / 4u;
  let rb = pos * hd4;
  let qb = (t * p.qkv_stride + h * p.hd) / 4u;
  for (var i = li; i < hd4; i += WG) { qs[i] = rot(qkv[qb + i], rope[rb + i]); }
  if (h % p.group == 0u) {
    let kb = (t * p.qkv_stride + p.dim + g * p.hd) / 4u;
    let cb = (pos * p.kv_dim + g * p.hd) / 4u;
    for (var i = li; i < hd4; i += WG) {
      kc[cb + i] = rot(qkv[kb + i], rope[rb + i]);
      vc[cb + i] = qkv[kb + p.kv_dim / 4u + i];
    }
  }
  workgroupBarrier();
  let n = pos + 1u;
  let np = WG / hd4;  // key partitions of the P V step
  let d4 = li % hd4;
  let pp = li / hd4;
  var mx = -3.0e38;
  var l = 0.0;
  var o = vec4f(0.0);
  for (var j0 = 0u; j0 < n; j0 += CH) {
    let cnt = min(CH, n - j0);
    var cm = -3.0e38;
    for (var jj = li; jj < cnt; jj += WG) {
      let s = kdot(j0 + jj, g, hd4) * p.scale;
      sc[jj] = s;
      cm = max(cm, s);
    }
    let mn = max(mx, wg_reduce(cm, li, true));  // its barriers publish sc
    let alpha = exp(mx - mn);
    var cs = 0.0;
    for (var jj = li; jj < cnt; jj += WG) {
      let e = exp(sc[jj] - mn);
      sc[jj] = e;
      cs += e;
    }
    l = l * alpha + wg_reduce(cs, li, false);
    o *= alpha;
    if (pp < np) {
      for (var jj = pp; jj < cnt; jj += np) { o += sc[jj] * vval(j0 + jj, g, d4); }
    }
    mx = mn;
    workgroupBarrier();  // sc is rewritten by the next chunk
  }
  part[li] = o;
  workgroupBarrier();
  if (li < hd4) {
    var s = vec4f(0.0);
    for (var k = 0u; k < np; k++) { s += part[k * hd4 + li]; }
    out[(t * p.dim + h * p.hd) / 4u + li] = s / l;
  }
}
