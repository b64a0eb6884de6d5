// lib/llm_mat.wgsl: what every llm matrix kernel (llm_matvec v1/v2, llm_matmul) shares: the
// MatParams block (src/llm/forward_gpu.cpp's struct, 80 bytes) and which stacked matrix an output
// row reads, and wword (lib/llm_quant.wgsl's word reader) over the three stacked matrices. The
// including kernel declares `p: MatParams` and w0..w2 (WGSL module scope is order-free).
struct MatParams {
  n_tok: u32, tok_base: u32, cols: u32, x_stride: u32,
  y_stride: u32, mode: u32, norm: u32, eps: f32,
  rows0: u32, rows1: u32, n_out: u32, ty0: u32,
  ty1: u32, ty2: u32, stride0: u32, stride1: u32,
  stride2: u32, pad0: u32, pad1: u32, pad2: u32,
}

// Word i of matrix m (lib/llm_quant.wgsl reads blocks through it).
fn wword(m: u32, i: u32) -> u32 {
  if (m == 0u) { return w0[i]; }
  if (m == 1u) { return w1[i]; }
  return w2[i];
}

// Output row v's source: matrix m (0..2) and row r in it, its block type and row stride in
// bytes. SwiGLU (mode 2) interleaves matrices 0 and 1 (even rows gate, odd rows up); otherwise
// the matrices are stacked by rows (q, k, v).
struct RowSrc { m: u32, r: u32, ty: u32, stride: u32 }
fn row_src(v: u32) -> RowSrc {
  var m = 0u;
  var r = v;
  if (p.mode == 2u) {
    m = v & 1u;
    r = v >> 1u;
  } else if (v >= p.rows0 + p.rows1) {
    m = 2u;
    r = v - p.rows0 - p.rows1;
  } else if (v >= p.rows0) {
    m = 1u;
    r = v - p.rows0;
  }
  let ty = select(select(p.ty2, p.ty1, m == 1u), p.ty0, m == 0u);
  let stride = select(select(p.stride2, p.stride1, m == 1u), p.stride0, m == 0u);
  return RowSrc(m, r, ty, stride);
}
