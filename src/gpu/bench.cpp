// bench.cpp: the benchmark driver behind `pxos gpu bench`.
#include "gpu/bench.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "common/progress.hpp"
#include "gpu/half.hpp"
#include "gpu/ops.hpp"
#include "gpu/reference.hpp"
#include "gpu/runtime.hpp"

namespace pxos::gpu {
namespace {

constexpr int kWarmup = 3;                 // untimed runs first (pipeline creation, caches)
constexpr uint32_t kSampleRows = 16;       // rows checked against the CPU reference when large
constexpr uint64_t kFullRefLimit = 1ull << 28;  // reference work (FMAs) done in full below this

std::vector<float> rnd(std::mt19937_64& g, size_t n, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// One submission per timed repetition (GPU timestamps when the adapter has them, else the wall
// clock of that submission), so the median is over repetitions and a terminal sees each one
// finish, with an ETA from the wall time per repetition so far.
Result<std::pair<double, double>> time_launch(Launch& L, int reps, bool* ts) {
  if (auto r = L.run(kWarmup, false); !r) return std::unexpected(r.error());
  ProgressBar bar;
  std::vector<double> ms;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) {
    auto t = L.run(1, true);
    if (!t) return std::unexpected(t.error());
    *ts = t->gpu_timestamps;
    ms.insert(ms.end(), t->ms.begin(), t->ms.end());
    double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bar.count(uint64_t(i + 1), uint64_t(reps), "  repetition", spent / (i + 1) * (reps - i - 1));
  }
  return std::pair{median(ms), *std::min_element(ms.begin(), ms.end())};
}

// Rows [r0, r0+cnt) of an op output vs reference rows.
double rel_err_rows(const std::vector<float>& got, const std::vector<float>& want, size_t off) {
  auto c = ref::compare(std::span(got).subspan(off, want.size()), want, 0, 0);
  return c.max_rel;
}

// The version an op runs without --kernel: the fastest measured on the H100 so far
// (docs/BENCHMARKS.md), the same as the ops' defaults (ops.hpp).
std::string default_kernel(const std::string& op) {
  if (op == "attention") return "v1";
  return "v2";
}

Result<BenchResult> bench_one(const BenchConfig& cfg_in, uint32_t n, std::mt19937_64& g) {
  BenchConfig cfg = cfg_in;
  if (cfg.kernel.empty()) cfg.kernel = default_kernel(cfg.op);
  BenchResult R;
  R.op = cfg.op;
  R.dtype = cfg.dtype;
  R.kernel = "-";
  const std::string& op = cfg.op;
  bool ts = false;
  if (op == "matmul") {
    uint32_t M = n, N = n, K = n;
    R.shape = fmt::format("{}x{}x{}", M, N, K);
    auto A = rnd(g, size_t(M) * K), B = rnd(g, size_t(K) * N);
    Result<Launch> L = fail(Errc::Internal, "");
    if (cfg.dtype == "f16") {
      auto Ah = to_f16(A), Bh = to_f16(B);
      A = from_f16(Ah);  // the reference sees the rounded inputs
      B = from_f16(Bh);
      L = prepare_matmul_f16(Ah, Bh, M, N, K);
      R.kernel = "f16";
    } else {
      auto kv = parse_matmul_kernel(cfg.kernel);
      if (!kv) return std::unexpected(kv.error());
      L = prepare_matmul(A, B, M, N, K, *kv);
      R.kernel = cfg.kernel;
    }
    if (!L) return std::unexpected(L.error());
    auto t = time_launch(*L, cfg.reps, &ts);
    if (!t) return std::unexpected(t.error());
    std::tie(R.ms_median, R.ms_min) = *t;
    R.gflops = 2.0 * M * N * K / (R.ms_median * 1e-3) / 1e9;
    auto out = L->read_output();
    if (!out) return std::unexpected(out.error());
    std::vector<float> got = cfg.dtype == "f16" ? from_f16(bytes_to_halves(*out)) : bytes_to_floats(*out);
    uint32_t rows = uint64_t(M) * N * K <= kFullRefLimit ? M : std::min(M, kSampleRows);
    uint32_t r0 = (M - rows) / 2;
    auto want = ref::matmul(std::span(A).subspan(size_t(r0) * K, size_t(rows) * K), B, rows, N, K);
    R.max_rel_err = rel_err_rows(got, want, size_t(r0) * N);
    R.checked = rows == M ? "all" : fmt::format("{} rows", rows);
  } else if (op == "attention") {
    uint32_t H = cfg.heads, N = n, D = 128;
    R.shape = fmt::format("1x{}x{}x{}{}", H, N, D, cfg.causal ? " causal" : "");
    size_t cnt = size_t(H) * N * D;
    auto Q = rnd(g, cnt), K = rnd(g, cnt), V = rnd(g, cnt);
    auto kv = parse_attention_kernel(cfg.kernel);
    if (!kv) return std::unexpected(kv.error());
    R.kernel = cfg.kernel;
    auto L = prepare_attention(Q, K, V, H, N, D, cfg.causal, *kv);
    if (!L) return std::unexpected(L.error());
    auto t = time_launch(*L, cfg.reps, &ts);
    if (!t) return std::unexpected(t.error());
    std::tie(R.ms_median, R.ms_min) = *t;
    double flops = 4.0 * H * double(N) * N * D * (cfg.causal ? 0.5 : 1.0);
    R.gflops = flops / (R.ms_median * 1e-3) / 1e9;
    auto out = L->read_output();
    if (!out) return std::unexpected(out.error());
    auto got = bytes_to_floats(*out);
    size_t hsz = size_t(N) * D;  // check head 0 in full
    auto want = ref::attention(std::span(Q).first(hsz), std::span(K).first(hsz), std::span(V).first(hsz),
                               1, N, D, cfg.causal);
    R.max_rel_err = rel_err_rows(got, want, 0);
    R.checked = H == 1 ? "all" : "head 0";
  } else if (op == "rotary") {
    uint32_t T = n, H = cfg.heads, D = 128;
    R.shape = fmt::format("{}x{}x{}", T, H, D);
    auto X = rnd(g, size_t(T) * H * D);
    auto f = ref::rotary_inv_freq(D, 10000.0);
    auto kv = parse_rotary_kernel(cfg.kernel);
    if (!kv) return std::unexpected(kv.error());
    R.kernel = cfg.kernel;
    auto L = prepare_rotary(X, f, T, H, D, 0, *kv);
    if (!L) return std::unexpected(L.error());
    auto t = time_launch(*L, cfg.reps, &ts);
    if (!t) return std::unexpected(t.error());
    std::tie(R.ms_median, R.ms_min) = *t;
    R.gbps = 2.0 * X.size() * 4 / (R.ms_median * 1e-3) / 1e9;
    auto out = L->read_output();
    if (!out) return std::unexpected(out.error());
    auto want = ref::rotary(X, f, T, H, D, 0);
    R.max_rel_err = rel_err_rows(bytes_to_floats(*out), want, 0);
    R.checked = "all";
  } else {
    uint32_t rows = n, cols = cfg.cols;
    R.shape = fmt::format("{}x{}", rows, cols);
    size_t cnt = size_t(rows) * cols;
    auto X = rnd(g, cnt, -4, 4);
    auto gamma = rnd(g, cols, 0.5, 1.5), beta = rnd(g, cols);
    Result<Launch> L = fail(Errc::Internal, "");
    double bytes = 2.0 * cnt * 4;
    if (op == "softmax") L = prepare_softmax(X, rows, cols);
    else if (op == "layernorm") L = prepare_layernorm(X, gamma, beta, rows, cols, 1e-5f);
    else if (op == "rmsnorm") L = prepare_rmsnorm(X, gamma, rows, cols, 1e-5f);
    else if (op == "relu") L = prepare_activation(Activation::relu, X);
    else if (op == "leaky_relu") L = prepare_activation(Activation::leaky_relu, X, 0.01f);
    else if (op == "gelu") L = prepare_activation(Activation::gelu, X);
    else if (op == "silu") L = prepare_activation(Activation::silu, X);
    else return failf(Errc::Usage, "unknown bench op '{}'", op);
    if (!L) return std::unexpected(L.error());
    auto t = time_launch(*L, cfg.reps, &ts);
    if (!t) return std::unexpected(t.error());
    std::tie(R.ms_median, R.ms_min) = *t;
    R.gbps = bytes / (R.ms_median * 1e-3) / 1e9;
    auto out = L->read_output();
    if (!out) return std::unexpected(out.error());
    auto got = bytes_to_floats(*out);
    uint32_t chk = std::min(rows, 64u);
    auto xs = std::span<const float>(X).first(size_t(chk) * cols);
    std::vector<float> want;
    if (op == "softmax") want = ref::softmax(xs, chk, cols);
    else if (op == "layernorm") want = ref::layernorm(xs, gamma, beta, chk, cols, 1e-5f);
    else if (op == "rmsnorm") want = ref::rmsnorm(xs, gamma, chk, cols, 1e-5f);
    else if (op == "relu") want = ref::relu(xs);
    else if (op == "leaky_relu") want = ref::leaky_relu(xs, 0.01f);
    else if (op == "gelu") want = ref::gelu(xs);
    else want = ref::silu(xs);
    R.max_rel_err = rel_err_rows(got, want, 0);
    R.checked = chk == rows ? "all" : fmt::format("{} rows", chk);
  }
  R.gpu_timestamps = ts;
  return R;
}

// Sizes when --n is not given: small enough that a bare `pxos gpu bench` finishes in seconds
// even on a CPU adapter (lavapipe); the large sweeps of docs/BENCHMARKS.md name their --n.
uint32_t default_size(const std::string& op) {
  if (op == "matmul") return 512;
  if (op == "attention") return 256;
  if (op == "rotary") return 512;
  return 1024;
}
// Past this many "work units" (matmul n^3 flops/2, attention n^2 per head, rows x cols) a CPU
// adapter takes minutes: warn before starting.
constexpr double kCpuAdapterWarnWork = 2.0e9;
double work_of(const BenchConfig& c, uint32_t n) {
  if (c.op == "matmul") return double(n) * n * n;
  if (c.op == "attention") return double(n) * n * c.heads * 64;
  if (c.op == "rotary") return double(n) * c.heads * 64;
  return double(n) * c.cols;
}

}  // namespace

std::vector<std::string> bench_ops() {
  return {"matmul", "attention", "softmax", "layernorm", "rmsnorm", "relu", "leaky_relu", "gelu",
          "silu", "rotary"};
}

Result<std::vector<BenchResult>> run_bench(const BenchConfig& cfg) {
  auto ops = bench_ops();
  if (std::find(ops.begin(), ops.end(), cfg.op) == ops.end())
    return failf(Errc::Usage, "unknown bench op '{}' (one of: matmul attention softmax layernorm "
                              "rmsnorm relu leaky_relu gelu silu rotary)", cfg.op);
  if (cfg.dtype != "f32" && cfg.dtype != "f16")
    return failf(Errc::Usage, "--dtype must be f32 or f16, not '{}'", cfg.dtype);
  if (cfg.dtype == "f16" && cfg.op != "matmul")
    return fail(Errc::Usage, "--dtype f16 exists for matmul only");
  auto sizes = cfg.sizes.empty() ? std::vector<uint32_t>{default_size(cfg.op)} : cfg.sizes;
  uint64_t seed = cfg.seed ? cfg.seed : std::random_device{}();
  std::mt19937_64 g(seed);
  std::vector<BenchResult> out;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 0) return fail(Errc::Usage, "--n: sizes must be at least 1");
    std::fprintf(stderr, "[%zu/%zu] %s n=%u ...\n", i + 1, sizes.size(), cfg.op.c_str(), sizes[i]);
    if (auto rt = Runtime::get(); rt && (*rt)->info().adapter_type == "CPU" && work_of(cfg, sizes[i]) > kCpuAdapterWarnWork)
      std::fprintf(stderr, "warning: %s n=%u on a CPU adapter (%s) can take many minutes; a smaller --n is quicker\n",
                   cfg.op.c_str(), sizes[i], (*rt)->info().device.c_str());
    auto r = bench_one(cfg, sizes[i], g);
    if (!r) return std::unexpected(r.error());
    const auto& b = *r;
    if (cfg.json) {
      // nlohmann: strings escaped, a NaN error (a broken kernel) becomes null, not `nan`.
      nlohmann::ordered_json j = {{"op", b.op}, {"kernel", b.kernel}, {"dtype", b.dtype}, {"shape", b.shape},
                                  {"ms_median", b.ms_median}, {"ms_min", b.ms_min}, {"gflops", b.gflops},
                                  {"gbps", b.gbps}, {"max_rel_err", b.max_rel_err}, {"checked", b.checked},
                                  {"gpu_timestamps", b.gpu_timestamps}, {"seed", seed}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::string rate = b.gflops > 0 ? fmt::format("{:10.1f} GFLOP/s", b.gflops)
                                      : fmt::format("{:10.1f} GB/s   ", b.gbps);
      std::printf("%-10s %-4s %-4s %-22s %9.4f ms (min %.4f) %s  max rel err %.2e (%s)%s\n", b.op.c_str(),
                  b.kernel.c_str(), b.dtype.c_str(), b.shape.c_str(), b.ms_median, b.ms_min, rate.c_str(),
                  b.max_rel_err, b.checked.c_str(), b.gpu_timestamps ? "" : " [wall clock]");
    }
    std::fflush(stdout);
    out.push_back(b);
  }
  return out;
}

}  // namespace pxos::gpu
