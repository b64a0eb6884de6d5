// llm_matvec_v2.wgsl: llm_matvec's contract (y = W x for up to three packed matrices stacked by
// rows, RMSNorm prologue, store / residual / SwiGLU epilogue) with coalesced weight reads: the
// LPR lanes of a row read consecutive words (lib/llm_quant.wgsl deq8: 8 elements per lane step).
// The norm costs no prologue: y = inv_rms * (W (x * nw)), the sum of squares of x accumulated
// by the same lanes that read x for the dot product and reduced with it.
#include "lib/llm_mat.wgsl"
@group(0) @binding(0) var<storage, read> p: MatParams;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> nw: array<vec4f>;
@group(0) @binding(3) var<storage, read> w0: array<u32>;
@group(0) @binding(4) var<storage, read> w1: array<u32>;
@group(0) @binding(5) var<storage, read> w2: array<u32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

// The host sets these (src/llm/forward_gpu.cpp, tunables); the defaults only let the file compile alone.
override WG: u32 = 128u;  // invocations per workgroup
override LPR: u32 = 32u;  // lanes per row, a power of 2 dividing WG (WG / LPR rows, an even number)
override TPW: u32 = 8u;   // tokens per workgroup (workgroup_id.y picks the token range)
const TB = 4u;            // tokens per pass over the weights (vec4 accumulators)
var<workgroup> red: array<vec4f, WG>;  // dot products of TB tokens, per lane
var<workgroup> rss: array<vec4f, WG>;  // sums of squares of x of TB tokens, per lane

#include "lib/llm_quant.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let rpw = WG / LPR;
  let lane = li % LPR;
  let v = wid.x * rpw + li / LPR;
  let tok_lo = wid.y * TPW;
  let tok_hi = min(p.n_tok, tok_lo + TPW);
  let live = v < p.n_out;
  let src = row_src(v);
  let m = src.m;
  let r = src.r;
  let ty = src.ty;
  let stride = src.stride;
  let cb = chunk_bytes(ty);
  let nq = p.cols / 8u;  // lane steps per row: 8 elements each
  let xs4 = p.x_stride / 4u;
  for (var t0 = tok_lo; t0 < tok_hi; t0 += TB) {
    // Rows of tokens past the range repeat the last one (read, never stored).
    var xb: array<u32, TB>;
    for (var k = 0u; k < TB; k++) { xb[k] = (p.tok_base + min(t0 + k, tok_hi - 1u)) * xs4; }
    var acc = vec4f(0.0);
    var ss = vec4f(0.0);
    if (live) {
      for (var q = lane; q < nq; q += LPR) {
        let c = q >> 2u;
        let k = q & 3u;
        let wv = deq8(m, ty, r * stride + c * cb, k);
        let i = c * 8u + k;  // vec4 index of elements 4k.. of block c; +4: elements 16+4k..
        var nlo = vec4f(1.0);
        var nhi = vec4f(1.0);
        if (p.norm != 0u) { nlo = nw[i]; nhi = nw[i + 4u]; }
        for (var t = 0u; t < TB; t++) {
          let a = x[xb[t] + i];
          let b = x[xb[t] + i + 4u];
          acc[t] += dot(wv.lo, a * nlo) + dot(wv.hi, b * nhi);
          ss[t] += dot(a, a) + dot(b, b);
        }
      }
    }
    red[li] = acc;
    rss[li] = ss;
    workgroupBarrier();
    for (var st = LPR / 2u; st > 0u; st /= 2u) {
      if (lane < st) {
        red[li] += red[li + st];
        rss[li] += rss[li + st];
      }
      workgroupBarrier();
    }
    if (live && lane == 0u) {
      var sum = red[li];
      var up = vec4f(0.0);
      if (p.mode == 2u && m == 0u) { up = red[li + LPR]; }  // SwiGLU: the up row is the next row slot
      if (p.norm != 0u) {
        let inv = 1.0 / sqrt(rss[li] / f32(p.cols) + p.eps);
        sum *= inv;
        up *= inv;
      }
      for (var t = 0u; t < TB; t++) {
        if (t0 + t < tok_hi) {
          let o = (t0 + t) * p.y_stride;
          if (p.mode == 0u) {
            y[o + v] = sum[t];
          } else if (p.mode == 1u) {
            y[o + v] += sum[t];
          } else if (m == 0u) {
            y[o + r] = sum[t] / (1.0 + exp(-sum[t])) * up[t];
          }
        }
      }
    }
    workgroupBarrier();
  }
}
