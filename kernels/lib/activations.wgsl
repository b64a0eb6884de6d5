// lib/activations.wgsl: the elementwise activations shared by activations.wgsl (T = f32) and
// activations_vec4.wgsl (T = vec4f): ReLU, leaky ReLU (slope d.alpha), GELU (tanh form) and
// SiLU over d.cols * d.rows elements of T, a grid-stride loop per invocation. The including
// kernel declares `alias T` and bindings 0-1 (X, Y: array<T>).
struct RowDims { rows: u32, cols: u32, eps: f32, alpha: f32 }
@group(0) @binding(2) var<storage, read> d: RowDims;

override WG: u32;   // invocations per workgroup (host: src/gpu/tunables.hpp)

fn count() -> u32 { return d.rows * d.cols; }

@compute @workgroup_size(WG)
fn relu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) { Y[i] = max(X[i], T(0.0)); }
}

@compute @workgroup_size(WG)
fn leaky_relu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) {
    let x = X[i];
    Y[i] = select(d.alpha * x, x, x >= T(0.0));
  }
}

@compute @workgroup_size(WG)
fn gelu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) {
    let x = X[i];
    // tanh is evaluated on a clamped argument: tanh(+-10) is +-1 in f32, and some drivers'
    // tanh overflows to NaN for large inputs.
    let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), T(-10.0), T(10.0));
    Y[i] = 0.5 * x * (1.0 + tanh(u));
  }
}

@compute @workgroup_size(WG)
fn silu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) {
    let x = X[i];
    Y[i] = x / (1.0 + exp(-x));
  }
}
