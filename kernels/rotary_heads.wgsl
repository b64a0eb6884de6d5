// rotary_heads.wgsl: rotary position embedding (rotate-half form), version 2: one invocation per
// (position t, pair i) applies the rotation to that pair in EVERY head, so cos/sin, the
// argument reduction and the index arithmetic are paid once per T*D/2 instead of T*H*D/2
// (rotary.wgsl, v1, pays them per element pair and is compute-bound by them). Same formula as v1:
//   Y[i] = X[i]*cos(a) - X[i+D/2]*sin(a),  Y[i+D/2] = X[i]*sin(a) + X[i+D/2]*cos(a),  a = (t+offset)*inv_freq[i]
// Neighbouring invocations take neighbouring i, so each head's loads and stores stay coalesced.
struct RotDims { T: u32, H: u32, D: u32, offset: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read> d: RotDims;

override WG: u32;   // invocations per workgroup (host: src/gpu/tunables.hpp)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half = d.D / 2u;
  let total = d.T * half;
  let head_stride = d.D;
  for (var idx = g.x; idx < total; idx += nwg.x * WG) {
    let i = idx % half;
    let t = idx / half;
    // The reduction of v1, unchanged (so v1 and v2 agree bit for bit): the product's rounding
    // error through fma, 2*pi in two f32 parts (Cody-Waite).
    let pf = f32(t + d.offset);
    let a_hi = pf * inv_freq[i];
    let a_lo = fma(pf, inv_freq[i], -a_hi);
    let k = round(a_hi * 0.15915494309189535);
    let a = fma(-k, -1.7484556e-07, fma(-k, 6.2831854820251465, a_hi)) + a_lo;
    let c = cos(a);
    let s = sin(a);
    var p = t * d.H * head_stride + i;
    for (var h = 0u; h < d.H; h++) {
      let x0 = X[p];
      let x1 = X[p + half];
      Y[p] = x0 * c - x1 * s;
      Y[p + half] = x0 * s + x1 * c;
      p += head_stride;
    }
  }
}
