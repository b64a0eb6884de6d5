// llm_matmul.wgsl: llm_matvec's contract for a batch of tokens (prefill) as a tiled matmul: a
// workgroup computes TM rows x TN tokens; per block of 32 columns it dequantises its TM rows
// (lib/llm_quant.wgsl deq8, 8 elements a lane) and loads TN tokens of x (times the norm weight)
// into workgroup memory, so the weights are read once per TN tokens, not once per token pair.
// The RMSNorm is applied in the epilogue: y = inv_rms(t) * (W (x * nw)), the sums of squares of
// x taken by the lanes that load it. Each invocation owns rows 2tr, 2tr+1, 2tr+32, 2tr+33 x 4
// tokens: a SwiGLU (gate, up) row pair is in one invocation, and the tile reads of 8 neighbouring
// invocations fall in 4 bank groups (consecutive rows would give 2).
#include "lib/llm_mat.wgsl"
@group(0) @binding(0) var<storage, read> p: MatParams;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> nw: array<vec4f>;
@group(0) @binding(3) var<storage, read> w0: array<u32>;
@group(0) @binding(4) var<storage, read> w1: array<u32>;
@group(0) @binding(5) var<storage, read> w2: array<u32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

const TM = 64u;   // rows per workgroup
const TN = 64u;   // tokens per workgroup
const WG = 256u;  // (TM / 4) x (TN / 4) invocations; TM * 4 = TN * 4 = WG loaders
const LS = 9u;    // vec4s per tile line: 8 (32 columns) + 1 of padding against bank conflicts
var<workgroup> ws: array<vec4f, TM * LS>;
var<workgroup> xs: array<vec4f, TN * LS>;
var<workgroup> sq: array<f32, WG>;

#include "lib/llm_quant.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = wid.x * TM;
  let tok0 = wid.y * TN;
  // As a loader: row (and token) li / 4 of the tile, elements 4k.. and 16+4k.. of each block.
  let lr = li / 4u;
  let lk = li % 4u;
  let v = row0 + lr;
  let wlive = v < p.n_out;
  let src = row_src(v);
  let m = src.m;
  let r = src.r;
  let ty = src.ty;
  let stride = src.stride;
  let cb = chunk_bytes(ty);
  let xlive = tok0 + lr < p.n_tok;
  let xb = (p.tok_base + min(tok0 + lr, p.n_tok - 1u)) * (p.x_stride / 4u);
  // As a computer: rows 2 tr + {0, 1, 32, 33}, tokens 4 tt..
  let tr = li % (TM / 4u);
  let tt = li / (TM / 4u);
  var acc: array<vec4f, 4>;  // acc[i][j]: row rl(i), token 4 tt + j
  for (var i = 0u; i < 4u; i++) { acc[i] = vec4f(0.0); }
  var ssq = 0.0;
  let chunks = p.cols / 32u;
  for (var c = 0u; c < chunks; c++) {
    var lo = vec4f(0.0);
    var hi = vec4f(0.0);
    if (wlive) {
      let d = deq8(m, ty, r * stride + c * cb, lk);
      lo = d.lo;
      hi = d.hi;
    }
    ws[lr * LS + lk] = lo;
    ws[lr * LS + 4u + lk] = hi;
    let i = c * 8u + lk;
    var a = x[xb + i];
    var b = x[xb + i + 4u];
    if (!xlive) {
      a = vec4f(0.0);
      b = vec4f(0.0);
    }
    ssq += dot(a, a) + dot(b, b);
    if (p.norm != 0u) {
      a *= nw[i];
      b *= nw[i + 4u];
    }
    xs[lr * LS + lk] = a;
    xs[lr * LS + 4u + lk] = b;
    workgroupBarrier();
    for (var e = 0u; e < 8u; e++) {
      let w_0 = ws[(2u * tr) * LS + e];
      let w_1 = ws[(2u * tr + 1u) * LS + e];
      let w_2 = ws[(2u * tr + 32u) * LS + e];
      let w_3 = ws[(2u * tr + 33u) * LS + e];
      for (var j = 0u; j < 4u; j++) {
        let xv = xs[(4u * tt + j) * LS + e];
        acc[0][j] += dot(w_0, xv);
        acc[1][j] += dot(w_1, xv);
        acc[2][j] += dot(w_2, xv);
        acc[3][j] += dot(w_3, xv);
      }
    }
    workgroupBarrier();
  }
  sq[li] = ssq;
  workgroupBarrier();
  var inv = vec4f(1.0);
  if (p.norm != 0u) {
    for (var j = 0u; j < 4u; j++) {
      let q = 4u * (4u * tt + j);  // the 4 loaders of token 4 tt + j
      inv[j] = 1.0 / sqrt((sq[q] + sq[q + 1u] + sq[q + 2u] + sq[q + 3u]) / f32(p.cols) + p.eps);
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let vo = row0 + 2u * tr + (i & 1u) + 32u * (i >> 1u);
    for (var j = 0u; j < 4u; j++) {
      let t = tok0 + 4u * tt + j;
      if (vo < p.n_out && t < p.n_tok) {
        let o = t * p.y_stride;
        let s = acc[i][j] * inv[j];
        if (p.mode == 0u) {
          y[o + vo] = s;
        } else if (p.mode == 1u) {
          y[o + vo] += s;
        } else if ((i & 1u) == 0u) {  // gate row vo, up row vo + 1 (n_out is even)
          let u = acc[i + 1u][j] * inv[j];
          y[o + (vo >> 1u)] = s / (1.0 + exp(-s)) * u;
        }
      }
    }
  }
}
