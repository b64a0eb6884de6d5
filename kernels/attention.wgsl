// attention.wgsl: fused multi-head scaled dot-product attention in the flash-attention style:
// O = softmax(Q K^T * scale [+ causal mask]) V for Q, K, V, O laid out [H][N][D] (batch folded
// into H), D <= DMAX. Each workgroup takes BR query rows of one head and streams key/value
// blocks of BC rows through workgroup memory with an online softmax: no N x N matrix exists.
// BR, BC and DMAX are set by the host (src/gpu/tunables.hpp; BC by workgroup memory size).
//
//   invocation t: row r = t / 8, lane j = t % 8 (8 lanes per row: BR * 8 invocations)
//   S step:  s[i] = Q[r] . K[j + 8i]           (i < BC/8; the d loop outside the key loop)
//   PV step: O[r][4*(j + 8q) .. +3] += p[c] * V[c][...]   (q < 4: 16 output floats each)
struct AttnDims { H: u32, N: u32, D: u32, causal: u32, scale: f32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<storage, read> Q: array<f32>;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read> d: AttnDims;

override BC: u32;         // keys per block: 16 or 32 (s[] and acc[] below hold BC / 8 <= 4)
override BR: u32;         // query rows per workgroup
override DMAX: u32;       // largest head dimension: <= 128, as o[] holds 4 vec4 per lane
override WG = BR * 8u;
override D4 = DMAX / 4u;  // vec4 per row
override DS = D4 + 1u;    // row stride in vec4: one of padding (banks)
const NEG = -1.0e30;

var<workgroup> Qs: array<vec4f, BR * DS>;    // BR x DS
var<workgroup> KVs: array<vec4f, BC * DS>;   // BC x DS: K, then V, of the current block
var<workgroup> Ps: array<f32, BR * (BC + 1u)>;
var<workgroup> Mx: array<f32, WG>;
var<workgroup> Sx: array<f32, WG>;

fn load_row4(src: u32, row: u32, d4: u32, which: u32) -> vec4f {
  // src: head offset; returns elements 4*d4 .. +3 of row `row`, zero outside N x D
  var v = vec4f(0.0);
  if (row < d.N) {
    for (var e = 0u; e < 4u; e++) {
      let c = d4 * 4u + e;
      if (c < d.D) {
        let idx = src + row * d.D + c;
        if (which == 0u) { v[e] = Q[idx]; } else if (which == 1u) { v[e] = K[idx]; } else { v[e] = V[idx]; }
      }
    }
  }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let head = wid.y;
  let q0 = wid.x * BR;
  let hoff = head * d.N * d.D;
  let D4 = (d.D + 3u) / 4u;
  let r = t / 8u;
  let j = t % 8u;
  let NS = BC / 8u;   // S values per invocation

  // Q tile, pre-scaled.
  for (var e = t; e < BR * D4; e += WG) {
    let rr = e / D4;
    let c4 = e % D4;
    Qs[rr * DS + c4] = load_row4(hoff, q0 + rr, c4, 0u) * d.scale;
  }
  var o: array<vec4f, 4>;
  var m_old = NEG;
  var l = 0.0;
  let qrow = q0 + r;

  var nkb = (d.N + BC - 1u) / BC;
  if (d.causal != 0u) { nkb = min(nkb, (q0 + BR - 1u) / BC + 1u); }
  for (var kb = 0u; kb < nkb; kb++) {
    let k0 = kb * BC;
    workgroupBarrier();
    for (var e = t; e < BC * D4; e += WG) {
      let rr = e / D4;
      let c4 = e % D4;
      KVs[rr * DS + c4] = load_row4(hoff, k0 + rr, c4, 1u);
    }
    workgroupBarrier();
    // d outer, keys inner: one Q load serves NS keys (5 loads per 16 FMA at BC = 32).
    var acc: array<vec4f, 4>;
    for (var i = 0u; i < 4u; i++) { acc[i] = vec4f(0.0); }
    for (var d4 = 0u; d4 < D4; d4++) {
      let qv = Qs[r * DS + d4];
      for (var i = 0u; i < NS; i++) {
        acc[i] = fma(qv, KVs[(j + 8u * i) * DS + d4], acc[i]);
      }
    }
    var s: array<f32, 4>;
    var pm = NEG;
    for (var i = 0u; i < NS; i++) {
      var v = acc[i].x + acc[i].y + acc[i].z + acc[i].w;
      let key = k0 + j + 8u * i;
      if (key >= d.N || (d.causal != 0u && key > qrow)) { v = NEG; }
      s[i] = v;
      pm = max(pm, v);
    }
    Mx[t] = pm;
    workgroupBarrier();
    // V replaces K; row max from the 8 partial maxima.
    for (var e = t; e < BC * D4; e += WG) {
      let rr = e / D4;
      let c4 = e % D4;
      KVs[rr * DS + c4] = load_row4(hoff, k0 + rr, c4, 2u);
    }
    var mb = NEG;
    for (var q = 0u; q < 8u; q++) { mb = max(mb, Mx[r * 8u + q]); }
    let m_new = max(m_old, mb);
    var ps = 0.0;
    for (var i = 0u; i < NS; i++) {
      var p = 0.0;
      if (s[i] > NEG) { p = exp(s[i] - m_new); }
      Ps[r * (BC + 1u) + j + 8u * i] = p;
      ps += p;
    }
    Sx[t] = ps;
    workgroupBarrier();
    let alpha = exp(m_old - m_new);
    var bs = 0.0;
    for (var q = 0u; q < 8u; q++) { bs += Sx[r * 8u + q]; }
    l = l * alpha + bs;
    for (var q = 0u; q < 4u; q++) { o[q] *= alpha; }
    for (var c = 0u; c < BC; c++) {
      let p = Ps[r * (BC + 1u) + c];
      for (var q = 0u; q < 4u; q++) {
        o[q] = fma(vec4f(p), KVs[c * DS + j + 8u * q], o[q]);
      }
    }
    m_old = m_new;
  }
  if (qrow < d.N) {
    let inv = 1.0 / l;
    for (var q = 0u; q < 4u; q++) {
      let c4 = j + 8u * q;
      for (var e = 0u; e < 4u; e++) {
        let c = c4 * 4u + e;
        if (c < d.D) { O[hoff + qrow * d.D + c] = o[q][e] * inv; }
      }
    }
  }
}
