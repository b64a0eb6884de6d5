// llm_cli.hpp: what the llm commands share: the model loader with its progress bar (on a tty
// only), the engine flags (threads, context, ggml numerics) and the sampling flags.
#pragma once
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "common/progress.hpp"
#include "llm/forward_cpu.hpp"
#include "llm/forward_gpu.hpp"
#include "llm/sampler.hpp"
#include "llm/source.hpp"
#include "llm/tokenizer.hpp"

namespace pxos::cli::llmcli {

// The bar is common/progress.hpp's: on a terminal only, nothing for small work.
using ProgressBar = pxos::ProgressBar;

// The engine flags every generating command takes.
struct EngineFlags {
  unsigned threads = 0;  // 0: the hardware's, at most 8
  uint32_t n_ctx = 0;
  std::string act_quant = "none";  // none | q8_1 (ggml's activation quantization)
  bool kv_f16 = false;
  std::string store;  // god key lookups
  std::string backend = "cpu";  // cpu (the reference) | gpu (WGSL through Dawn, forward_gpu.hpp)
  void add(CLI::App* c);
  llm::SessionOptions session() const;
};

// The forward pass a generating command runs on: the CPU reference or the GPU session, behind
// the one LogitsSource contract, plus what chat needs (context size, rewind, reset).
struct Engine {
  std::unique_ptr<llm::Session> cpu;
  std::unique_ptr<llm::GpuSession> gpu;
  llm::LogitsSource& source();
  uint32_t n_ctx() const;
  void rewind(uint32_t n);
  void reset() { rewind(0); }
  std::string describe() const;  // "cpu, 2 threads" / "gpu"
};
Engine make_engine(const llm::Model& m, const EngineFlags& f);

struct SamplingFlags {
  llm::SamplerOptions s{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.0f,
                        .repeat_last_n = 64, .seed = 0};
  uint32_t max_tokens = 256;
  std::vector<std::string> stops;
  void add(CLI::App* c);
  // One Usage line naming the first bad option (negative temperature, an empty --stop, ...).
  void check(std::string_view cmd) const;
};

// --act-quant's values, as one line (CLI11's own message takes two).
CLI::Validator act_quant_check();

// A model (any source form), its tokenizer, and what it was loaded from.
struct Loaded {
  std::unique_ptr<llm::SourceModel> sm;
  std::unique_ptr<llm::Tokenizer> tok;
  double load_seconds = 0;
};
Loaded load(const std::string& path, const std::string& store);

}  // namespace pxos::cli::llmcli
