// tunables.cpp: which kernel gets which tunables (tunables.hpp) as its WGSL `override` values.
#include "gpu/tunables.hpp"

#include <cctype>

namespace pxos::gpu {

std::vector<Constant> kernel_constants(std::string_view k, const AdapterSummary& adapter) {
  using namespace tune;
  auto c = [](const char* name, uint32_t v) { return Constant{name, double(v)}; };
  if (k == "matmul_v2" || k == "matmul_v2_vec4" || k == "matmul_f16") return {c("TILE", kMatmulTile)};
  if (k == "matmul_v1" || k == "matmul_i32") return {c("TILE", kNaiveTile)};
  if (k == "matmul_v3") return {c("TILE", kSubgroupTile), c("WG", kSubgroupWG)};
  if (k == "softmax" || k == "layernorm" || k == "rmsnorm") return {c("WG", kRowWG)};
  if (k == "activations" || k == "activations_vec4" || k == "rotary" ||
      k == "rotary_heads")
    return {c("WG", kElementwiseWG)};
  if (k == "rotary_vec4") return {c("WG", kElementwiseWG), c("HG", kRotaryHeadsPerInvocation)};
  if (k == "llm_matvec") return {c("WG", kLlmMatvecWG), c("LPR", kLlmMatvecLPR), c("TPW", kLlmMatvecTPW)};
  if (k == "llm_attention") return {c("WG", kLlmAttnWG), c("DMAX", kLlmAttnMaxD)};
  if (k == "llm_embed") return {c("WG", kLlmEmbedWG)};
  if (k == "attention_v2" || k == "attention_v2_vec4" || k == "attention_v2_sg")
    return {c("TY", attn2_row_groups(adapter)), c("DC", kAttn2DChunk)};
  if (k == "attention") {
    bool large = adapter.limits.maxComputeWorkgroupStorageSize >= kAttnKeyBlockBytes;
    return {c("BR", kAttnRows), c("DMAX", kAttnMaxD), c("BC", large ? kAttnKeyBlock : kAttnKeyBlockSmall)};
  }
  return {};
}

uint32_t attn2_row_groups(const AdapterSummary& adapter) {
  using namespace tune;
  return adapter.limits.maxComputeWorkgroupStorageSize >= attn2_shared_bytes(kAttn2RowGroups) ? kAttn2RowGroups
                                                                                             : kAttn2RowGroupsSmall;
}

std::vector<Constant> declared_constants(std::string_view kernel, std::string_view wgsl,
                                         const AdapterSummary& adapter) {
  auto declares = [&](const std::string& name) {
    std::string key = "override " + name;
    for (size_t p = wgsl.find(key); p != std::string_view::npos; p = wgsl.find(key, p + 1)) {
      char next = p + key.size() < wgsl.size() ? wgsl[p + key.size()] : ':';
      if (!std::isalnum(static_cast<unsigned char>(next)) && next != '_') return true;
    }
    return false;
  };
  std::vector<Constant> out;
  for (auto& c : kernel_constants(kernel, adapter))
    if (declares(c.name)) out.push_back(c);
  return out;
}

}  // namespace pxos::gpu
