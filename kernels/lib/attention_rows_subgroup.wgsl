// lib/attention_rows_subgroup.wgsl: attention v2's row reductions (lib/attention_fa2.wgsl) by
// subgroup shuffles: with subgroups of 16 or more lanes (a multiple of 16) over consecutive
// invocation indices, the 16 invocations tx = 0..15 of a row group are lanes differing only in
// their low 4 bits, so four xor shuffles combine them: no workgroup memory, no barrier. The host
// picks this only where the adapter's smallest subgroup has 16 lanes or more. The including file
// starts with `enable subgroups;`.
fn row_max16(v: array<f32, 8>, ty: u32, tx: u32) -> array<f32, 8> {
  var out = v;
  for (var i = 0u; i < 8u; i++) {
    var x = out[i];
    x = max(x, subgroupShuffleXor(x, 1u));
    x = max(x, subgroupShuffleXor(x, 2u));
    x = max(x, subgroupShuffleXor(x, 4u));
    x = max(x, subgroupShuffleXor(x, 8u));
    out[i] = x;
  }
  return out;
}
fn row_sum16(v: array<f32, 8>, ty: u32, tx: u32) -> array<f32, 8> {
  var out = v;
  for (var i = 0u; i < 8u; i++) {
    var x = out[i];
    x += subgroupShuffleXor(x, 1u);
    x += subgroupShuffleXor(x, 2u);
    x += subgroupShuffleXor(x, 4u);
    x += subgroupShuffleXor(x, 8u);
    out[i] = x;
  }
  return out;
}
