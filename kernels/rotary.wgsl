// rotary.wgsl: rotary position embedding (rotate-half form) of X[T][H][D]: for each position t,
// head h and pair i < D/2, with angle = (t + offset) * inv_freq[i],
//   Y[i]       = X[i] * cos(angle) - X[i + D/2] * sin(angle)
//   Y[i + D/2] = X[i] * sin(angle) + X[i + D/2] * cos(angle)
// inv_freq[i] = base^(-2i/D) comes from the host (computed in double, stored as f32).
struct RotDims { T: u32, H: u32, D: u32, offset: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read> d: RotDims;

override WG: u32;   // invocations per workgroup (host: src/gpu/tunables.hpp)

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half = d.D / 2u;
  let total = d.T * d.H * half;
  for (var idx = g.x; idx < total; idx += nwg.x * WG) {
    let i = idx % half;
    let th = idx / half;            // t * H + h
    let t = th / d.H;
    let base = th * d.D;
    // angle = pos * inv_freq, reduced to about [-pi, pi] before cos/sin: GPU sin/cos lose
    // accuracy on large arguments (pos in the thousands). The product's rounding error (a_lo,
    // exact through fma) and 2*pi as two f32 parts (Cody-Waite) keep the reduction accurate.
    let pf = f32(t + d.offset);
    let a_hi = pf * inv_freq[i];
    let a_lo = fma(pf, inv_freq[i], -a_hi);
    let k = round(a_hi * 0.15915494309189535);
    let a = fma(-k, -1.7484556e-07, fma(-k, 6.2831854820251465, a_hi)) + a_lo;
    let c = cos(a);
    let s = sin(a);
    let x0 = X[base + i];
    let x1 = X[base + i + half];
    Y[base + i] = x0 * c - x1 * s;
    Y[base + i + half] = x0 * s + x1 * c;
  }
}
