// lib/attention_fa2.wgsl: attention v2, FlashAttention-2 tiling with the matmul's register
// blocking for both products, shared by attention_v2 (any D), attention_v2_vec4 (D % 4 == 0) and
// attention_v2_sg (D % 4 == 0, subgroups of 16 or more lanes), which declare bindings 0-3
// (Q, K, V, O), include one of lib/attention_rows_{shared,subgroup}.wgsl for
//   fn row_max16(v, r, tx) / row_sum16(v, r, tx)   8 values per invocation (its 8 rows), each
//                                    combined over the 16 invocations tx = 0..15 of its rows
// and define
//   fn load4(which, base, c) -> vec4f  Q (0), K (1) or V (2): elements c .. c+3 of the row
//                                      starting at element `base` (c % 4 == 0; zero past D;
//                                      the row is known to be < N)
//   fn store4(off, n, v)               O[off .. off + n - 1] = v (n <= 4 columns inside D)
// O = softmax(Q K^T * scale [+ causal mask]) V for Q, K, V, O laid out [H][N][D], D <= 128.
//
// A workgroup of 16 x TY invocations owns BR = 8 * TY query rows of one head and walks the key
// blocks of BC = 64 keys (causal: only those not fully masked, heaviest query blocks first).
// Invocation (tx, ty) owns query rows {ty*4 + i, BR/2 + ty*4 + i : i < 4} and
//   S step: keys {tx*4 + j : j < 4} of the block: s[8 rows] as vec4 over its 4 keys, built from
//           Q and K streamed through workgroup memory in d-chunks of DC = 16, both stored
//           transposed so one vec4 load gives 4 rows (Q) or 4 keys (K): 3 loads per 32 FMA;
//   PV step: output columns {tx*4 + c, 64 + tx*4 + c : c < 4}: o[8 rows x 2 vec4], from P
//           (transposed, in workgroup memory) and V streamed in chunks of VK = 8 keys: 4 loads
//           per 64 FMA (VK = WG / 32: one vec4 of V per invocation per chunk).
// Online softmax in base 2 (Q pre-scaled by scale * log2 e): the block's row maximum is combined
// over the 16 invocations of a row (row_max16: workgroup memory, or subgroup shuffles); each
// invocation keeps a partial row sum over its own keys, combined once at the end (row_sum16). The next chunk (Q/K or V) is fetched into
// registers while the current one computes.
struct AttnDims { H: u32, N: u32, D: u32, causal: u32, scale: f32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(4) var<storage, read> d: AttnDims;

// Host-set (src/gpu/tunables.hpp): TY 16 (8 where workgroup memory is short), DC 16.
override TY: u32;          // invocation rows: 16 x TY invocations, BR = 8 * TY query rows
override DC: u32;          // d-chunk of the S step (the loaders fetch 4 of its 16 columns each)
override WG = 16u * TY;
override BR = 8u * TY;
override R4 = BR / 4u;     // vec4 per row of the transposed Q chunk
override KOFF = DC * R4;   // the K chunk's place in U
override KL = 256u / WG;   // K chunk vec4 per invocation (64 keys x 4 vec4 of d)
override VK = WG / 32u;    // keys per V chunk
override PS = R4 + 1u;     // P row stride in vec4 (one of padding against bank conflicts)
const BC = 64u;            // keys per block: 16 invocations x 4
const NEG = -1.0e30;
const LOG2E = 1.4426950408889634;

// Union: the S step's Q chunk [DC][R4] and K chunk [DC][16] (vec4 of 4 rows / 4 keys), then the
// PV step's P^T [BC][PS] (vec4 of 4 query rows). DC * (R4 + 16) <= BC * PS for DC <= 16.
var<workgroup> U: array<vec4f, BC * PS>;
var<workgroup> Vs: array<vec4f, WG>;           // V chunk [VK][128 / 4]

@compute @workgroup_size(16, TY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let tx = lid.x;
  let ty = lid.y;
  let nqb = (d.N + BR - 1u) / BR;
  // Workgroups start in x-major order: x runs over the heads, y over the query blocks from the
  // last, so every head's longest causal rows go first (and the short ones fill the tail).
  let qb = nqb - 1u - wid.y;
  let q0 = qb * BR;
  let hoff = wid.x * d.N * d.D;
  let qscale = d.scale * LOG2E;
  let nchunks = (d.D + DC - 1u) / DC;
  var nkb = (d.N + BC - 1u) / BC;
  if (d.causal != 0u) { nkb = min(nkb, (q0 + BR - 1u) / BC + 1u); }

  // Loader mappings. Q chunk: rows lr and lr + BR/2, d lc..lc+3; K chunk: keys lr + h * WG/4
  // (h < KL), same d; V chunk: key t / 32, columns (t % 32) * 4 ..
  let hb = BR / 2u;
  let lr = t / 4u;
  let lc = (t % 4u) * 4u;
  let vk = t / 32u;
  let vc = (t % 32u) * 4u;

  var o: array<vec4f, 16>;
  var m: array<f32, 8>;
  var l: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) { m[i] = NEG; l[i] = 0.0; }
  for (var i = 0u; i < 16u; i++) { o[i] = vec4f(0.0); }

  // Prefetch registers: rq0, rq1 (Q rows lr, lr + BR/2), rk (K) for the S step; rv for V.
  var rq0 = vec4f(0.0);
  var rq1 = vec4f(0.0);
  var rk: array<vec4f, 2>;
  var rv = vec4f(0.0);
  if (q0 + lr < d.N) { rq0 = load4(0u, hoff + (q0 + lr) * d.D, lc); }
  if (q0 + lr + hb < d.N) { rq1 = load4(0u, hoff + (q0 + lr + hb) * d.D, lc); }
  for (var h = 0u; h < KL; h++) {
    let kr = lr + h * (WG / 4u);
    rk[h] = vec4f(0.0);
    if (kr < d.N) { rk[h] = load4(1u, hoff + kr * d.D, lc); }
  }

  for (var kb = 0u; kb < nkb; kb++) {
    let k0 = kb * BC;
    var s: array<vec4f, 8>;
    for (var i = 0u; i < 8u; i++) { s[i] = vec4f(0.0); }
    for (var ch = 0u; ch < nchunks; ch++) {
      for (var e = 0u; e < 4u; e++) {
        U[(lc + e) * R4 + lr / 4u][lr % 4u] = rq0[e] * qscale;
        U[(lc + e) * R4 + TY + lr / 4u][lr % 4u] = rq1[e] * qscale;
        for (var h = 0u; h < KL; h++) {
          let kr = lr + h * (WG / 4u);
          U[KOFF + (lc + e) * 16u + kr / 4u][kr % 4u] = rk[h][e];
        }
      }
      workgroupBarrier();
      if (ch + 1u < nchunks) {
        let dn = (ch + 1u) * DC + lc;
        rq0 = vec4f(0.0); rq1 = vec4f(0.0);
        if (q0 + lr < d.N) { rq0 = load4(0u, hoff + (q0 + lr) * d.D, dn); }
        if (q0 + lr + hb < d.N) { rq1 = load4(0u, hoff + (q0 + lr + hb) * d.D, dn); }
        for (var h = 0u; h < KL; h++) {
          let kr = k0 + lr + h * (WG / 4u);
          rk[h] = vec4f(0.0);
          if (kr < d.N) { rk[h] = load4(1u, hoff + kr * d.D, dn); }
        }
      } else {
        rv = vec4f(0.0);
        if (k0 + vk < d.N && vc < d.D) { rv = load4(2u, hoff + (k0 + vk) * d.D, vc); }
      }
      for (var dd = 0u; dd < DC; dd++) {
        let a0 = U[dd * R4 + ty];
        let a1 = U[dd * R4 + TY + ty];
        let b = U[KOFF + dd * 16u + tx];
        s[0] = fma(vec4f(a0.x), b, s[0]);
        s[1] = fma(vec4f(a0.y), b, s[1]);
        s[2] = fma(vec4f(a0.z), b, s[2]);
        s[3] = fma(vec4f(a0.w), b, s[3]);
        s[4] = fma(vec4f(a1.x), b, s[4]);
        s[5] = fma(vec4f(a1.y), b, s[5]);
        s[6] = fma(vec4f(a1.z), b, s[6]);
        s[7] = fma(vec4f(a1.w), b, s[7]);
      }
      workgroupBarrier();
    }
    // Masks only where the block needs them: keys past N, causal keys past the row.
    let kc = k0 + tx * 4u;
    if (k0 + BC > d.N || (d.causal != 0u && k0 + BC - 1u > q0)) {
      for (var i = 0u; i < 8u; i++) {
        let row = q0 + (i / 4u) * hb + ty * 4u + (i % 4u);
        for (var j = 0u; j < 4u; j++) {
          if (kc + j >= d.N || (d.causal != 0u && kc + j > row)) { s[i][j] = NEG; }
        }
      }
    }
    var bm: array<f32, 8>;
    for (var i = 0u; i < 8u; i++) { bm[i] = max(max(s[i].x, s[i].y), max(s[i].z, s[i].w)); }
    bm = row_max16(bm, ty, tx);
    for (var i = 0u; i < 8u; i++) {
      // Every row has a valid key in block 0 (key 0), so mb is finite from then on.
      let mb = max(m[i], bm[i]);
      let alpha = exp2(m[i] - mb);
      m[i] = mb;
      let p = exp2(s[i] - vec4f(mb));
      s[i] = p;
      l[i] = l[i] * alpha + (p.x + p.y + p.z + p.w);
      o[2u * i] *= alpha;
      o[2u * i + 1u] *= alpha;
    }
    // P^T: key kc + j, the vec4 of rows ty*4 .. +3 (and BR/2 + ty*4 .. +3).
    for (var j = 0u; j < 4u; j++) {
      U[(tx * 4u + j) * PS + ty] = vec4f(s[0][j], s[1][j], s[2][j], s[3][j]);
      U[(tx * 4u + j) * PS + TY + ty] = vec4f(s[4][j], s[5][j], s[6][j], s[7][j]);
    }
    // PV step over the block's keys in chunks of VK (keys past N have p = 0 and V = 0).
    let nv = BC / VK;
    for (var vcn = 0u; vcn < nv; vcn++) {
      Vs[t] = rv;
      workgroupBarrier();
      if (vcn + 1u < nv) {
        let key = k0 + (vcn + 1u) * VK + vk;
        rv = vec4f(0.0);
        if (key < d.N && vc < d.D) { rv = load4(2u, hoff + key * d.D, vc); }
      } else if (kb + 1u < nkb) {
        let kn = k0 + BC;
        rq0 = vec4f(0.0); rq1 = vec4f(0.0);
        if (q0 + lr < d.N) { rq0 = load4(0u, hoff + (q0 + lr) * d.D, lc); }
        if (q0 + lr + hb < d.N) { rq1 = load4(0u, hoff + (q0 + lr + hb) * d.D, lc); }
        for (var h = 0u; h < KL; h++) {
          let kr = kn + lr + h * (WG / 4u);
          rk[h] = vec4f(0.0);
          if (kr < d.N) { rk[h] = load4(1u, hoff + kr * d.D, lc); }
        }
      }
      for (var kk = 0u; kk < VK; kk++) {
        let kr = vcn * VK + kk;
        let p0 = U[kr * PS + ty];
        let p1 = U[kr * PS + TY + ty];
        let v0 = Vs[kk * 32u + tx];
        let v1 = Vs[kk * 32u + 16u + tx];
        o[0] = fma(vec4f(p0.x), v0, o[0]);
        o[1] = fma(vec4f(p0.x), v1, o[1]);
        o[2] = fma(vec4f(p0.y), v0, o[2]);
        o[3] = fma(vec4f(p0.y), v1, o[3]);
        o[4] = fma(vec4f(p0.z), v0, o[4]);
        o[5] = fma(vec4f(p0.z), v1, o[5]);
        o[6] = fma(vec4f(p0.w), v0, o[6]);
        o[7] = fma(vec4f(p0.w), v1, o[7]);
        o[8] = fma(vec4f(p1.x), v0, o[8]);
        o[9] = fma(vec4f(p1.x), v1, o[9]);
        o[10] = fma(vec4f(p1.y), v0, o[10]);
        o[11] = fma(vec4f(p1.y), v1, o[11]);
        o[12] = fma(vec4f(p1.z), v0, o[12]);
        o[13] = fma(vec4f(p1.z), v1, o[13]);
        o[14] = fma(vec4f(p1.w), v0, o[14]);
        o[15] = fma(vec4f(p1.w), v1, o[15]);
      }
      workgroupBarrier();
    }
  }
  // Row sums: the 16 partials of each row.
  let sums = row_sum16(l, ty, tx);
  for (var i = 0u; i < 8u; i++) {
    let row = q0 + (i / 4u) * hb + ty * 4u + (i % 4u);
    if (row >= d.N) { continue; }
    let inv = 1.0 / sums[i];
    for (var h = 0u; h < 2u; h++) {
      let c = h * 64u + tx * 4u;
      if (c < d.D) { store4(hoff + row * d.D + c, min(4u, d.D - c), o[2u * i + h] * inv); }
    }
  }
}
