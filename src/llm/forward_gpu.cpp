// forward_gpu.cpp: GpuSession: weights uploaded as the file packs them, activations, a KV cache
// per layer and a RoPE table on the GPU; every batch of tokens is one command buffer of
// 2 + 5 * n_layer dispatches (embed; per layer qkv+norm, attention+rope+cache, wo+residual,
// gate/up+norm+silu, down+residual; head+norm), its per-dispatch parameters one buffer write.
// Kernel versions side by side (forward_gpu.hpp): the matvec for small batches, the tiled matmul
// for prefill batches, two attention kernels.
#include "llm/forward_gpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "gpu/kernel_source.hpp"
#include "gpu/runtime.hpp"
#include "gpu/tunables.hpp"
#include "llm/quant.hpp"

namespace pxos::llm {
namespace {

// Tunables. (The v1 kernels' live in src/gpu/tunables.hpp, where they were first put.)
constexpr uint32_t kMaxBatch = 512;   // tokens per submit (prefill of 512 is one command buffer)
constexpr uint32_t kLogitRows = 32;   // eval_all's tokens per submit (their logits come back)
constexpr uint32_t kParamSlot = 256;  // bytes per dispatch's parameters (>= any offset alignment)
// llm_matvec_v2: 128 invocations, 32 lanes (a subgroup on NVIDIA) per row, so 4 rows per
// workgroup: enough workgroups for a 576-row matrix to cover an H100's 132 SMs; TPW tokens
// per workgroup (a multiple of its 4-token pass, so up to 8 tokens share one read of the row).
constexpr uint32_t kMatvec2WG = 128, kMatvec2LPR = 32, kMatvec2TPW = 8;
// llm_attention_v2: 256 invocations; 1024 keys' scores per chunk in workgroup memory (4 KiB).
constexpr uint32_t kAttn2WG = 256, kAttn2Chunk = 1024, kAttn2MaxD = 128;
// llm_matmul: a batch of at least this many tokens takes the tiled kernel (below, the matvec
// reads each row once per 8 tokens anyway and the 64-token tile would be mostly idle).
constexpr uint32_t kTiledMinTokens = 16;
constexpr uint32_t kTiledRows = 64, kTiledToks = 64;  // llm_matmul.wgsl's TM and TN

// The WGSL structs' layouts (kernels/llm_*.wgsl).
struct MatParams {
  uint32_t n_tok, tok_base, cols, x_stride, y_stride, mode, norm;
  float eps;
  uint32_t rows0, rows1, n_out, ty0, ty1, ty2, stride0, stride1, stride2, pad[3];
};
struct AttnParams {
  uint32_t n_tok, pos0, group, hd, qkv_stride, dim, kv_dim;
  float scale;
};
struct EmbParams {
  uint32_t n_tok, dim, ty, stride;
};
static_assert(sizeof(MatParams) == 80 && sizeof(AttnParams) == 32 && sizeof(EmbParams) == 16);
enum MatMode : uint32_t { kStore = 0, kAddResidual = 1, kSwiGLU = 2 };

bool gpu_reads(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::Q4_0 || t == GgmlType::Q4_1 ||
         t == GgmlType::Q8_0;
}

// $PXOS_LLM_KERNELS into the fields of O left unset (forward_gpu.hpp); Usage for an unknown item.
Status kernels_from_env(GpuOptions& o) {
  const char* env = std::getenv("PXOS_LLM_KERNELS");
  std::string_view rest = env ? env : "";
  GpuOptions e;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item == "v1") e.matvec = GpuMatvecKernel::v1, e.attention = GpuAttentionKernel::v1, e.prefill = GpuPrefillKernel::matvec;
    else if (item == "v2") e.matvec = GpuMatvecKernel::v2, e.attention = GpuAttentionKernel::v2, e.prefill = GpuPrefillKernel::tiled;
    else if (item == "matvec=v1") e.matvec = GpuMatvecKernel::v1;
    else if (item == "matvec=v2") e.matvec = GpuMatvecKernel::v2;
    else if (item == "attention=v1") e.attention = GpuAttentionKernel::v1;
    else if (item == "attention=v2") e.attention = GpuAttentionKernel::v2;
    else if (item == "prefill=matvec") e.prefill = GpuPrefillKernel::matvec;
    else if (item == "prefill=tiled") e.prefill = GpuPrefillKernel::tiled;
    else
      return failf(Errc::Usage, "PXOS_LLM_KERNELS: unknown item '{}' (v1, v2, matvec=v1|v2, attention=v1|v2, "
                   "prefill=matvec|tiled)", item);
  }
  if (!o.matvec) o.matvec = e.matvec.value_or(GpuMatvecKernel::v2);
  if (!o.attention) o.attention = e.attention.value_or(GpuAttentionKernel::v2);
  if (!o.prefill) o.prefill = e.prefill.value_or(GpuPrefillKernel::tiled);
  return {};
}

}  // namespace

struct GpuSession::Impl {
  gpu::Runtime* rt = nullptr;
  gpu::Pipeline *embed = nullptr, *matvec = nullptr, *attn = nullptr, *tiled = nullptr, *noop = nullptr;
  uint32_t mv_rows = 1, mv_toks = 1;  // the matvec's rows and tokens per workgroup
  // The four matrix dispatches of a layer, bound for one matrix pipeline.
  struct MatGroups {
    gpu::BindGroup qkv, wo, gateup, down;
  };
  struct LayerBufs {
    gpu::Buffer wq, wk, wv, wo, gate, up, down, attn_norm, ffn_norm, kc, vc;
    gpu::BindGroup att;
    MatGroups mv, tl;  // matvec, tiled (when the session has it)
  };
  std::vector<LayerBufs> layers;
  gpu::Buffer tok_embd, output, out_norm, x, qkv, att, hb, logits, rope, tokens, params, dummy, staging;
  gpu::BindGroup embed_g, head_g, head_tl, noop_g;
  std::vector<uint8_t> image;  // the params buffer's contents, rewritten per submit
};

uint64_t GpuSession::dispatches_per_token() const { return 2 + 5 * uint64_t(m_.hp.n_layer); }

std::string GpuSession::matvec_kernel() const { return matvec_ == GpuMatvecKernel::v1 ? "llm_matvec v1" : "llm_matvec_v2"; }
std::string GpuSession::attention_kernel() const {
  return attention_ == GpuAttentionKernel::v1 ? "llm_attention v1" : "llm_attention_v2";
}
std::string GpuSession::prefill_kernel() const {
  return prefill_ == GpuPrefillKernel::tiled ? fmt::format("llm_matmul (batches of >= {} tokens)", kTiledMinTokens)
                                             : matvec_kernel();
}

Result<double> GpuSession::empty_dispatches_ms(uint32_t n) {
  Impl& d = *d_;
  std::vector<gpu::Step> steps(n, gpu::Step{d.noop, d.noop_g.raw(), {1, 1, 1}});
  return d.rt->submit(steps, nullptr, {}, &d.staging, true);
}

GpuSession::GpuSession(const Model& m) : m_(m) {}
GpuSession::~GpuSession() = default;

Result<std::unique_ptr<GpuSession>> GpuSession::create(const Model& model, GpuOptions o) {
  auto rtr = gpu::Runtime::get();
  if (!rtr) return std::unexpected(rtr.error());
  std::unique_ptr<GpuSession> s(new GpuSession(model));
  s->d_ = std::make_unique<Impl>();
  Impl& d = *s->d_;
  d.rt = *rtr;
  gpu::Runtime& rt = *d.rt;
  const Hparams& hp = model.hp;
  s->timed_ = o.timed;
  s->profile_ = o.profile;
  if (auto st = kernels_from_env(o); !st) return std::unexpected(st.error());
  s->matvec_ = *o.matvec;
  s->prefill_ = *o.prefill;
  // v2 reads q, k, v, the cache and RoPE pairs as vec4s: head dimensions of a multiple of 4.
  s->attention_ = hp.head_dim % 4 || hp.head_dim > kAttn2MaxD ? GpuAttentionKernel::v1 : *o.attention;
  s->n_ctx_ = o.n_ctx ? std::min(o.n_ctx, hp.n_ctx) : hp.n_ctx;
  const uint32_t dim = hp.dim, kv = hp.kv_dim(), hd = hp.head_dim, nff = hp.n_ff, qkv_w = dim + 2 * kv;
  constexpr uint64_t kMaxRows = uint64_t(gpu::tune::kMaxGroups) * std::min(gpu::tune::kLlmMatvecWG / gpu::tune::kLlmMatvecLPR,
                                                                           kMatvec2WG / kMatvec2LPR);
  if (std::max<uint64_t>({hp.n_vocab, 2ull * hp.n_ff, uint64_t(dim) + 2 * kv}) > kMaxRows)
    return failf(Errc::Unsupported, "GPU matvec: more than {} output rows in one dispatch", kMaxRows);
  if (hd % 2 || hd > gpu::tune::kLlmAttnMaxD)
    return failf(Errc::Unsupported, "GPU attention: head dimension {} (even, at most {})", hd, gpu::tune::kLlmAttnMaxD);
  const uint64_t max_bind = rt.info().limits.maxStorageBufferBindingSize;

  // Pipelines.
  // The v1 kernels take src/gpu's tunables; the others this file's.
  auto c = [](const char* n, uint32_t v) { return gpu::Constant{n, double(v)}; };
  const std::vector<gpu::Constant> mv2 = {c("WG", kMatvec2WG), c("LPR", kMatvec2LPR), c("TPW", kMatvec2TPW)};
  const std::vector<gpu::Constant> at2 = {c("WG", kAttn2WG), c("DMAX", kAttn2MaxD), c("CH", o.attn_chunk ? std::min(o.attn_chunk, kAttn2Chunk) : kAttn2Chunk)};
  auto pipe = [&](const char* name, const std::vector<gpu::Constant>* own) -> Result<gpu::Pipeline*> {
    auto src = gpu::load_kernel(name);
    if (!src) return std::unexpected(src.error());
    auto consts = own ? *own : gpu::kernel_constants(name, rt.info());
    return rt.pipeline(src->text, "main", consts, src->label, &*src);
  };
  const bool mv1 = s->matvec_ == GpuMatvecKernel::v1, att1 = s->attention_ == GpuAttentionKernel::v1;
  const bool has_tiled = s->prefill_ == GpuPrefillKernel::tiled;
  std::vector<std::tuple<gpu::Pipeline**, const char*, const std::vector<gpu::Constant>*>> pipes = {
      {&d.embed, "llm_embed", nullptr},
      {&d.matvec, mv1 ? "llm_matvec" : "llm_matvec_v2", mv1 ? nullptr : &mv2},
      {&d.attn, att1 ? "llm_attention" : "llm_attention_v2", att1 ? nullptr : &at2},
      {&d.noop, "llm_noop", nullptr}};
  if (has_tiled) pipes.push_back({&d.tiled, "llm_matmul", nullptr});
  for (auto [slot, name, own] : pipes) {
    auto p = pipe(name, own);
    if (!p) return std::unexpected(p.error());
    *slot = *p;
  }
  d.mv_rows = mv1 ? gpu::tune::kLlmMatvecWG / gpu::tune::kLlmMatvecLPR : kMatvec2WG / kMatvec2LPR;
  d.mv_toks = mv1 ? gpu::tune::kLlmMatvecTPW : kMatvec2TPW;

  // Buffers.
  auto alloc = [&](uint64_t bytes, uint64_t& counter) -> Result<gpu::Buffer> {
    if (bytes > max_bind)
      return failf(Errc::TooLarge, "GPU buffer of {} bytes exceeds the adapter's binding limit of {}", bytes, max_bind);
    auto b = rt.create_buffer(bytes);
    if (b) counter += b->size();
    return b;
  };
  auto upload = [&](ByteView bytes, uint64_t& counter) -> Result<gpu::Buffer> {
    auto b = alloc(bytes.size(), counter);
    if (!b) return b;
    if (auto st = rt.write(*b, bytes); !st) return std::unexpected(st.error());
    return b;
  };
  auto weight = [&](const Weight& w) -> Result<gpu::Buffer> {
    if (!gpu_reads(w.type) || w.cols % 32)
      return failf(Errc::Unsupported, "tensor '{}': the GPU kernels read F32, F16, Q4_0, Q4_1 and Q8_0 rows of a "
                   "multiple of 32 elements, not {} x {} of {}", w.name, w.rows, w.cols, type_info(uint32_t(w.type))->name);
    return upload(ByteView(w.data, size_t(w.rows * w.stride)), s->stats_.weight_bytes);
  };
  auto vector = [&](const Weight& w) -> Result<gpu::Buffer> {
    std::vector<float> v(w.cols);
    dequantize_row(w.type, w.data, v.data(), w.cols);
    return upload(ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4), s->stats_.weight_bytes);
  };
#define PXOS_TRY_BUF(dst, expr) \
  do {                          \
    auto r_ = (expr);           \
    if (!r_) return std::unexpected(r_.error()); \
    dst = std::move(*r_);       \
  } while (0)
  for (const Layer& L : model.layers) {
    Impl::LayerBufs b;
    PXOS_TRY_BUF(b.wq, weight(L.wq));
    PXOS_TRY_BUF(b.wk, weight(L.wk));
    PXOS_TRY_BUF(b.wv, weight(L.wv));
    PXOS_TRY_BUF(b.wo, weight(L.wo));
    PXOS_TRY_BUF(b.gate, weight(L.w_gate));
    PXOS_TRY_BUF(b.up, weight(L.w_up));
    PXOS_TRY_BUF(b.down, weight(L.w_down));
    PXOS_TRY_BUF(b.attn_norm, vector(L.attn_norm));
    PXOS_TRY_BUF(b.ffn_norm, vector(L.ffn_norm));
    PXOS_TRY_BUF(b.kc, alloc(uint64_t(s->n_ctx_) * kv * 4, s->stats_.kv_bytes));
    PXOS_TRY_BUF(b.vc, alloc(uint64_t(s->n_ctx_) * kv * 4, s->stats_.kv_bytes));
    d.layers.push_back(std::move(b));
  }
  PXOS_TRY_BUF(d.tok_embd, weight(model.tok_embd));
  if (!model.tied_output) PXOS_TRY_BUF(d.output, weight(model.output));
  PXOS_TRY_BUF(d.out_norm, vector(model.output_norm));
  uint64_t& other = s->stats_.other_bytes;
  PXOS_TRY_BUF(d.x, alloc(uint64_t(kMaxBatch) * dim * 4, other));
  PXOS_TRY_BUF(d.qkv, alloc(uint64_t(kMaxBatch) * qkv_w * 4, other));
  PXOS_TRY_BUF(d.att, alloc(uint64_t(kMaxBatch) * dim * 4, other));
  PXOS_TRY_BUF(d.hb, alloc(uint64_t(kMaxBatch) * nff * 4, other));
  PXOS_TRY_BUF(d.logits, alloc(uint64_t(kLogitRows) * hp.n_vocab * 4, other));
  PXOS_TRY_BUF(d.tokens, alloc(uint64_t(kMaxBatch) * 4, other));
  PXOS_TRY_BUF(d.dummy, alloc(16, other));  // an unused binding (16: one vec4)
  {
    // RoPE: the CPU reference's angles (double) and float cos/sin, per position and pair.
    std::vector<float> t(size_t(s->n_ctx_) * hd);
    for (uint32_t i = 0; i < hd / 2; ++i) {
      const double f = std::pow(double(hp.rope_base), -2.0 * double(i) / double(hd));
      for (uint32_t p = 0; p < s->n_ctx_; ++p) {
        const double a = double(p) * f;
        t[(size_t(p) * hd / 2 + i) * 2] = float(std::cos(a));
        t[(size_t(p) * hd / 2 + i) * 2 + 1] = float(std::sin(a));
      }
    }
    PXOS_TRY_BUF(d.rope, upload(ByteView(reinterpret_cast<const uint8_t*>(t.data()), t.size() * 4), other));
  }
  const uint32_t align = std::max<uint32_t>(kParamSlot, rt.info().limits.minStorageBufferOffsetAlignment);
  const size_t n_slots = 2 + 5 * size_t(hp.n_layer);
  d.image.assign(n_slots * align, 0);
  PXOS_TRY_BUF(d.params, alloc(d.image.size(), other));
  auto staging = rt.create_readback(uint64_t(kLogitRows) * hp.n_vocab * 4 + 32);
  if (!staging) return std::unexpected(staging.error());
  other += staging->size();
  d.staging = std::move(*staging);

  // Bind groups: slot k's parameters at k * align. Slots: 0 embed, 1 head, 2 + 5l + {0..4}.
  auto P = [&](size_t slot, uint64_t size) { return gpu::BufferRange{&d.params, slot * align, size}; };
  auto B = [](const gpu::Buffer& b) { return gpu::BufferRange{&b, 0, 0}; };
  auto bind = [&](gpu::BindGroup& dst, gpu::Pipeline* p, std::initializer_list<gpu::BufferRange> r) -> Status {
    auto g = rt.bind(*p, std::span<const gpu::BufferRange>(r.begin(), r.size()));
    if (!g) return std::unexpected(g.error());
    dst = std::move(*g);
    return {};
  };
  const gpu::Buffer& head_w = model.tied_output ? d.tok_embd : d.output;
  if (auto st = bind(d.embed_g, d.embed, {P(0, sizeof(EmbParams)), B(d.tokens), B(d.tok_embd), B(d.x)}); !st)
    return std::unexpected(st.error());
  auto head = [&](gpu::BindGroup& g, gpu::Pipeline* p) {
    return bind(g, p, {P(1, sizeof(MatParams)), B(d.x), B(d.out_norm), B(head_w), B(d.dummy), B(d.dummy), B(d.logits)});
  };
  if (auto st = head(d.head_g, d.matvec); !st) return std::unexpected(st.error());
  if (has_tiled)
    if (auto st = head(d.head_tl, d.tiled); !st) return std::unexpected(st.error());
  if (auto st = bind(d.noop_g, d.noop, {B(d.dummy)}); !st) return std::unexpected(st.error());
  for (size_t l = 0; l < d.layers.size(); ++l) {
    auto& b = d.layers[l];
    const size_t k = 2 + 5 * l;
    auto mats = [&](Impl::MatGroups& g, gpu::Pipeline* p) {
      Status st = bind(g.qkv, p, {P(k, sizeof(MatParams)), B(d.x), B(b.attn_norm), B(b.wq), B(b.wk), B(b.wv), B(d.qkv)});
      if (st) st = bind(g.wo, p, {P(k + 2, sizeof(MatParams)), B(d.att), B(d.dummy), B(b.wo), B(d.dummy), B(d.dummy), B(d.x)});
      if (st) st = bind(g.gateup, p, {P(k + 3, sizeof(MatParams)), B(d.x), B(b.ffn_norm), B(b.gate), B(b.up), B(d.dummy), B(d.hb)});
      if (st) st = bind(g.down, p, {P(k + 4, sizeof(MatParams)), B(d.hb), B(d.dummy), B(b.down), B(d.dummy), B(d.dummy), B(d.x)});
      return st;
    };
    Status st = bind(b.att, d.attn, {P(k + 1, sizeof(AttnParams)), B(d.qkv), B(d.rope), B(b.kc), B(b.vc), B(d.att)});
    if (st) st = mats(b.mv, d.matvec);
    if (st && has_tiled) st = mats(b.tl, d.tiled);
    if (!st) return std::unexpected(st.error());
  }
#undef PXOS_TRY_BUF
  s->logits_.resize(size_t(kLogitRows) * hp.n_vocab);
  (void)qkv_w;
  return s;
}

Status GpuSession::check(std::span<const int32_t> tokens) const {
  if (tokens.empty()) return fail(Errc::Usage, "no tokens to evaluate");
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || uint32_t(tokens[i]) >= m_.hp.n_vocab)
      return failf(Errc::Usage, "token {} (at index {}) is outside the vocabulary of {}", tokens[i], i, m_.hp.n_vocab);
  if (tokens.size() > n_ctx_ - pos_)
    return failf(Errc::ContextFull, "{} tokens at position {} pass the context of {} tokens", tokens.size(), pos_, n_ctx_);
  return {};
}

Status GpuSession::run(std::span<const int32_t> tokens, bool want_logits, bool all) {
  Impl& d = *d_;
  const Hparams& hp = m_.hp;
  const uint32_t n = uint32_t(tokens.size()), dim = hp.dim, kv = hp.kv_dim(), qkv_w = dim + 2 * kv;
  const uint32_t align = uint32_t(d.image.size() / (2 + 5 * size_t(hp.n_layer)));
  auto put = [&](size_t slot, const auto& v) { std::memcpy(d.image.data() + slot * align, &v, sizeof(v)); };
  std::vector<gpu::Step> steps;
  steps.reserve(dispatches_per_token());
  // A batch of n tokens: the tiled kernel from kTiledMinTokens on (when the session has it).
  auto tiled = [&](uint32_t toks) { return prefill_ == GpuPrefillKernel::tiled && toks >= kTiledMinTokens; };
  auto mat_groups = [&](uint32_t n_out, uint32_t toks) {  // rows x token ranges (create checked the rows)
    const uint32_t rpw = tiled(toks) ? kTiledRows : d.mv_rows, tpw = tiled(toks) ? kTiledToks : d.mv_toks;
    return std::array<uint32_t, 3>{(n_out + rpw - 1) / rpw, (toks + tpw - 1) / tpw, 1};
  };
  const bool tl = tiled(n);
  gpu::Pipeline* mp = tl ? d.tiled : d.matvec;
  auto mat = [&](const Weight* w0, const Weight* w1, const Weight* w2, uint32_t mode, bool norm, uint32_t cols,
                 uint32_t y_stride) {
    MatParams p{};
    p.n_tok = n;
    p.cols = p.x_stride = cols;
    p.y_stride = y_stride;
    p.mode = mode;
    p.norm = norm;
    p.eps = hp.rms_eps;
    p.rows0 = uint32_t(w0->rows);
    p.rows1 = w1 ? uint32_t(w1->rows) : 0;
    p.n_out = uint32_t(w0->rows + (w1 ? w1->rows : 0) + (w2 ? w2->rows : 0));
    p.ty0 = uint32_t(w0->type);
    p.ty1 = w1 ? uint32_t(w1->type) : 0;
    p.ty2 = w2 ? uint32_t(w2->type) : 0;
    p.stride0 = uint32_t(w0->stride);
    p.stride1 = w1 ? uint32_t(w1->stride) : 0;
    p.stride2 = w2 ? uint32_t(w2->stride) : 0;
    return p;
  };
  put(0, EmbParams{n, dim, uint32_t(m_.tok_embd.type), uint32_t(m_.tok_embd.stride)});
  steps.push_back({d.embed, d.embed_g.raw(), {(n * (dim / 32) + gpu::tune::kLlmEmbedWG - 1) / gpu::tune::kLlmEmbedWG, 1, 1}});
  for (uint32_t l = 0; l < hp.n_layer; ++l) {
    const Layer& L = m_.layers[l];
    auto& b = d.layers[l];
    const size_t k = 2 + 5 * size_t(l);
    MatParams q = mat(&L.wq, &L.wk, &L.wv, kStore, true, dim, qkv_w);
    put(k, q);
    const Impl::MatGroups& g = tl ? b.tl : b.mv;
    steps.push_back({mp, g.qkv.raw(), mat_groups(q.n_out, n)});
    put(k + 1, AttnParams{n, pos_, hp.n_head / hp.n_kv_head, hp.head_dim, qkv_w, dim, kv,
                          1.0f / std::sqrt(float(hp.head_dim))});
    steps.push_back({d.attn, b.att.raw(), {hp.n_head, n, 1}});
    MatParams o = mat(&L.wo, nullptr, nullptr, kAddResidual, false, dim, dim);
    put(k + 2, o);
    steps.push_back({mp, g.wo.raw(), mat_groups(o.n_out, n)});
    MatParams gu = mat(&L.w_gate, &L.w_up, nullptr, kSwiGLU, true, dim, hp.n_ff);
    put(k + 3, gu);
    steps.push_back({mp, g.gateup.raw(), mat_groups(gu.n_out, n)});
    MatParams dn = mat(&L.w_down, nullptr, nullptr, kAddResidual, false, hp.n_ff, dim);
    put(k + 4, dn);
    steps.push_back({mp, g.down.raw(), mat_groups(dn.n_out, n)});
  }
  const uint32_t rows_out = all ? n : 1;
  if (want_logits) {
    MatParams h = mat(&m_.output, nullptr, nullptr, kStore, true, dim, hp.n_vocab);
    h.n_tok = rows_out;
    h.tok_base = all ? 0 : n - 1;
    put(1, h);
    const bool htl = tiled(h.n_tok);
    steps.push_back({htl ? d.tiled : d.matvec, (htl ? d.head_tl : d.head_g).raw(), mat_groups(h.n_out, h.n_tok)});
  }
  std::vector<uint32_t> ids(tokens.begin(), tokens.end());
  if (auto st = d.rt->write(d.tokens, ByteView(reinterpret_cast<const uint8_t*>(ids.data()), ids.size() * 4)); !st) return st;
  if (auto st = d.rt->write(d.params, ByteView(d.image.data(), d.image.size())); !st) return st;
  std::span<uint8_t> dst;
  if (want_logits) dst = {reinterpret_cast<uint8_t*>(logits_.data()), size_t(rows_out) * hp.n_vocab * 4};
  if (profile_) {  // each dispatch its own timed submit: GPU time per kind of dispatch
    for (size_t i = 0; i < steps.size(); ++i) {
      const bool last = i + 1 == steps.size();
      auto t = d.rt->submit(std::span(&steps[i], 1), last && want_logits ? &d.logits : nullptr,
                            last ? dst : std::span<uint8_t>{}, &d.staging, true);
      if (!t) return std::unexpected(t.error());
      const size_t kind = i == 0 ? 0 : (want_logits && last) ? 6 : 1 + (i - 1) % 5;
      stats_.kind_ms[kind] += std::max(0.0, *t);
    }
    stats_.submits++;
    stats_.dispatches += steps.size();
    stats_.last_dispatches = steps.size();
    pos_ += n;
    return {};
  }
  auto ms = d.rt->submit(steps, want_logits ? &d.logits : nullptr, dst, &d.staging, timed_);
  if (!ms) return std::unexpected(ms.error());
  stats_.submits++;
  stats_.dispatches += steps.size();
  stats_.last_dispatches = steps.size();
  stats_.last_gpu_ms = *ms;
  if (*ms >= 0) stats_.gpu_ms += *ms;
  pos_ += n;
  return {};
}

Result<std::span<const float>> GpuSession::eval(std::span<const int32_t> tokens) {
  if (auto s = check(tokens); !s) return std::unexpected(std::move(s.error()));
  for (size_t i = 0; i < tokens.size(); i += kMaxBatch) {
    const size_t n = std::min<size_t>(kMaxBatch, tokens.size() - i);
    if (auto s = run(tokens.subspan(i, n), i + n == tokens.size(), false); !s) return std::unexpected(std::move(s.error()));
  }
  return std::span<const float>(logits_.data(), m_.hp.n_vocab);
}

Result<std::vector<float>> GpuSession::eval_all(std::span<const int32_t> tokens) {
  if (auto s = check(tokens); !s) return std::unexpected(std::move(s.error()));
  std::vector<float> out;
  out.reserve(tokens.size() * m_.hp.n_vocab);
  for (size_t i = 0; i < tokens.size(); i += kLogitRows) {
    const size_t n = std::min<size_t>(kLogitRows, tokens.size() - i);
    if (auto s = run(tokens.subspan(i, n), true, true); !s) return std::unexpected(std::move(s.error()));
    out.insert(out.end(), logits_.begin(), logits_.begin() + ptrdiff_t(n * m_.hp.n_vocab));
  }
  return out;
}

}  // namespace pxos::llm
