// activations.wgsl: elementwise ReLU, leaky ReLU, GELU and SiLU on f32 elements (the code:
// lib/activations.wgsl).
alias T = f32;
@group(0) @binding(0) var<storage, read> X: array<T>;
@group(0) @binding(1) var<storage, read_write> Y: array<T>;

#include "lib/activations.wgsl"
