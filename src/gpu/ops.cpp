// ops.cpp: shape checks, kernel choice, buffer set-up and dispatch geometry for each op.
#include "gpu/ops.hpp"

#include <cmath>
#include <cstring>

#include "gpu/kernel_source.hpp"
#include "gpu/tunables.hpp"

namespace pxos::gpu {
namespace {

// Tile and workgroup sizes: tunables.hpp (the kernels get the same values as overrides).
using namespace tune;

uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

template <class T>
ByteView view(std::span<const T> s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size_bytes()};
}

Bytes pod_bytes(const void* p, size_t n) {
  Bytes b(n);
  std::memcpy(b.data(), p, n);
  return b;
}

struct RowDims { uint32_t rows, cols; float eps, alpha; };

Status need(bool ok, std::string_view what) {
  if (!ok) return fail(Errc::Usage, std::string(what));
  return {};
}

// `retune`: tunables.hpp values the op picked by shape (matmul's small tile), replacing the
// kernel's usual value of the same name.
Result<Launch> make(std::string_view kernel, std::string_view entry, std::vector<ByteView> inputs,
                    uint64_t out_bytes, size_t out_pos, std::array<uint32_t, 3> groups,
                    std::vector<Constant> retune = {}) {
  auto rt = Runtime::get();
  if (!rt) return std::unexpected(rt.error());
  // $PXOS_KERNELS_DIR/<kernel>.wgsl, when present, replaces the embedded copy (kernel tuning
  // without a rebuild; `pxos gpu bench` says which file ran).
  auto src = load_kernel(kernel);
  if (!src) return std::unexpected(src.error());
  auto constants = declared_constants(kernel, src->text, (*rt)->info());
  for (auto& c : constants)
    for (auto& r : retune)
      if (c.name == r.name) c.value = r.value;
  auto pl = (*rt)->pipeline(src->text, entry, constants, src->label, &*src);
  if (!pl) return std::unexpected(pl.error());
  Launch L;
  L.pipeline = *pl;
  L.groups = groups;
  L.kernel = fmt::format("{}:{}", src->label, entry);
  L.output_bytes = out_bytes;
  L.output = out_pos;
  size_t in = 0;
  for (size_t i = 0; i < inputs.size() + 1; ++i) {
    Result<Buffer> b = i == out_pos ? (*rt)->create_buffer(out_bytes) : (*rt)->upload(inputs[in++]);
    if (!b) return std::unexpected(b.error());
    L.buffers.push_back(std::move(*b));
  }
  return L;
}

// Row-wise ops: a workgroup per row, rows spread over x and y.
std::array<uint32_t, 3> row_groups(uint32_t rows) {
  return {std::min(rows, kMaxGroups), ceil_div(rows, kMaxGroups), 1};
}

Result<std::vector<float>> once(Result<Launch> L) {
  if (!L) return std::unexpected(L.error());
  if (auto r = L->run(); !r) return std::unexpected(r.error());
  auto out = L->read_output();
  if (!out) return std::unexpected(out.error());
  return bytes_to_floats(*out);
}

}  // namespace

std::vector<float> bytes_to_floats(const Bytes& b) {
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}
std::vector<uint16_t> bytes_to_halves(const Bytes& b) {
  std::vector<uint16_t> v(b.size() / 2);
  std::memcpy(v.data(), b.data(), v.size() * 2);
  return v;
}

Result<MatmulKernel> parse_matmul_kernel(std::string_view s) {
  if (s == "v1") return MatmulKernel::v1;
  if (s == "v2") return MatmulKernel::v2;
  if (s == "v2s") return MatmulKernel::v2s;
  if (s == "v3") return MatmulKernel::v3;
  return failf(Errc::Usage, "unknown kernel version '{}' (v1 naive, v2 tiled, v2s tiled with the small tile on small "
                            "products, v3 subgroup)", s);
}
Result<RotaryKernel> parse_rotary_kernel(std::string_view s) {
  if (s == "v1") return RotaryKernel::v1;
  if (s == "v2") return RotaryKernel::v2;
  if (s == "v3") return RotaryKernel::v3;
  return failf(Errc::Usage, "unknown rotary kernel version '{}' (v1 per element pair, v2 across heads, v3 vec4 head groups)", s);
}
Result<AttentionKernel> parse_attention_kernel(std::string_view s) {
  if (s == "v1") return AttentionKernel::v1;
  if (s == "v2") return AttentionKernel::v2;
  return failf(Errc::Usage, "unknown attention kernel version '{}' (v1 row per 8 invocations, v2 FlashAttention-2 tiles)", s);
}
const char* matmul_kernel_name(MatmulKernel k) {
  switch (k) {
    case MatmulKernel::v1: return "v1";
    case MatmulKernel::v2: return "v2";
    case MatmulKernel::v2s: return "v2s";
    case MatmulKernel::v3: return "v3";
  }
  return "?";
}

Result<DispatchTiming> Launch::run(int repeats, bool timed) {
  auto rt = Runtime::get();
  if (!rt) return std::unexpected(rt.error());
  std::vector<const Buffer*> ptrs;
  for (auto& b : buffers) ptrs.push_back(&b);
  return (*rt)->dispatch(*pipeline, ptrs, groups, repeats, timed);
}

Result<Bytes> Launch::read_output() {
  auto rt = Runtime::get();
  if (!rt) return std::unexpected(rt.error());
  return (*rt)->download(buffers[output], output_bytes);
}

static Status check_matmul(size_t a, size_t b, uint32_t M, uint32_t N, uint32_t K) {
  if (auto s = need(M && N && K, fmt::format("matmul: empty input (M={}, N={}, K={}); every "
                                             "dimension must be at least 1", M, N, K)); !s)
    return s;
  if (auto s = need(uint64_t(M) * K < (1ull << 32) && uint64_t(K) * N < (1ull << 32) &&
                        uint64_t(M) * N < (1ull << 32),
                    "matmul: a matrix has 2^32 or more elements"); !s)
    return s;
  return need(a == size_t(M) * K && b == size_t(K) * N,
              fmt::format("matmul: A has {} elements and B {}, expected M*K = {} and K*N = {}", a, b,
                          size_t(M) * K, size_t(K) * N));
}

Result<Launch> prepare_matmul(std::span<const float> A, std::span<const float> B, uint32_t M,
                              uint32_t N, uint32_t K, MatmulKernel kernel) {
  if (auto s = check_matmul(A.size(), B.size(), M, N, K); !s) return std::unexpected(s.error());
  uint32_t dims[4] = {M, N, K, 0};
  Bytes db = pod_bytes(dims, sizeof dims);
  uint64_t out = uint64_t(M) * N * 4;
  switch (kernel) {
    case MatmulKernel::v1:
      return make("matmul_v1", "main", {view(A), view(B), db}, out, 2,
                  {ceil_div(N, kNaiveTile), ceil_div(M, kNaiveTile), 1});
    case MatmulKernel::v2:
    case MatmulKernel::v2s: {
      bool vec4 = K % 4 == 0 && N % 4 == 0;
      // v2s: too few large tiles to fill the GPU, so the small tile (4x the workgroups).
      uint64_t grid = uint64_t(ceil_div(N, kMatmulTile)) * ceil_div(M, kMatmulTile);
      bool small = kernel == MatmulKernel::v2s && grid < kMatmulSmallGrid;
      uint32_t tile = small ? kMatmulTileSmall : kMatmulTile;
      return make(vec4 ? "matmul_v2_vec4" : "matmul_v2", "main", {view(A), view(B), db}, out, 2,
                  {ceil_div(N, tile), ceil_div(M, tile), 1}, {Constant{"TILE", double(tile)}});
    }
    case MatmulKernel::v3: {
      auto rt = Runtime::get();
      if (!rt) return std::unexpected(rt.error());
      if (!(*rt)->info().subgroups)
        return fail(Errc::Unsupported, "matmul v3 needs the Subgroups feature, which this adapter lacks");
      return make("matmul_v3", "main", {view(A), view(B), db}, out, 2,
                  {ceil_div(N, kSubgroupTile), ceil_div(M, kSubgroupTile), 1});
    }
  }
  return fail(Errc::Internal, "bad kernel");
}

Result<Launch> prepare_matmul_f16(std::span<const uint16_t> A, std::span<const uint16_t> B,
                                  uint32_t M, uint32_t N, uint32_t K) {
  if (auto s = check_matmul(A.size(), B.size(), M, N, K); !s) return std::unexpected(s.error());
  auto rt = Runtime::get();
  if (!rt) return std::unexpected(rt.error());
  if (!(*rt)->info().f16) return fail(Errc::Unsupported, "f16 matmul: " + (*rt)->info().f16_note);
  uint32_t dims[4] = {M, N, K, 0};
  return make("matmul_f16", "main", {view(A), view(B), pod_bytes(dims, sizeof dims)},
              uint64_t(M) * N * 2, 2, {ceil_div(N, kMatmulTile), ceil_div(M, kMatmulTile), 1});
}

static Status check_rows(size_t n, uint32_t rows, uint32_t cols, const char* op) {
  if (auto s = need(rows && cols, fmt::format("{}: empty input (rows={}, cols={})", op, rows, cols)); !s)
    return s;
  if (auto s = need(uint64_t(rows) * cols < (1ull << 32), fmt::format("{}: 2^32 or more elements", op)); !s)
    return s;
  return need(n == size_t(rows) * cols,
              fmt::format("{}: input has {} elements, expected rows*cols = {}", op, n, size_t(rows) * cols));
}

Result<Launch> prepare_softmax(std::span<const float> X, uint32_t rows, uint32_t cols) {
  if (auto s = check_rows(X.size(), rows, cols, "softmax"); !s) return std::unexpected(s.error());
  RowDims d{rows, cols, 0, 0};
  return make("softmax", "main", {view(X), pod_bytes(&d, sizeof d)}, X.size_bytes(), 1, row_groups(rows));
}

Result<Launch> prepare_layernorm(std::span<const float> X, std::span<const float> gamma,
                                 std::span<const float> beta, uint32_t rows, uint32_t cols, float eps) {
  if (auto s = check_rows(X.size(), rows, cols, "layernorm"); !s) return std::unexpected(s.error());
  if (auto s = need(gamma.size() == cols && beta.size() == cols,
                    "layernorm: gamma and beta must have cols elements"); !s)
    return std::unexpected(s.error());
  RowDims d{rows, cols, eps, 0};
  return make("layernorm", "main", {view(X), view(gamma), view(beta), pod_bytes(&d, sizeof d)},
              X.size_bytes(), 3, row_groups(rows));
}

Result<Launch> prepare_rmsnorm(std::span<const float> X, std::span<const float> gamma, uint32_t rows,
                               uint32_t cols, float eps) {
  if (auto s = check_rows(X.size(), rows, cols, "rmsnorm"); !s) return std::unexpected(s.error());
  if (auto s = need(gamma.size() == cols, "rmsnorm: gamma must have cols elements"); !s)
    return std::unexpected(s.error());
  RowDims d{rows, cols, eps, 0};
  return make("rmsnorm", "main", {view(X), view(gamma), pod_bytes(&d, sizeof d)}, X.size_bytes(), 2,
              row_groups(rows));
}

Result<Launch> prepare_activation(Activation act, std::span<const float> X, float alpha) {
  static const char* entries[] = {"relu", "leaky_relu", "gelu", "silu"};
  const char* entry = entries[int(act)];
  if (auto s = need(!X.empty(), fmt::format("{}: empty input", entry)); !s) return std::unexpected(s.error());
  if (auto s = need(X.size() < (1ull << 32), fmt::format("{}: 2^32 or more elements", entry)); !s)
    return std::unexpected(s.error());
  // 16-byte accesses when the count allows (activations_vec4.wgsl counts vec4s).
  bool vec4 = X.size() % 4 == 0;
  uint32_t units = uint32_t(vec4 ? X.size() / 4 : X.size());
  RowDims d{1, units, 0, alpha};
  uint32_t groups = std::min<uint32_t>(ceil_div(units, kElementwiseWG), kMaxGroups);
  return make(vec4 ? "activations_vec4" : "activations", entry, {view(X), pod_bytes(&d, sizeof d)},
              X.size_bytes(), 1, {groups, 1, 1});
}

Result<Launch> prepare_rotary(std::span<const float> X, std::span<const float> inv_freq, uint32_t T,
                              uint32_t H, uint32_t D, uint32_t offset, RotaryKernel kernel) {
  if (auto s = need(T && H && D, fmt::format("rotary: empty input (T={}, H={}, D={})", T, H, D)); !s)
    return std::unexpected(s.error());
  if (auto s = need(D % 2 == 0, fmt::format("rotary: head dimension D={} must be even", D)); !s)
    return std::unexpected(s.error());
  if (auto s = need(X.size() == size_t(T) * H * D && inv_freq.size() == D / 2 && X.size() < (1ull << 32),
                    "rotary: X must have T*H*D elements and inv_freq D/2"); !s)
    return std::unexpected(s.error());
  uint32_t dims[4] = {T, H, D, offset};
  std::vector<ByteView> in{view(X), view(inv_freq)};
  Bytes db = pod_bytes(dims, sizeof dims);
  in.push_back(db);
  // v3 needs whole vec4 halves (D % 8 == 0); other head dimensions run v2.
  if (kernel == RotaryKernel::v3 && D % 8 == 0) {
    uint64_t units = uint64_t(T) * ceil_div(H, kRotaryHeadsPerInvocation) * (D / 8);
    uint32_t groups = std::min<uint32_t>(ceil_div(units, kElementwiseWG), kMaxGroups);
    return make("rotary_vec4", "main", in, X.size_bytes(), 2, {groups, 1, 1});
  }
  // v1: one invocation per element pair; v2: one per (position, pair), looping over the heads.
  const bool v1 = kernel == RotaryKernel::v1;
  uint64_t units = v1 ? X.size() / 2 : uint64_t(T) * (D / 2);
  uint32_t groups = std::min<uint32_t>(ceil_div(units, kElementwiseWG), kMaxGroups);
  return make(v1 ? "rotary" : "rotary_heads", "main", in, X.size_bytes(), 2, {groups, 1, 1});
}

Result<Launch> prepare_attention(std::span<const float> Q, std::span<const float> K,
                                 std::span<const float> V, uint32_t H, uint32_t N, uint32_t D,
                                 bool causal, AttentionKernel kernel) {
  if (auto s = need(H && N && D, fmt::format("attention: empty input (H={}, N={}, D={})", H, N, D)); !s)
    return std::unexpected(s.error());
  static_assert(kAttnMaxD == kAttn2MaxD, "v1 and v2 take the same head dimensions");
  if (auto s = need(D <= kAttnMaxD, fmt::format("attention: head dimension {} exceeds {}", D, kAttnMaxD)); !s)
    return std::unexpected(s.error());
  size_t n = size_t(H) * N * D;
  if (auto s = need(Q.size() == n && K.size() == n && V.size() == n && n < (1ull << 32),
                    fmt::format("attention: Q, K and V must each have H*N*D = {} elements", n)); !s)
    return std::unexpected(s.error());
  struct { uint32_t H, N, D, causal; float scale; uint32_t p[3]; } d{H, N, D, causal ? 1u : 0u,
                                                                     float(1.0 / std::sqrt(double(D))), {}};
  if (kernel == AttentionKernel::v2) {
    auto rt = Runtime::get();
    if (!rt) return std::unexpected(rt.error());
    uint32_t ty = attn2_row_groups((*rt)->info());
    uint32_t have = (*rt)->info().limits.maxComputeWorkgroupStorageSize;
    if (have < attn2_shared_bytes(ty))
      return failf(Errc::Unsupported, "attention v2 needs {} bytes of workgroup memory; this adapter has {} (use v1)",
                   attn2_shared_bytes(ty), have);
    // Row reductions by subgroup shuffles where a subgroup holds whole 16-invocation rows.
    const auto& info = (*rt)->info();
    bool sg = info.subgroups && info.subgroup_min >= 16;
    const char* file = D % 4 != 0 ? "attention_v2" : sg ? "attention_v2_sg" : "attention_v2_vec4";
    return make(file, "main",
                {view(Q), view(K), view(V), pod_bytes(&d, sizeof d)}, n * 4, 3, {H, ceil_div(N, 8 * ty), 1});
  }
  return make("attention", "main", {view(Q), view(K), view(V), pod_bytes(&d, sizeof d)}, n * 4, 3,
              {ceil_div(N, kAttnRows), H, 1});
}

Result<std::vector<float>> matmul(std::span<const float> A, std::span<const float> B, uint32_t M,
                                  uint32_t N, uint32_t K, MatmulKernel kernel) {
  return once(prepare_matmul(A, B, M, N, K, kernel));
}
Result<std::vector<uint16_t>> matmul_f16(std::span<const uint16_t> A, std::span<const uint16_t> B,
                                         uint32_t M, uint32_t N, uint32_t K) {
  auto L = prepare_matmul_f16(A, B, M, N, K);
  if (!L) return std::unexpected(L.error());
  if (auto r = L->run(); !r) return std::unexpected(r.error());
  auto out = L->read_output();
  if (!out) return std::unexpected(out.error());
  return bytes_to_halves(*out);
}
Result<std::vector<float>> softmax(std::span<const float> X, uint32_t rows, uint32_t cols) {
  return once(prepare_softmax(X, rows, cols));
}
Result<std::vector<float>> layernorm(std::span<const float> X, std::span<const float> gamma,
                                     std::span<const float> beta, uint32_t rows, uint32_t cols, float eps) {
  return once(prepare_layernorm(X, gamma, beta, rows, cols, eps));
}
Result<std::vector<float>> rmsnorm(std::span<const float> X, std::span<const float> gamma, uint32_t rows,
                                   uint32_t cols, float eps) {
  return once(prepare_rmsnorm(X, gamma, rows, cols, eps));
}
Result<std::vector<float>> activation(Activation act, std::span<const float> X, float alpha) {
  return once(prepare_activation(act, X, alpha));
}
Result<std::vector<float>> rotary(std::span<const float> X, std::span<const float> inv_freq, uint32_t T,
                                  uint32_t H, uint32_t D, uint32_t offset, RotaryKernel kernel) {
  return once(prepare_rotary(X, inv_freq, T, H, D, offset, kernel));
}
Result<std::vector<float>> attention(std::span<const float> Q, std::span<const float> K,
                                     std::span<const float> V, uint32_t H, uint32_t N, uint32_t D,
                                     bool causal, AttentionKernel kernel) {
  return once(prepare_attention(Q, K, V, H, N, D, causal, kernel));
}

}  // namespace pxos::gpu
