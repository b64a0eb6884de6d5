// peer_llm: the independent llama.cpp peer of bench/llm/peer.sh. Reads prompts as comma-separated
// token ids (one per line, tokenized by pxos so both engines see the same ids) and prints llama.cpp's
// greedy continuation with each step's top-2 logits, or times prefill and decode for the benchmark.
#include "llama.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);  // only errors; the rest is noise here
}

std::vector<llama_token> parse_ids(const std::string& line) {
  std::vector<llama_token> ids;
  std::stringstream ss(line);
  std::string item;
  while (std::getline(ss, item, ',')) ids.push_back(static_cast<llama_token>(std::stol(item)));
  return ids;
}

llama_context* new_context(llama_model* model, int threads) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 2048;
  cp.n_batch = 512;
  cp.n_ubatch = 512;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (ctx == nullptr) {
    std::fprintf(stderr, "peer_llm: cannot create a context\n");
    std::exit(1);
  }
  return ctx;
}

void decode_or_die(llama_context* ctx, std::vector<llama_token>& toks) {
  if (llama_decode(ctx, llama_batch_get_one(toks.data(), static_cast<int32_t>(toks.size()))) != 0) {
    std::fprintf(stderr, "peer_llm: llama_decode failed\n");
    std::exit(1);
  }
}

// Greedy: "gen <ids>" lines of the generated ids, then one "top <id1> <logit1> <id2> <logit2>" per step.
void greedy(llama_model* model, int threads, int n_gen) {
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    llama_context* ctx = new_context(model, threads);
    std::vector<llama_token> toks = parse_ids(line);
    std::vector<llama_token> gen;
    std::ostringstream tops;
    // PEER_PREFILL_ONE=1: the prompt one token per llama_decode, as decode steps are (to tell the
    // batched prefill's numerics from the one-token path's).
    if (std::getenv("PEER_PREFILL_ONE") && toks.size() > 1) {
      for (size_t i = 0; i + 1 < toks.size(); ++i) {
        std::vector<llama_token> one(1, toks[i]);
        decode_or_die(ctx, one);
      }
      toks.erase(toks.begin(), toks.end() - 1);
    }
    for (int step = 0; step < n_gen; ++step) {
      decode_or_die(ctx, toks);
      const float* logits = llama_get_logits_ith(ctx, -1);
      int a = 0, b = 1;
      if (logits[b] > logits[a]) std::swap(a, b);
      for (int i = 2; i < n_vocab; ++i) {
        if (logits[i] > logits[a]) { b = a; a = i; }
        else if (logits[i] > logits[b]) b = i;
      }
      tops << "top " << a << ' ' << logits[a] << ' ' << b << ' ' << logits[b] << '\n';
      gen.push_back(a);
      toks.assign(1, a);
    }
    std::cout << "gen";
    for (size_t i = 0; i < gen.size(); ++i) std::cout << (i ? ',' : ' ') << gen[i];
    std::cout << '\n' << tops.str() << std::flush;
    llama_free(ctx);
  }
}

// Bench: prefill the prompt in one batch, then decode n_gen tokens one at a time (greedy).
void bench(llama_model* model, int threads, int n_gen) {
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::string line;
  std::getline(std::cin, line);
  std::vector<llama_token> prompt = parse_ids(line);
  llama_context* ctx = new_context(model, threads);
  using clk = std::chrono::steady_clock;
  auto t0 = clk::now();
  std::vector<llama_token> toks = prompt;
  decode_or_die(ctx, toks);
  auto t1 = clk::now();
  for (int step = 0; step < n_gen; ++step) {
    const float* logits = llama_get_logits_ith(ctx, -1);
    toks.assign(1, static_cast<llama_token>(std::max_element(logits, logits + n_vocab) - logits));
    decode_or_die(ctx, toks);
  }
  auto t2 = clk::now();
  const double p = std::chrono::duration<double>(t1 - t0).count();
  const double d = std::chrono::duration<double>(t2 - t1).count();
  std::printf("peer: prefill %zu tokens %.4f s (%.2f tok/s), decode %d tokens %.4f s (%.2f tok/s)\n",
              prompt.size(), p, prompt.size() / p, n_gen, d, n_gen / d);
  llama_free(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || (std::strcmp(argv[1], "greedy") != 0 && std::strcmp(argv[1], "bench") != 0)) {
    std::fprintf(stderr, "usage: peer_llm greedy|bench MODEL THREADS N_GEN < ids\n");
    return 2;
  }
  llama_log_set(quiet_log, nullptr);
  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[2], mp);
  if (model == nullptr) {
    std::fprintf(stderr, "peer_llm: cannot load %s\n", argv[2]);
    return 1;
  }
  const int threads = std::atoi(argv[3]);
  const int n_gen = std::atoi(argv[4]);
  if (std::strcmp(argv[1], "greedy") == 0) greedy(model, threads, n_gen);
  else bench(model, threads, n_gen);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
