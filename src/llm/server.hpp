// server.hpp: the OpenAI-compatible chat server of `pxos llm serve`, independent of the HTTP
// library: request parsing and validation, OpenAI-shaped replies and errors, a pool of model
// sessions (one request per session at a time), constrained generation, streaming, cancellation.
#pragma once
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "llm/forward_cpu.hpp"
#include "llm/httpd.hpp"
#include "llm/model.hpp"
#include "llm/sampler.hpp"
#include "llm/schema.hpp"
#include "llm/tokenizer.hpp"

namespace pxos::llm {

namespace serve_tun {
inline constexpr size_t kMaxBody = 4u << 20;          // request bodies over 4 MiB: 413
inline constexpr size_t kMaxMessages = 1024;          // messages in one request
inline constexpr size_t kMaxStops = 4;                // stop strings (OpenAI's limit)
inline constexpr uint32_t kDefaultCtx = 2048;         // --ctx default: KV cache per session ~94 MB for SmolLM2
inline constexpr unsigned kProbeEvery = 8;            // non-streamed replies: probe the client every N tokens
inline constexpr uint32_t kCloseMargin = 48;          // tokens left when a schema reply starts closing (set_closing)
}  // namespace serve_tun

struct ServeOptions {
  std::string model_path, model_id;  // id: what /v1/models lists and "model" must name ("" accepted too)
  uint32_t n_ctx = serve_tun::kDefaultCtx;
  unsigned parallel = 1;             // sessions: requests generating at once (others wait in line)
  unsigned threads = 1;              // CPU threads per session
  uint32_t max_tokens_cap = 0;       // --max-tokens: a ceiling on every request's max_tokens (0: none)
};

struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error", message, param, code;
  nlohmann::json to_json() const;
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  bool stream = false, include_usage = false;
  uint32_t max_tokens = 0;  // 0: until the context is full
  SamplerOptions sampling{.temperature = 1.0f};
  bool seeded = false;
  std::vector<std::string> stop;
  enum class Format { Text, JsonObject, JsonSchema } format = Format::Text;
  nlohmann::json schema;
};

// Parses and checks a /v1/chat/completions body. Unknown fields are ignored, as OpenAI's API
// does; a known field of the wrong type or range is a 400 naming it in `param`.
std::expected<ChatRequest, ApiError> parse_chat_request(std::string_view body);

class ChatServer {
 public:
  explicit ChatServer(ServeOptions o);
  ~ChatServer();
  // Reads the model; until it returns, requests get 503 (and /health says "loading").
  Status load();
  void handle(const HttpRequest& req, HttpResponse& res);
  const ServeOptions& options() const { return o_; }
  // Requests stopped because their client went away (for tests and the log).
  uint64_t cancelled() const { return cancelled_.load(); }

 private:
  struct Lease;
  struct Outcome {
    std::string text;
    uint32_t completion_tokens = 0;
    std::string finish_reason = "length";
    bool client_gone = false;
    std::optional<Error> error;
  };
  void chat(const HttpRequest& req, HttpResponse& res);
  void error(HttpResponse& res, const ApiError& e) const;
  // Generates for PROMPT; ON_TEXT gets each safe-to-send piece (false: the client is gone);
  // PROBE (may be null) is called every few tokens and false also stops.
  Outcome generate(Session& s, const ChatRequest& r, std::span<const int32_t> prompt,
                   std::shared_ptr<const Grammar> grammar, const std::function<bool(std::string_view)>& on_text,
                   const std::function<bool()>& probe);

  ServeOptions o_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<ModelFile> mf_;
  std::optional<Tokenizer> tok_;
  std::shared_ptr<const TokenTrie> trie_;
  std::vector<int32_t> end_ids_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<bool> busy_;
  std::atomic<uint64_t> counter_{0}, cancelled_{0};
};

}  // namespace pxos::llm
