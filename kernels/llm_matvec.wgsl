// llm_matvec.wgsl: y = W x for up to three packed matrices stacked by rows (q/k/v in one dispatch),
// dequantised on the fly (lib/llm_quant.wgsl), for n_tok tokens (TB at a time per pass over W).
// Fusions: RMSNorm of x in the prologue (norm = 1), and the epilogue by mode: 0 store, 1 add into
// y (the residual), 2 SwiGLU (even rows gate, odd rows up, of matrices 0 and 1: y = silu(g) * u).
#include "lib/llm_mat.wgsl"
@group(0) @binding(0) var<storage, read> p: MatParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> nw: array<f32>;
@group(0) @binding(3) var<storage, read> w0: array<u32>;
@group(0) @binding(4) var<storage, read> w1: array<u32>;
@group(0) @binding(5) var<storage, read> w2: array<u32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

override WG: u32;   // invocations per workgroup (host: src/gpu/tunables.hpp)
override LPR: u32;  // invocations per row, a power of 2 dividing WG; WG / LPR rows per workgroup
override TPW: u32;  // tokens per workgroup (workgroup_id.y picks the token range)
// Tokens per pass over the weights (register accumulators). 4 gave wrong logits from the 5th
// token on in GpuSession on lavapipe (Mesa 25) while this kernel alone passed; not understood,
// so 2 (docs/llm.md).
const TB = 2u;
var<workgroup> red: array<f32, WG * TB>;
var<workgroup> inv: array<f32, TB>;

#include "lib/llm_quant.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let rpw = WG / LPR;
  let lane = li % LPR;
  let v = wid.x * rpw + li / LPR;  // the row this invocation's lanes reduce
  let tok_lo = wid.y * TPW;
  let tok_hi = min(p.n_tok, tok_lo + TPW);
  let live = v < p.n_out;
  let src = row_src(v);
  let m = src.m;
  let r = src.r;
  let ty = src.ty;
  let stride = src.stride;
  let cb = chunk_bytes(ty);
  let chunks = p.cols / 32u;
  for (var t0 = tok_lo; t0 < tok_hi; t0 += TB) {
    let nt = min(TB, tok_hi - t0);
    if (p.norm != 0u) {  // 1 / rms of each token of the tile, by the whole workgroup
      for (var k = 0u; k < TB; k++) {
        var s = 0.0;
        if (k < nt) {
          let base = (p.tok_base + t0 + k) * p.x_stride;
          for (var i = li; i < p.cols; i += WG) { let a = x[base + i]; s += a * a; }
        }
        red[li * TB + k] = s;
      }
      workgroupBarrier();
      for (var st = WG / 2u; st > 0u; st /= 2u) {
        if (li < st) { for (var k = 0u; k < TB; k++) { red[li * TB + k] += red[(li + st) * TB + k]; } }
        workgroupBarrier();
      }
      if (li < TB) { inv[li] = 1.0 / sqrt(red[li] / f32(p.cols) + p.eps); }
      workgroupBarrier();
    }
    var acc = array<f32, TB>(0.0, 0.0);  // explicit: lavapipe kept a loop-body var's value
    if (live) {
      for (var c = lane; c < chunks; c += LPR) {
        let wv = deq(m, ty, r * stride + c * cb);
        for (var k = 0u; k < TB; k++) {
          if (k < nt) {
            let base = (p.tok_base + t0 + k) * p.x_stride + c * 32u;
            var s = 0.0;
            if (p.norm != 0u) {
              let sc = inv[k];
              for (var e = 0u; e < 32u; e++) { s += wv[e] * ((x[base + e] * sc) * nw[c * 32u + e]); }
            } else {
              for (var e = 0u; e < 32u; e++) { s += wv[e] * x[base + e]; }
            }
            acc[k] += s;
          }
        }
      }
    }
    workgroupBarrier();  // the norm's use of red is over
    for (var k = 0u; k < TB; k++) { red[li * TB + k] = acc[k]; }
    workgroupBarrier();
    for (var st = LPR / 2u; st > 0u; st /= 2u) {
      if (lane < st) { for (var k = 0u; k < TB; k++) { red[li * TB + k] += red[(li + st) * TB + k]; } }
      workgroupBarrier();
    }
    if (live && lane == 0u) {
      for (var k = 0u; k < nt; k++) {
        let sum = red[li * TB + k];
        let o = (t0 + k) * p.y_stride;
        if (p.mode == 0u) {
          y[o + v] = sum;
        } else if (p.mode == 1u) {
          y[o + v] += sum;
        } else if (m == 0u) {  // the up row is the next row slot of this workgroup
          let u = red[(li + LPR) * TB + k];
          y[o + r] = sum / (1.0 + exp(-sum)) * u;
        }
      }
    }
    workgroupBarrier();
  }
}
