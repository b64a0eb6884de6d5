// rotary_vec4.wgsl: rotary position embedding (rotate-half form), version 3, for D % 8 == 0:
// one invocation per (position t, group of HG heads, 4 consecutive pairs i4*4 .. +3) rotates
// those 4 pairs in each of its HG heads with 16-byte loads and stores. cos/sin are paid once per
// 4 pairs per HG heads (v2, rotary_heads.wgsl, pays them once per pair but walks all H heads in
// one invocation: few invocations, few loads in flight; v1 pays them per element pair). Same
// formula and argument reduction as v1 and v2, component-wise:
//   Y[i] = X[i]*cos(a) - X[i+D/2]*sin(a),  Y[i+D/2] = X[i]*sin(a) + X[i+D/2]*cos(a),  a = (t+offset)*inv_freq[i]
// Neighbouring invocations take neighbouring i4, so each head's loads and stores stay coalesced.
struct RotDims { T: u32, H: u32, D: u32, offset: u32 }
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
@group(0) @binding(1) var<storage, read> inv_freq: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec4f>;
@group(0) @binding(3) var<storage, read> d: RotDims;

override WG: u32;   // invocations per workgroup (host: src/gpu/tunables.hpp)
override HG: u32;   // heads per invocation

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half4 = d.D / 8u;                 // vec4 per half row
  let row4 = d.D / 4u;                  // vec4 per head row
  let ngroups = (d.H + HG - 1u) / HG;
  let total = d.T * ngroups * half4;
  for (var idx = g.x; idx < total; idx += nwg.x * WG) {
    let i4 = idx % half4;
    let rest = idx / half4;
    let hg = rest % ngroups;
    let t = rest / ngroups;
    let f = inv_freq[i4];
    let pf = vec4f(f32(t + d.offset));
    let a_hi = pf * f;
    let a_lo = fma(pf, f, -a_hi);
    let k = round(a_hi * 0.15915494309189535);
    let a = fma(-k, vec4f(-1.7484556e-07), fma(-k, vec4f(6.2831854820251465), a_hi)) + a_lo;
    let c = cos(a);
    let s = sin(a);
    let h0 = hg * HG;
    let h1 = min(h0 + HG, d.H);
    var p = (t * d.H + h0) * row4 + i4;
    for (var h = h0; h < h1; h++) {
      let x0 = X[p];
      let x1 = X[p + half4];
      Y[p] = x0 * c - x1 * s;
      Y[p + half4] = x0 * s + x1 * c;
      p += row4;
    }
  }
}
