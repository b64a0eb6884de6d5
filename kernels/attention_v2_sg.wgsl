// attention_v2_sg.wgsl: attention v2 (FlashAttention-2 tiling, lib/attention_fa2.wgsl) with
// 16-byte global loads and stores and the row reductions by subgroup shuffles
// (lib/attention_rows_subgroup.wgsl), for D % 4 == 0 (D <= 128) on adapters whose subgroups
// have 16 lanes or more (the H100: 32); the host picks it when both allow.
enable subgroups;
#include "lib/attention_io_vec4.wgsl"

#include "lib/attention_rows_subgroup.wgsl"
#include "lib/attention_fa2.wgsl"
