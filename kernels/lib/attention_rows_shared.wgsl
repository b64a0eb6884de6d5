// lib/attention_rows_shared.wgsl: attention v2's row reductions (lib/attention_fa2.wgsl) through
// workgroup memory, for any adapter: invocation (tx, ty) holds one value for each of its 8 rows
// r(i) = (i / 4) * BR/2 + ty * 4 + i % 4; the 16 invocations tx = 0..15 of a row combine theirs.
// Both contain barriers (so they are called in uniform control flow), and the caller puts a
// barrier between one call's return and the next call (attention_fa2's loops do): Red is reused.
var<workgroup> Red: array<f32, BR * 16u>;   // per row, its 16 partial values

fn rows_put(v: array<f32, 8>, ty: u32, tx: u32) {
  for (var i = 0u; i < 8u; i++) {
    let r = (i / 4u) * (BR / 2u) + ty * 4u + (i % 4u);
    Red[r * 16u + tx] = v[i];
  }
  workgroupBarrier();
}
fn row_max16(v: array<f32, 8>, ty: u32, tx: u32) -> array<f32, 8> {
  rows_put(v, ty, tx);
  var out: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let r = (i / 4u) * (BR / 2u) + ty * 4u + (i % 4u);
    var x = Red[r * 16u];
    for (var q = 1u; q < 16u; q++) { x = max(x, Red[r * 16u + q]); }
    out[i] = x;
  }
  return out;
}
fn row_sum16(v: array<f32, 8>, ty: u32, tx: u32) -> array<f32, 8> {
  rows_put(v, ty, tx);
  var out: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let r = (i / 4u) * (BR / 2u) + ty * 4u + (i % 4u);
    var x = 0.0;
    for (var q = 0u; q < 16u; q++) { x += Red[r * 16u + q]; }
    out[i] = x;
  }
  return out;
}
