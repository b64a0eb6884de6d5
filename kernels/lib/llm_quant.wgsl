// lib/llm_quant.wgsl: GGUF blocks read as they lie in the file (F32, F16, Q4_0, Q4_1, Q8_0, ggml's
// layout), 32 elements at a time. The including kernel defines wword(m, i): word i of matrix m.
// Types are ggml ids (src/llm/ggml_types.def); f16 scales go through unpack2x16float (no f16 type).

// Bytes of 32 elements of type TY.
fn chunk_bytes(ty: u32) -> u32 {
  switch ty {
    case 0u: { return 128u; }  // F32
    case 1u: { return 64u; }   // F16
    case 2u: { return 18u; }   // Q4_0: f16 d, 16 bytes of nibbles
    case 3u: { return 20u; }   // Q4_1: f16 d, f16 m, 16 bytes of nibbles
    default: { return 34u; }   // Q8_0: f16 d, 32 int8
  }
}

// The 16 bits at byte offset O (even): Q4_0 and Q8_0 blocks are 2-aligned only.
fn whalf(m: u32, o: u32) -> u32 {
  return (wword(m, o >> 2u) >> ((o & 2u) * 8u)) & 0xffffu;
}

// The 32 elements whose block (or run, for F32/F16) starts at byte offset OFF.
fn deq(m: u32, ty: u32, off: u32) -> array<f32, 32> {
  var v: array<f32, 32>;
  switch ty {
    case 3u: {  // Q4_1: 20-byte blocks are word-aligned: d and m in one word, then 4 words of nibbles
      let w = off >> 2u;
      let dm = unpack2x16float(wword(m, w));
      for (var k = 0u; k < 4u; k++) {
        let q = wword(m, w + 1u + k);
        for (var b = 0u; b < 4u; b++) {
          let by = (q >> (8u * b)) & 0xffu;
          v[4u * k + b] = dm.x * f32(by & 15u) + dm.y;
          v[4u * k + b + 16u] = dm.x * f32(by >> 4u) + dm.y;
        }
      }
    }
    case 2u: {  // Q4_0: d * (q - 8), low nibbles first
      let d = unpack2x16float(whalf(m, off)).x;
      for (var k = 0u; k < 8u; k++) {
        let hh = whalf(m, off + 2u + 2u * k);
        for (var b = 0u; b < 2u; b++) {
          let by = (hh >> (8u * b)) & 0xffu;
          v[2u * k + b] = d * (f32(by & 15u) - 8.0);
          v[2u * k + b + 16u] = d * (f32(by >> 4u) - 8.0);
        }
      }
    }
    case 8u: {  // Q8_0: d * q, q signed bytes
      let d = unpack2x16float(whalf(m, off)).x;
      for (var k = 0u; k < 16u; k++) {
        let hh = whalf(m, off + 2u + 2u * k);
        v[2u * k] = d * f32(bitcast<i32>(hh << 24u) >> 24u);
        v[2u * k + 1u] = d * f32(bitcast<i32>(hh << 16u) >> 24u);
      }
    }
    case 1u: {  // F16, two per word
      for (var k = 0u; k < 16u; k++) {
        let pr = unpack2x16float(wword(m, (off >> 2u) + k));
        v[2u * k] = pr.x;
        v[2u * k + 1u] = pr.y;
      }
    }
    default: {  // F32
      for (var k = 0u; k < 32u; k++) { v[k] = bitcast<f32>(wword(m, (off >> 2u) + k)); }
    }
  }
  return v;
}

// Elements 4k..4k+3 (.lo) and 16+4k..16+4k+3 (.hi) of the 32 whose block (or run) starts at byte
// offset OFF, K in 0..3: the nibble layouts put both in one word (byte 4k+b holds elements
// 4k+b and 16+4k+b), so four lanes reading k = 0..3 of one block read consecutive words.
struct Deq8 { lo: vec4f, hi: vec4f }
fn deq8(m: u32, ty: u32, off: u32, k: u32) -> Deq8 {
  var r: Deq8;
  switch ty {
    case 3u: {  // Q4_1: word-aligned, d and m in the first word
      let w = off >> 2u;
      let dm = unpack2x16float(wword(m, w));
      let q = wword(m, w + 1u + k);
      let lo = vec4u(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u);
      let hi = vec4u((q >> 4u) & 15u, (q >> 12u) & 15u, (q >> 20u) & 15u, q >> 28u);
      r.lo = dm.x * vec4f(lo) + dm.y;
      r.hi = dm.x * vec4f(hi) + dm.y;
    }
    case 2u: {  // Q4_0: d * (q - 8); the nibbles start at byte 2 (2-aligned)
      let d = unpack2x16float(whalf(m, off)).x;
      let b = off + 2u + 4u * k;
      let q = whalf(m, b) | (whalf(m, b + 2u) << 16u);
      let lo = vec4u(q & 15u, (q >> 8u) & 15u, (q >> 16u) & 15u, (q >> 24u) & 15u);
      let hi = vec4u((q >> 4u) & 15u, (q >> 12u) & 15u, (q >> 20u) & 15u, q >> 28u);
      r.lo = d * (vec4f(lo) - 8.0);
      r.hi = d * (vec4f(hi) - 8.0);
    }
    case 8u: {  // Q8_0: d * q, signed bytes from byte 2
      let d = unpack2x16float(whalf(m, off)).x;
      let a = off + 2u + 4u * k;
      let ql = whalf(m, a) | (whalf(m, a + 2u) << 16u);
      let qh = whalf(m, a + 16u) | (whalf(m, a + 18u) << 16u);
      let sl = bitcast<vec4i>(vec4u(ql << 24u, ql << 16u, ql << 8u, ql)) >> vec4u(24u);
      let sh = bitcast<vec4i>(vec4u(qh << 24u, qh << 16u, qh << 8u, qh)) >> vec4u(24u);
      r.lo = d * vec4f(sl);
      r.hi = d * vec4f(sh);
    }
    case 1u: {  // F16, two per word
      let w = (off >> 2u) + 2u * k;
      let a = unpack2x16float(wword(m, w));
      let b = unpack2x16float(wword(m, w + 1u));
      let c = unpack2x16float(wword(m, w + 8u));
      let e = unpack2x16float(wword(m, w + 9u));
      r.lo = vec4f(a, b);
      r.hi = vec4f(c, e);
    }
    default: {  // F32
      let w = (off >> 2u) + 4u * k;
      r.lo = bitcast<vec4f>(vec4u(wword(m, w), wword(m, w + 1u), wword(m, w + 2u), wword(m, w + 3u)));
      r.hi = bitcast<vec4f>(vec4u(wword(m, w + 16u), wword(m, w + 17u), wword(m, w + 18u), wword(m, w + 19u)));
    }
  }
  return r;
}
