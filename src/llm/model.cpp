// model.cpp: llama hyper-parameters and weights from a GGUF. Nothing is dequantised here: the
// weights stay the file's packed bytes, which the CPU reference and the GPU path both read.
#include "llm/model.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "llm/quant.hpp"

namespace pxos::llm {
namespace {

// Bounds that keep a hostile header from asking for absurd buffers (KV cache, scratch).
constexpr uint64_t kMaxDim = 1u << 16, kMaxLayers = 1024, kMaxHeads = 1024, kMaxCtx = 1u << 20,
                   kMaxVocab = 1u << 22;

struct Loader {
  const Gguf& g;
  const std::string& what;

  Result<uint32_t> u32(const std::string& key, uint64_t max, bool required = true, uint32_t dflt = 0) {
    if (!required && !g.find(key)) return dflt;
    auto v = g.get_uint(key);
    if (!v) return failf(Errc::ModelInvalid, "{}: {}", what, v.error().detail);
    if (*v == 0 || *v > max) return failf(Errc::ModelInvalid, "{}: metadata '{}' = {} is out of range (1..{})", what, key, *v, max);
    return uint32_t(*v);
  }
  Result<float> f32(const std::string& key, bool required, float dflt) {
    if (!required && !g.find(key)) return dflt;
    auto v = g.get_float(key);
    if (!v) return failf(Errc::ModelInvalid, "{}: {}", what, v.error().detail);
    if (!std::isfinite(*v) || *v <= 0) return failf(Errc::ModelInvalid, "{}: metadata '{}' = {} must be a positive number", what, key, *v);
    return float(*v);
  }
  // The tensor NAME with ggml dims {cols, rows} (rows 0: a vector of cols).
  Result<Weight> weight(const std::string& name, uint64_t cols, uint64_t rows) {
    const TensorInfo* t = g.tensor(name);
    if (!t) return failf(Errc::ModelInvalid, "{}: tensor '{}' is missing", what, name);
    std::vector<uint64_t> want = rows ? std::vector<uint64_t>{cols, rows} : std::vector<uint64_t>{cols};
    if (t->dims != want)
      return failf(Errc::ModelInvalid, "{}: tensor '{}' has shape [{}], expected [{}]", what, name,
                   fmt::join(t->dims, ","), fmt::join(want, ","));
    const TypeInfo* ti = type_info(t->type);
    if (!can_dequantize(GgmlType(t->type)))
      return failf(Errc::Unsupported, "{}: tensor '{}' has type {}, which the engine does not dequantize", what, name, ti->name);
    Weight w;
    w.name = name;
    w.type = GgmlType(t->type);
    w.cols = cols;
    w.rows = rows ? rows : 1;
    w.stride = row_bytes(w.type, cols);
    w.data = t->data.data();
    return w;
  }
};

}  // namespace

Result<Model> load_model(const Gguf& g, const std::string& what) {
  auto arch = g.get_string("general.architecture");
  if (!arch) return failf(Errc::ModelInvalid, "{}: {}", what, arch.error().detail);
  if (*arch != "llama") return failf(Errc::Unsupported, "{}: architecture '{}' is not supported (llama is)", what, *arch);
  Loader L{g, what};
  Model m;
  Hparams& hp = m.hp;
#define TRY(dst, expr)                                   \
  do {                                                   \
    auto r_ = (expr);                                    \
    if (!r_) return std::unexpected(std::move(r_.error())); \
    dst = std::move(*r_);                                \
  } while (0)
  TRY(hp.n_ctx, L.u32("llama.context_length", kMaxCtx));
  TRY(hp.dim, L.u32("llama.embedding_length", kMaxDim));
  TRY(hp.n_ff, L.u32("llama.feed_forward_length", kMaxDim * 4));
  TRY(hp.n_layer, L.u32("llama.block_count", kMaxLayers));
  TRY(hp.n_head, L.u32("llama.attention.head_count", kMaxHeads));
  TRY(hp.n_kv_head, L.u32("llama.attention.head_count_kv", kMaxHeads, false, hp.n_head));
  TRY(hp.rope_base, L.f32("llama.rope.freq_base", false, 10000.0f));
  TRY(hp.rms_eps, L.f32("llama.attention.layer_norm_rms_epsilon", true, 0));
  if (hp.dim % hp.n_head)
    return failf(Errc::ModelInvalid, "{}: metadata 'llama.embedding_length' = {} is not a multiple of 'llama.attention.head_count' = {}", what, hp.dim, hp.n_head);
  if (hp.n_head % hp.n_kv_head)
    return failf(Errc::ModelInvalid, "{}: metadata 'llama.attention.head_count' = {} is not a multiple of 'llama.attention.head_count_kv' = {}", what, hp.n_head, hp.n_kv_head);
  hp.head_dim = hp.dim / hp.n_head;
  if (hp.head_dim % 2) return failf(Errc::ModelInvalid, "{}: head size {} is odd (RoPE rotates pairs)", what, hp.head_dim);
  uint32_t n_rot = 0;
  TRY(n_rot, L.u32("llama.rope.dimension_count", kMaxDim, false, hp.head_dim));
  if (n_rot != hp.head_dim)
    return failf(Errc::Unsupported, "{}: metadata 'llama.rope.dimension_count' = {} differs from the head size {} (partial RoPE)", what, n_rot, hp.head_dim);
  if (auto* s = g.find("llama.rope.scaling.type"); s && std::get_if<std::string>(&s->v) && std::get<std::string>(s->v) != "none")
    return failf(Errc::Unsupported, "{}: metadata 'llama.rope.scaling.type' = '{}' (RoPE scaling is not implemented)", what, std::get<std::string>(s->v));
  for (auto k : {"llama.attention.key_length", "llama.attention.value_length"}) {
    if (!g.find(k)) continue;
    uint32_t v = 0;
    TRY(v, L.u32(k, kMaxDim));
    if (v != hp.head_dim) return failf(Errc::Unsupported, "{}: metadata '{}' = {} differs from the head size {}", what, k, v, hp.head_dim);
  }
  const TensorInfo* emb = g.tensor("token_embd.weight");
  if (!emb) return failf(Errc::ModelInvalid, "{}: tensor 'token_embd.weight' is missing", what);
  if (emb->dims.size() != 2 || emb->dims[1] > kMaxVocab)
    return failf(Errc::ModelInvalid, "{}: tensor 'token_embd.weight' has shape [{}], expected [{},n_vocab]", what, fmt::join(emb->dims, ","), hp.dim);
  hp.n_vocab = uint32_t(emb->dims[1]);
  if (g.find("llama.vocab_size")) {
    uint32_t v = 0;
    TRY(v, L.u32("llama.vocab_size", kMaxVocab));
    if (v != hp.n_vocab)
      return failf(Errc::ModelInvalid, "{}: metadata 'llama.vocab_size' = {} but 'token_embd.weight' has {} rows", what, v, hp.n_vocab);
  }
  TRY(m.tok_embd, L.weight("token_embd.weight", hp.dim, hp.n_vocab));
  TRY(m.output_norm, L.weight("output_norm.weight", hp.dim, 0));
  if (g.tensor("output.weight")) {
    TRY(m.output, L.weight("output.weight", hp.dim, hp.n_vocab));
  } else {
    m.output = m.tok_embd;
    m.tied_output = true;
  }
  const uint32_t kv = hp.kv_dim();
  for (uint32_t l = 0; l < hp.n_layer; ++l) {
    const std::string p = fmt::format("blk.{}.", l);
    Layer y;
    TRY(y.attn_norm, L.weight(p + "attn_norm.weight", hp.dim, 0));
    TRY(y.wq, L.weight(p + "attn_q.weight", hp.dim, hp.dim));
    TRY(y.wk, L.weight(p + "attn_k.weight", hp.dim, kv));
    TRY(y.wv, L.weight(p + "attn_v.weight", hp.dim, kv));
    TRY(y.wo, L.weight(p + "attn_output.weight", hp.dim, hp.dim));
    TRY(y.ffn_norm, L.weight(p + "ffn_norm.weight", hp.dim, 0));
    TRY(y.w_gate, L.weight(p + "ffn_gate.weight", hp.dim, hp.n_ff));
    TRY(y.w_up, L.weight(p + "ffn_up.weight", hp.dim, hp.n_ff));
    TRY(y.w_down, L.weight(p + "ffn_down.weight", hp.n_ff, hp.dim));
    m.layers.push_back(std::move(y));
  }
#undef TRY
  if (auto* t = g.find("tokenizer.ggml.tokens"); t && std::get_if<std::shared_ptr<KvArray>>(&t->v)) {
    for (auto& e : *std::get<std::shared_ptr<KvArray>>(t->v))
      m.vocab.push_back(std::get_if<std::string>(&e.v) ? std::get<std::string>(e.v) : std::string());
  }
  auto id = [&](const char* key) -> int32_t {
    auto v = g.get_uint(key);
    return v && *v < hp.n_vocab ? int32_t(*v) : -1;
  };
  m.bos_id = id("tokenizer.ggml.bos_token_id");
  m.eos_id = id("tokenizer.ggml.eos_token_id");
  return m;
}

Result<std::unique_ptr<ModelFile>> open_model(const std::string& path) {
  auto mf = std::make_unique<ModelFile>();
  auto file = MappedFile::open(path);
  if (!file) return std::unexpected(std::move(file.error()));
  mf->file = std::move(*file);
  auto g = parse_gguf(mf->file->bytes(), path);
  if (!g) return std::unexpected(std::move(g.error()));
  mf->gguf = std::move(*g);
  auto m = load_model(mf->gguf, path);
  if (!m) return std::unexpected(std::move(m.error()));
  mf->model = std::move(*m);
  return mf;
}

}  // namespace pxos::llm
