// attention_v2_vec4.wgsl: attention v2 (FlashAttention-2 tiling, lib/attention_fa2.wgsl) with
// 16-byte global loads and stores, for D % 4 == 0 (D <= 128); the host picks it when D allows.
#include "lib/attention_io_vec4.wgsl"

#include "lib/attention_rows_shared.wgsl"
#include "lib/attention_fa2.wgsl"
