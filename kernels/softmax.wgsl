// softmax.wgsl: row-wise numerically stable softmax, Y[r][:] = exp(X[r][:] - max) / sum.
// One workgroup per row. Rows of up to WG*CACHE elements are read once into registers (one
// read, one write: the bandwidth minimum); longer rows keep a running (max, sum) per invocation
// (online softmax) and read X a second time to write.
struct RowDims { rows: u32, cols: u32, eps: f32, alpha: f32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<storage, read> d: RowDims;

override WG: u32;   // invocations per row (host: src/gpu/tunables.hpp); a power of 2
const CACHE = 16u;  // values per invocation held in registers: rows up to 4096
const NEG = -3.0e38;
var<workgroup> rm: array<f32, WG>;
var<workgroup> rs: array<f32, WG>;

// Combines every invocation's (m, s) into the row's (max, sum); all invocations get it.
fn combine(m_in: f32, s_in: f32, t: u32) -> vec2f {
  var m = m_in;
  var s = s_in;
  rm[t] = m;
  rs[t] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) {
      let m2 = rm[t + stride];
      let s2 = rs[t + stride];
      let mm = max(m, m2);
      s = s * exp(m - mm) + s2 * exp(m2 - mm);
      m = mm;
      rm[t] = m;
      rs[t] = s;
    }
    workgroupBarrier();
  }
  return vec2f(rm[0], rs[0]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= d.rows) { return; }
  let base = row * d.cols;
  if (d.cols <= WG * CACHE) {
    var v: array<f32, CACHE>;
    var m = NEG;
    for (var j = 0u; j < CACHE; j++) {
      let i = t + j * WG;
      v[j] = NEG;
      if (i < d.cols) { v[j] = X[base + i]; }
      m = max(m, v[j]);
    }
    var s = 0.0;
    for (var j = 0u; j < CACHE; j++) {
      if (t + j * WG < d.cols) { s += exp(v[j] - m); }
    }
    let ms = combine(m, s, t);
    let inv = 1.0 / ms.y;
    for (var j = 0u; j < CACHE; j++) {
      let i = t + j * WG;
      if (i < d.cols) { Y[base + i] = exp(v[j] - ms.x) * inv; }
    }
    return;
  }
  var m = NEG;
  var s = 0.0;
  for (var i = t; i < d.cols; i += WG) {
    let x = X[base + i];
    if (x > m) { s = s * exp(m - x) + 1.0; m = x; } else { s += exp(x - m); }
  }
  let ms = combine(m, s, t);
  let inv = 1.0 / ms.y;
  for (var i = t; i < d.cols; i += WG) {
    Y[base + i] = exp(X[base + i] - ms.x) * inv;
  }
}
