// cmd_llm_bench.cpp: `pxos llm bench MODEL`: the GPU forward pass's figures: prefill tok/s of one
// P-token batch, greedy decode tok/s at batch 1, dispatches and GPU time per token, bytes of
// weights + KV read per token, GPU memory beside 1.5x the model + KV, the GPU time of as many
// empty dispatches as a token has (the dispatch floor) (bench/llm/gpu.sh). The kernels are
// GpuSession's defaults or $PXOS_LLM_KERNELS (forward_gpu.hpp); the JSON names them.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "common/os.hpp"
#include "gpu/runtime.hpp"
#include "llm/forward_gpu.hpp"

namespace pxos::cli {
namespace {

struct Opts {
  std::string model, json_out;
  uint32_t prompt = 512, decode = 128, n_ctx = 1024, repeats = 3;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void bench(const Opts& o) {
  auto mf = must(llm::open_model(o.model));
  const llm::Model& m = mf->model;
  if (o.prompt + o.decode + 1 > std::min(o.n_ctx, m.hp.n_ctx))
    throw Failure({Errc::Usage, fmt::format("--prompt {} + --decode {} do not fit the context of {}", o.prompt,
                                            o.decode, std::min(o.n_ctx, m.hp.n_ctx))});
  auto s = must(llm::GpuSession::create(m, {.n_ctx = o.n_ctx, .timed = true}));
  const auto& info = must(gpu::Runtime::get())->info();
  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t) { return std::chrono::duration<double, std::milli>(clock::now() - t).count(); };
  // A fixed, varied prompt: token ids spread over the vocabulary.
  std::vector<int32_t> ids(o.prompt);
  for (uint32_t i = 0; i < o.prompt; ++i) ids[i] = int32_t((uint64_t(i) * 7919 + 13) % m.hp.n_vocab);
  must(s->eval(std::span<const int32_t>(ids).first(std::min<size_t>(8, ids.size()))));  // warm-up
  std::vector<double> pf_wall, pf_gpu;
  for (uint32_t r = 0; r < o.repeats; ++r) {
    s->reset();
    auto t0 = clock::now();
    must(s->eval(ids));
    pf_wall.push_back(ms_since(t0));
    pf_gpu.push_back(s->stats().last_gpu_ms);
  }
  // Decode: the prompt's first token, then greedy tokens one at a time.
  s->reset();
  auto l = must(s->eval(std::span<const int32_t>(ids).first(1)));
  std::vector<double> dc_wall, dc_gpu;
  uint64_t kv_read = 0;
  const uint64_t kv_row = uint64_t(m.hp.kv_dim()) * 4 * 2 * m.hp.n_layer;  // K and V of one position, all layers
  auto t_all = clock::now();
  for (uint32_t i = 0; i < o.decode; ++i) {
    const int32_t next = int32_t(std::max_element(l.begin(), l.end()) - l.begin());
    kv_read += kv_row * (s->pos() + 1);
    auto t0 = clock::now();
    l = must(s->eval(std::span<const int32_t>(&next, 1)));
    dc_wall.push_back(ms_since(t0));
    dc_gpu.push_back(s->stats().last_gpu_ms);
  }
  const double dc_total = ms_since(t_all);
  const auto& st = s->stats();
  // Where a decode token's GPU time goes: a second session, one timed submit per dispatch.
  auto prof = must(llm::GpuSession::create(m, {.n_ctx = o.n_ctx, .profile = true}));
  must(prof->eval(std::span<const int32_t>(ids).first(std::min<size_t>(64, ids.size()))));
  double base[7];
  std::copy(std::begin(prof->stats().kind_ms), std::end(prof->stats().kind_ms), base);
  const uint32_t n_prof = 16;
  for (uint32_t i = 0; i < n_prof; ++i) must(prof->eval(std::span<const int32_t>(&ids[i], 1)));
  // The dispatch floor: a decode token's count of empty dispatches, one timed submit (median of 9).
  // A failure here (or no timestamps: -1) leaves the other figures standing.
  std::vector<double> floor_ms;
  for (int r = 0; r < 9; ++r) {
    auto f = s->empty_dispatches_ms(uint32_t(s->dispatches_per_token()));
    if (!f) {
      fmt::print(stderr, "dispatch floor not measured: {}\n", f.error().to_string());
      break;
    }
    floor_ms.push_back(*f);
  }
  const double floor_med = floor_ms.size() == 9 ? median(floor_ms) : -1;
  const double gpu_med = median(dc_gpu), wall_med = median(dc_wall);
  const double bytes_tok = double(st.weight_bytes) + double(kv_read) / std::max(1u, o.decode);
  const uint64_t file_bytes = mf->file->bytes().size();
  const uint64_t used = st.weight_bytes + st.kv_bytes + st.other_bytes;
  nlohmann::ordered_json j;
  j["device"] = info.device.empty() ? info.description : info.device;
  j["backend"] = info.backend;
  j["kernels"] = {{"matvec", s->matvec_kernel()}, {"attention", s->attention_kernel()}, {"prefill", s->prefill_kernel()},
                  {"embed", "llm_embed"}};
  j["prefill"] = {{"tokens", o.prompt}, {"wall_ms_median", median(pf_wall)}, {"gpu_ms_median", median(pf_gpu)},
                  {"tok_s_wall", o.prompt / median(pf_wall) * 1e3}, {"tok_s_gpu", o.prompt / median(pf_gpu) * 1e3}};
  j["decode"] = {{"tokens", o.decode}, {"tok_s_wall", o.decode / dc_total * 1e3}, {"wall_ms_median", wall_med},
                 {"gpu_ms_median", gpu_med}, {"dispatches_per_token", s->dispatches_per_token()},
                 {"gpu_us_per_dispatch", gpu_med * 1e3 / double(s->dispatches_per_token())},
                 {"bytes_read_per_token", bytes_tok}, {"gpu_read_GBps", bytes_tok / (gpu_med * 1e-3) / 1e9}};
  j["dispatch_floor"] = {{"dispatches", s->dispatches_per_token()}, {"gpu_ms_median", floor_med},
                         {"gpu_us_per_dispatch", floor_med * 1e3 / double(s->dispatches_per_token())},
                         {"share_of_decode_gpu_ms", floor_med / gpu_med}};
  j["memory"] = {{"weights", st.weight_bytes}, {"kv", st.kv_bytes}, {"other", st.other_bytes}, {"total", used},
                 {"model_file", file_bytes}, {"budget_1_5x_model_plus_kv", 1.5 * double(file_bytes) + double(st.kv_bytes)},
                 {"n_ctx", s->n_ctx()}};
  nlohmann::ordered_json kinds;
  fmt::print("decode GPU time per token by dispatch kind (one submit each, 16 tokens after 64):");
  for (size_t k = 0; k < 7; ++k) {
    kinds[llm::GpuStats::kind_names[k]] = (prof->stats().kind_ms[k] - base[k]) / n_prof;
    fmt::print(" {} {:.3f} ms;", llm::GpuStats::kind_names[k], (prof->stats().kind_ms[k] - base[k]) / n_prof);
  }
  fmt::print("\n");
  j["decode_profile_ms_per_token"] = kinds;
  fmt::print("device: {} ({})\n", j["device"].get<std::string>(), info.backend);
  fmt::print("prefill {} tokens: {:.2f} ms wall, {:.2f} ms GPU (median of {}): {:.0f} tok/s wall, {:.0f} tok/s GPU\n",
             o.prompt, median(pf_wall), median(pf_gpu), o.repeats, o.prompt / median(pf_wall) * 1e3,
             o.prompt / median(pf_gpu) * 1e3);
  fmt::print("decode {} tokens: {:.1f} tok/s wall; per token {:.3f} ms wall, {:.3f} ms GPU (medians), {} dispatches "
             "({:.2f} us GPU each)\n", o.decode, o.decode / dc_total * 1e3, wall_med, gpu_med,
             s->dispatches_per_token(), gpu_med * 1e3 / double(s->dispatches_per_token()));
  fmt::print("dispatch floor: {} empty dispatches in one submit take {:.3f} ms GPU ({:.2f} us each), {:.0f}% of a decode "
             "token's GPU time\n", s->dispatches_per_token(), floor_med, floor_med * 1e3 / double(s->dispatches_per_token()),
             100 * floor_med / gpu_med);
  fmt::print("kernels: matvec {}, attention {}, prefill {}\n", s->matvec_kernel(), s->attention_kernel(), s->prefill_kernel());
  fmt::print("decode reads {:.1f} MB per token (weights {:.1f} MB + KV): {:.0f} GB/s over GPU time\n", bytes_tok / 1e6,
             double(st.weight_bytes) / 1e6, bytes_tok / (gpu_med * 1e-3) / 1e9);
  fmt::print("GPU memory: {:.1f} MB (weights {:.1f}, KV {:.1f} at n_ctx {}, other {:.1f}); 1.5x model + KV = {:.1f} MB\n",
             used / 1e6, st.weight_bytes / 1e6, st.kv_bytes / 1e6, s->n_ctx(), st.other_bytes / 1e6,
             (1.5 * double(file_bytes) + double(st.kv_bytes)) / 1e6);
  if (!o.json_out.empty()) {
    std::string text = j.dump(2) + "\n";
    must(os::publish(o.json_out, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  }
}

void setup(CLI::App& root) {
  auto* llm = root.get_subcommand("llm");
  auto* b = llm->add_subcommand("bench", "GPU forward-pass figures: prefill and decode tok/s, dispatches, bytes, memory");
  static Opts o;
  b->add_option("model", o.model, "the .gguf file")->required();
  b->add_option("--prompt", o.prompt, "prefill batch (tokens)")->check(at_least("--prompt", true));
  b->add_option("--decode", o.decode, "greedy tokens decoded one at a time")->check(at_least("--decode", true));
  b->add_option("--ctx", o.n_ctx, "context length (sizes the KV cache)")->check(at_least("--ctx", true));
  b->add_option("--repeats", o.repeats, "prefill repetitions (median)")->check(at_least("--repeats", true));
  b->add_option("--json", o.json_out, "also write the figures as JSON to FILE");
  b->callback([] { bench(o); });
}

const Register reg(88, {"llm"}, setup);  // after cmd_llm.cpp (85), which creates `llm`

}  // namespace
}  // namespace pxos::cli
