// llm_cli.cpp: the llm commands' shared loader, progress bar and engine/sampling flags.
#include "cli/llm_cli.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace pxos::cli::llmcli {

CLI::Validator act_quant_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v != "none" && v != "q8_1")
          throw Failure(Error{Errc::Usage, fmt::format("--act-quant {}: must be none or q8_1", v)});
        return {};
      },
      "none|q8_1");
}

void EngineFlags::add(CLI::App* c) {
  c->add_option("--threads", threads, "CPU threads (default: the machine's, at most 8; the logits do not depend on it)")
      ->check(at_least("--threads", true));
  c->add_option("--ctx", n_ctx, "context length (default: the model's metadata)")->check(at_least("--ctx", true));
  c->add_option("--act-quant", act_quant,
                "none: fp32 activations; q8_1: quantize each matvec's input as ggml's CPU backend does "
                "(Q4_1 weights: Q8_1, Q8_0: Q8_0)")
      ->check(act_quant_check());
  c->add_flag("--kv-f16", kv_f16, "an f16 KV cache with f16 attention inputs, as llama.cpp's default");
  c->add_option("--store", store, "the god-pixel store for key images (default: PXOS_STORE or the user's)");
  c->add_option("--backend", backend, "cpu (the reference, default) or gpu (WGSL through Dawn)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v != "cpu" && v != "gpu") throw Failure(Error{Errc::Usage, fmt::format("--backend {}: must be cpu or gpu", v)});
            return {};
          },
          "cpu|gpu"));
}

llm::LogitsSource& Engine::source() {
  if (cpu) return *cpu;
  return *gpu;
}
uint32_t Engine::n_ctx() const { return cpu ? cpu->n_ctx() : gpu->n_ctx(); }
void Engine::rewind(uint32_t n) {
  if (cpu) cpu->rewind(n);
  else gpu->rewind(n);
}
std::string Engine::describe() const { return cpu ? fmt::format("cpu, {} threads", cpu->threads()) : std::string("gpu"); }

Engine make_engine(const llm::Model& m, const EngineFlags& f) {
  Engine e;
  if (f.backend == "gpu") {
    if (f.act_quant != "none" || f.kv_f16)
      throw Failure({Errc::Usage, "--act-quant and --kv-f16 are CPU-reference modes (--backend cpu)"});
    e.gpu = must(llm::GpuSession::create(m, {.n_ctx = f.n_ctx}));
  } else {
    e.cpu = std::make_unique<llm::Session>(m, f.session());
  }
  return e;
}

llm::SessionOptions EngineFlags::session() const {
  unsigned t = threads ? threads : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  return {.threads = t, .n_ctx = n_ctx, .act_quant = act_quant == "q8_1" ? llm::ActQuant::Ggml : llm::ActQuant::F32,
          .kv_f16 = kv_f16};
}

void SamplingFlags::add(CLI::App* c) {
  c->add_option("--temperature", s.temperature, "0: greedy (default 0.8)");
  c->add_option("--top-k", s.top_k, "keep the k likeliest tokens, 0: off (default 40)");
  c->add_option("--top-p", s.top_p, "nucleus: the smallest set reaching p, 1: off (default 0.95)");
  c->add_option("--min-p", s.min_p, "drop tokens under min-p times the likeliest, 0: off (default 0.05)");
  c->add_option("--repeat-penalty", s.repeat_penalty, "penalise the last --repeat-last-n tokens, 1: off (default 1)");
  c->add_option("--repeat-last-n", s.repeat_last_n, "how many recent tokens the penalty sees (default 64)");
  c->add_option("--seed", s.seed, "the sampler's seed: the same seed, the same tokens (default 0)");
  c->add_option("--max-tokens", max_tokens, "stop after N generated tokens (default 256)")->check(at_least("--max-tokens", true));
  c->add_option("--stop", stops, "stop before this text (repeatable)");
}

void SamplingFlags::check(std::string_view cmd) const {
  if (auto v = llm::validate(s); !v) throw Failure({Errc::Usage, fmt::format("{}: {}", cmd, v.error().detail)});
  for (auto& st : stops)
    if (st.empty()) throw Failure({Errc::Usage, fmt::format("{}: --stop: an empty stop string", cmd)});
}

Loaded load(const std::string& path, const std::string& store) {
  Loaded l;
  auto t0 = std::chrono::steady_clock::now();
  {
    ProgressBar bar;
    l.sm = must(llm::open_model_source(path, store, bar.feed()));
  }
  l.tok = std::make_unique<llm::Tokenizer>(must(llm::Tokenizer::from_gguf(l.sm->src.gguf, path)));
  l.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return l;
}

}  // namespace pxos::cli::llmcli
