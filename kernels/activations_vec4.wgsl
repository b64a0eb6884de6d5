// activations_vec4.wgsl: activations.wgsl with 16-byte loads and stores, for element counts
// that are a multiple of 4 (the host picks it then); d.cols * d.rows counts vec4s here.
struct RowDims { rows: u32, cols: u32, eps: f32, alpha: f32 }
@group(0) @binding(0) var<storage, read> X: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> Y: array<vec4f>;
@group(0) @binding(2) var<storage, read> d: RowDims;

const WG = 256u;

fn count() -> u32 { return d.rows * d.cols; }

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) { Y[i] = max(X[i], vec4f(0.0)); }
}

@compute @workgroup_size(256)
fn leaky_relu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) {
    let x = X[i];
    Y[i] = select(d.alpha * x, x, x >= vec4f(0.0));
  }
}

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) {
    let x = X[i];
    // tanh is evaluated on a clamped argument: tanh(+-10) is +-1 in f32, and some drivers'
    // tanh overflows to NaN for large inputs.
    let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), vec4f(-10.0), vec4f(10.0));
    Y[i] = 0.5 * x * (1.0 + tanh(u));
  }
}

@compute @workgroup_size(256)
fn silu(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  for (var i = g.x; i < count(); i += nwg.x * WG) {
    let x = X[i];
    Y[i] = x / (1.0 + exp(-x));
  }
}
