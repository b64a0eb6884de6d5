// layernorm.wgsl: row-wise LayerNorm over the last dimension, one workgroup per row:
//   Y = (X - mean) / sqrt(var + eps) * gamma + beta   (two passes: mean, then variance)
// Rows of up to WG*CACHE elements are read once into registers; longer rows re-read X.
struct RowDims { rows: u32, cols: u32, eps: f32, alpha: f32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<storage, read> d: RowDims;

override WG: u32;   // invocations per row (host: src/gpu/tunables.hpp); a power of 2
const CACHE = 16u;  // values per invocation held in registers: rows up to 4096
var<workgroup> red: array<f32, WG>;

// Sum of v over the workgroup (every invocation gets the total).
fn wg_sum(v: f32, t: u32) -> f32 {
  workgroupBarrier();
  red[t] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) { red[t] += red[t + stride]; }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= d.rows) { return; }
  let base = row * d.cols;
  let n = f32(d.cols);
  if (d.cols <= WG * CACHE) {
    var v: array<f32, CACHE>;
    var s = 0.0;
    for (var j = 0u; j < CACHE; j++) {
      let i = t + j * WG;
      v[j] = 0.0;
      if (i < d.cols) { v[j] = X[base + i]; }
      s += v[j];
    }
    let mean = wg_sum(s, t) / n;
    var q = 0.0;
    for (var j = 0u; j < CACHE; j++) {
      if (t + j * WG < d.cols) { let c = v[j] - mean; q += c * c; }
    }
    let rstd = inverseSqrt(wg_sum(q, t) / n + d.eps);
    for (var j = 0u; j < CACHE; j++) {
      let i = t + j * WG;
      if (i < d.cols) { Y[base + i] = (v[j] - mean) * rstd * gamma[i] + beta[i]; }
    }
    return;
  }
  var s = 0.0;
  for (var i = t; i < d.cols; i += WG) { s += X[base + i]; }
  let mean = wg_sum(s, t) / n;
  var q = 0.0;
  for (var i = t; i < d.cols; i += WG) { let c = X[base + i] - mean; q += c * c; }
  let rstd = inverseSqrt(wg_sum(q, t) / n + d.eps);
  for (var i = t; i < d.cols; i += WG) {
    Y[base + i] = (X[base + i] - mean) * rstd * gamma[i] + beta[i];
  }
}
