// tunables.hpp: every GPU kernel tile and workgroup size, in one place. The host's dispatch
// geometry and shape checks use these values, and kernel_constants() hands the same values to
// the kernels as WGSL `override` constants at pipeline creation (the WGSL has no defaults).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "gpu/runtime.hpp"

namespace pxos::gpu::tune {

// matmul v2 / v2_vec4 / f16 (kernels/lib/matmul_tiled.wgsl, override TILE): the square block
// tile of C one workgroup computes. (TILE/8)^2 invocations each own 8x8 outputs, and the K tile
// follows as TILE/16 (one vec4 of A and one of B per invocation per K tile). 128: 256
// invocations, BK = 8, the H100 optimum (docs/gpu.md).
inline constexpr uint32_t kMatmulTile = 128;
// matmul v2s on small products: when TILE = 128 gives fewer than kMatmulSmallGrid workgroups (one
// per SM of an H100: 132), the host sets TILE = kMatmulTileSmall instead (64: 64 invocations,
// BK = 4, 4x the workgroups: 1024^3 runs 256 instead of 64).
inline constexpr uint32_t kMatmulTileSmall = 64;
inline constexpr uint32_t kMatmulSmallGrid = 132;
// matmul v1 (override TILE): TILE x TILE invocations, one output each.
inline constexpr uint32_t kNaiveTile = 16;
// matmul v3 (overrides TILE, WG): a workgroup of kSubgroupWG invocations covers kSubgroupTile^2
// outputs in 4x4 blocks, one subgroup per block at a time (any subgroup size up to WG).
inline constexpr uint32_t kSubgroupTile = 16;
inline constexpr uint32_t kSubgroupWG = 64;
// attention (overrides BR, DMAX, BC): query rows per workgroup (8 invocations per row), the
// largest head dimension (each of a row's 8 invocations keeps 4 vec4 of output: at most 128),
// and the key block: large when the adapter's workgroup memory allows, else small.
inline constexpr uint32_t kAttnRows = 32;
inline constexpr uint32_t kAttnMaxD = 128;
inline constexpr uint32_t kAttnKeyBlock = 32;          // about 40 KiB of workgroup memory
inline constexpr uint32_t kAttnKeyBlockSmall = 16;     // about 30 KiB
inline constexpr uint32_t kAttnKeyBlockBytes = 41000;  // workgroup memory the large block needs
// attention v2 (kernels/lib/attention_fa2.wgsl; overrides TY, DC): 16 x TY invocations own
// 8 * TY query rows (8 each) and walk key blocks of 64 keys (4 each in the S step, 8 output
// columns each in the PV step); Q and K stream through workgroup memory in d-chunks of DC. TY 16
// (128 rows: twice the key/value reuse of 64) needs 45 KiB of workgroup memory (the H100 has 48);
// adapters with less (lavapipe: 32 KiB) get TY 8 (64 rows, 23 KiB). DC 16: each invocation
// fetches one vec4 of 4 query rows' d-chunk per chunk.
inline constexpr uint32_t kAttn2RowGroups = 16;
inline constexpr uint32_t kAttn2RowGroupsSmall = 8;
inline constexpr uint32_t kAttn2DChunk = 16;
inline constexpr uint32_t kAttn2MaxD = 128;  // the PV step's 16 x 8 output columns
// Workgroup memory of attention v2 at TY (the kernel's U, Vs and, unless the row reductions run
// on subgroups, Red arrays); TY is chosen by the larger figure.
constexpr uint32_t attn2_shared_bytes(uint32_t ty) { return (64 * (2 * ty + 1) + 16 * ty) * 16 + 8 * ty * 16 * 4; }
// softmax, layernorm, rmsnorm (override WG): invocations per row (a power of 2: tree reductions).
inline constexpr uint32_t kRowWG = 256;
// activations, activations_vec4, rotary (override WG): invocations per workgroup of the
// grid-stride loops.
inline constexpr uint32_t kElementwiseWG = 256;
// rotary v3 (rotary_vec4.wgsl, override HG): heads one invocation rotates with the cos/sin of its
// 4 pairs. 4: T*H*D/32 invocations (half a million at 4096 x 32 x 128) keep the memory busy,
// and cos/sin cost 8 per 32 elements.
inline constexpr uint32_t kRotaryHeadsPerInvocation = 4;
// LLM forward pass (kernels/llm_*.wgsl). llm_matvec (overrides WG, LPR): WG invocations, LPR of
// them per output row, so WG / LPR rows per workgroup (even: SwiGLU pairs a gate row with its up
// row in one workgroup); each invocation dequantises 32 weights at a time. llm_attention
// (overrides WG, DMAX): WG keys per block (one per invocation), head dimension up to DMAX.
// llm_embed (override WG): invocations per workgroup, 32 elements each.
inline constexpr uint32_t kLlmMatvecWG = 64;
inline constexpr uint32_t kLlmMatvecLPR = 16;
// llm_matvec (override TPW): tokens per workgroup; a batch of n tokens is n / TPW workgroup rows
// (workgroup_id.y), so prefill runs many workgroups instead of looping over the batch in few.
inline constexpr uint32_t kLlmMatvecTPW = 8;
inline constexpr uint32_t kLlmAttnWG = 64;
inline constexpr uint32_t kLlmAttnMaxD = 128;
inline constexpr uint32_t kLlmEmbedWG = 64;
// Not a tunable: WebGPU's guaranteed maxComputeWorkgroupsPerDimension, the dispatch cap.
inline constexpr uint32_t kMaxGroups = 65535;

static_assert(kMatmulTileSmall % 16 == 0 && kMatmulTileSmall < kMatmulTile, "matmul small TILE: a multiple of 16");
static_assert(kMatmulTile % 16 == 0 && (kMatmulTile / 8) * (kMatmulTile / 8) <= 256,
              "matmul TILE: a multiple of 16, at most 256 invocations (WebGPU's guaranteed limit)");
static_assert(kNaiveTile * kNaiveTile <= 256 && kSubgroupWG <= 256 && kAttnRows * 8 <= 256 &&
                  kRowWG <= 256 && kElementwiseWG <= 256,
              "a workgroup of at most 256 invocations (WebGPU's guaranteed limit)");
static_assert(kSubgroupTile % 4 == 0, "matmul v3 works in 4x4 blocks");
static_assert(kAttnMaxD % 4 == 0 && kAttnMaxD <= 128, "attention keeps 4 vec4 of output per invocation");
static_assert(kAttnKeyBlock % 8 == 0 && kAttnKeyBlock <= 32 && kAttnKeyBlockSmall % 8 == 0,
              "attention: each of a row's 8 invocations scores BC / 8 <= 4 keys");
static_assert(kAttn2DChunk == 16 && kAttn2MaxD == 128 && kAttn2RowGroupsSmall == 8 && kAttn2RowGroups == 16,
              "attention v2: TY 8 or 16 (the K loader keeps 16/TY <= 2 vec4, V chunks of TY/2 keys); "
              "d-chunks of 16; D <= 128");
static_assert((kRowWG & (kRowWG - 1)) == 0, "row reductions halve the workgroup");
static_assert((kLlmMatvecWG & (kLlmMatvecWG - 1)) == 0 && (kLlmMatvecLPR & (kLlmMatvecLPR - 1)) == 0 &&
                  kLlmMatvecWG % (2 * kLlmMatvecLPR) == 0 && kLlmMatvecWG <= 256,
              "llm_matvec: powers of 2, an even number of rows per workgroup");
static_assert((kLlmAttnWG & (kLlmAttnWG - 1)) == 0 && kLlmAttnWG <= 256 && kLlmEmbedWG <= 256,
              "llm_attention reduces by halving; at most 256 invocations");

}  // namespace pxos::gpu::tune

namespace pxos::gpu {

// The `override` values kernels/<kernel>.wgsl needs (empty for a kernel without any). The
// adapter decides attention's key block. Every path that builds a pipeline for a named kernel
// (the ops, run_kernel, `pxos gpu run` on a kernel file) takes its constants from here.
std::vector<Constant> kernel_constants(std::string_view kernel, const AdapterSummary& adapter);
// The same, limited to the overrides `wgsl` declares: for kernel files from outside the build
// (PXOS_KERNELS_DIR, `pxos gpu run FILE`), which may fix a size as a plain const (the embedded
// kernels declare every one: tests/gpu checks it).
std::vector<Constant> declared_constants(std::string_view kernel, std::string_view wgsl,
                                         const AdapterSummary& adapter);
// attention v2's TY on this adapter (by its workgroup memory): the kernel and the dispatch
// geometry (8 * TY rows per workgroup) both use it.
uint32_t attn2_row_groups(const AdapterSummary& adapter);

}  // namespace pxos::gpu
