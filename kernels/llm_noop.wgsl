// llm_noop.wgsl: a dispatch that does (almost) nothing, for GpuSession::empty_dispatches_ms: a
// sequence of these measures the per-dispatch floor. It reads and may write its buffer, so Dawn
// orders consecutive dispatches with a barrier, as it does the forward pass's.
@group(0) @binding(0) var<storage, read_write> o: array<u32>;

@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) li: u32) {
  if (li == 0u && o[0] == 0xffffffffu) { o[0] = 0u; }
}
