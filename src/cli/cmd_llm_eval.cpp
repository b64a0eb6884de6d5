// cmd_llm_eval.cpp: `pxos llm eval MODEL --ids 1,2,3`: the CPU reference (or, --backend gpu, the
// WGSL forward pass) on token ids (no tokenizer needed): the top next tokens, greedy ids with
// --generate, raw logits for comparisons.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <chrono>
#include <cstring>

#include "cli/command.hpp"
#include "common/os.hpp"
#include "common/printable.hpp"
#include "cli/llm_cli.hpp"
#include "llm/forward_cpu.hpp"
#include "llm/forward_gpu.hpp"

namespace pxos::cli {
namespace {

struct Opts {
  std::string model, ids, logits_out, act_quant = "none", store, backend = "cpu";
  uint32_t top = 5, generate = 0, threads = 1, n_ctx = 0;
  bool stats = false, kv_f16 = false;
};

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    int32_t v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + j, v);
    if (ec != std::errc() || p != s.data() + j || v < 0)
      throw Failure({Errc::Usage, fmt::format("--ids: '{}' at character {} is not a token id", s.substr(i, j - i), i)});
    out.push_back(v);
    i = j + 1;
  }
  return out;
}

void eval(const Opts& o) {
  auto ids = parse_ids(o.ids);
  auto L = llmcli::load(o.model, o.store);
  const llm::Model& m = L.sm->model;
  // Both backends have the same eval/eval_all contract; the CPU one is the default because this
  // command is the reference the GPU path is checked against.
  std::unique_ptr<llm::Session> cpu;
  std::unique_ptr<llm::GpuSession> gpu;
  if (o.backend == "gpu") gpu = must(llm::GpuSession::create(m, {.n_ctx = o.n_ctx, .timed = o.stats}));
  else cpu = std::make_unique<llm::Session>(m, llm::SessionOptions{.threads = o.threads, .n_ctx = o.n_ctx,
      .act_quant = o.act_quant == "q8_1" ? llm::ActQuant::Ggml : llm::ActQuant::F32, .kv_f16 = o.kv_f16});
  struct Backend {
    llm::Session* c;
    llm::GpuSession* g;
    Result<std::span<const float>> eval(std::span<const int32_t> t) { return c ? c->eval(t) : g->eval(t); }
    Result<std::vector<float>> eval_all(std::span<const int32_t> t) { return c ? c->eval_all(t) : g->eval_all(t); }
  } s{cpu.get(), gpu.get()};
  const bool keep_all = !o.logits_out.empty();
  std::vector<float> all;
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  std::vector<float> last;
  if (keep_all) {
    all = must(s.eval_all(ids));
    last.assign(all.end() - m.hp.n_vocab, all.end());
  } else {
    auto l = must(s.eval(ids));
    last.assign(l.begin(), l.end());
  }
  auto t1 = clock::now();
  auto text = [&](int32_t id) {
    return size_t(id) < m.vocab.size() ? printable(m.vocab[size_t(id)]) : std::string("?");
  };
  std::vector<int32_t> order(last.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
  const size_t k = std::min<size_t>(o.top, order.size());
  std::partial_sort(order.begin(), order.begin() + ptrdiff_t(k), order.end(), [&](int32_t a, int32_t b) {
    return last[size_t(a)] != last[size_t(b)] ? last[size_t(a)] > last[size_t(b)] : a < b;
  });
  fmt::print("prompt: {} tokens, next after position {}:\n", ids.size(), ids.size() - 1);
  for (size_t i = 0; i < k; ++i)
    fmt::print("  top {} id {} logit {:.6f} {}\n", i + 1, order[i], last[size_t(order[i])], text(order[i]));
  std::vector<int32_t> gen;
  llm::Sampler greedy({});
  std::vector<int32_t> history = ids;
  std::span<const float> cur(last);
  for (uint32_t i = 0; i < o.generate; ++i) {
    const int32_t t = greedy.sample(cur, history);
    gen.push_back(t);
    history.push_back(t);
    if (i + 1 == o.generate) break;
    auto l = s.eval(std::span<const int32_t>(&gen.back(), 1));
    if (!l) {
      if (l.error().code != Errc::ContextFull) throw Failure(std::move(l.error()));
      fmt::print("context full after {} generated tokens\n", gen.size());
      break;
    }
    cur = *l;
    if (keep_all) all.insert(all.end(), cur.begin(), cur.end());
  }
  auto t2 = clock::now();
  if (o.generate) {
    fmt::print("generated: {}\n", fmt::join(gen, ","));
    std::string joined;
    for (int32_t t : gen) joined += size_t(t) < m.vocab.size() ? m.vocab[size_t(t)] : "?";
    fmt::print("generated text (vocab strings): {}\n", printable(joined));
  }
  if (o.stats) {
    double pf = std::chrono::duration<double>(t1 - t0).count(), dc = std::chrono::duration<double>(t2 - t1).count();
    size_t decoded = gen.empty() ? 0 : gen.size() - 1;  // the first generated token came with the prompt
    if (gpu)
      fmt::print("stats: backend gpu dispatches/token {} submits {} dispatches {} gpu_ms {:.3f} weights {} B kv {} B other {} B\n",
                 gpu->dispatches_per_token(), gpu->stats().submits, gpu->stats().dispatches, gpu->stats().gpu_ms,
                 gpu->stats().weight_bytes, gpu->stats().kv_bytes, gpu->stats().other_bytes);
    fmt::print("stats: threads {} prefill {} tokens {:.3f} s ({:.2f} tok/s) decode {} tokens {:.3f} s ({:.2f} tok/s)\n",
               cpu ? cpu->threads() : 0u, ids.size(), pf, double(ids.size()) / pf, decoded, dc, decoded ? double(decoded) / dc : 0.0);
  }
  if (keep_all) {
    // Little-endian f32, one row of n_vocab per evaluated position (prompt, then generated).
    Bytes b(all.size() * 4);
    std::memcpy(b.data(), all.data(), b.size());
    must(os::publish(o.logits_out, b));
  }
}

void setup(CLI::App& root) {
  auto* llm = root.get_subcommand("llm");
  auto* e = llm->add_subcommand("eval", "the forward pass on token ids (CPU reference or --backend gpu): top next tokens, --generate N greedy ids");
  static Opts o;
  e->add_option("model", o.model, "a .gguf, a .pxa from `llm pack`, or a god key to one")->required();
  e->add_option("--ids", o.ids, "comma-separated token ids (the prompt)")->required();
  e->add_option("--top", o.top, "how many next tokens to list")->check(at_least("--top"));
  e->add_option("--generate", o.generate, "greedy-decode N tokens")->check(at_least("--generate"));
  e->add_option("--threads", o.threads, "CPU threads (the logits do not depend on it)")->check(at_least("--threads", true));
  e->add_option("--ctx", o.n_ctx, "context length (default: the model's)")->check(at_least("--ctx"));
  e->add_option("--logits", o.logits_out, "write every position's logits (f32 little-endian rows) to FILE");
  e->add_flag("--stats", o.stats, "print prefill and decode tok/s (gpu: dispatches, GPU time, memory)");
  e->add_option("--act-quant", o.act_quant, "none | q8_1: quantize matvec inputs as ggml's CPU backend does (cpu backend)")
      ->check(llmcli::act_quant_check());
  e->add_flag("--kv-f16", o.kv_f16, "an f16 KV cache with f16 attention inputs, as llama.cpp's default (cpu backend)");
  e->add_option("--store", o.store, "the god-pixel store for key images");
  e->add_option("--backend", o.backend, "cpu (the reference, default) or gpu (WGSL through Dawn)")
      ->check(CLI::IsMember({"cpu", "gpu"}));
  e->callback([] { eval(o); });
}

const Register reg(86, {"llm"}, setup);  // after cmd_llm.cpp (85), which creates `llm`

}  // namespace
}  // namespace pxos::cli
