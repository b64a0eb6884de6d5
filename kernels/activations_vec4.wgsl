// activations_vec4.wgsl: the activations with 16-byte loads and stores, for element counts
// that are a multiple of 4 (the host picks it then); d.cols * d.rows counts vec4s here.
alias T = vec4f;
@group(0) @binding(0) var<storage, read> X: array<T>;
@group(0) @binding(1) var<storage, read_write> Y: array<T>;

#include "lib/activations.wgsl"
