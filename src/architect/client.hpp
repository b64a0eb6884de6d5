// client.hpp: an OpenAI-compatible chat-completions client over libcurl (LM Studio,
// llama.cpp's server, vLLM ...). Streaming (server-sent events) or not; a JSON-schema
// response_format; timeouts; retries with back-off on connection errors and 5xx.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pxos::architect {

struct ClientConfig {
  std::string endpoint = "http://localhost:1234/v1";  // base URL; "/chat/completions" is appended
  std::string model;
  std::string api_key;          // sent as a Bearer token when non-empty (never logged)
  int connect_timeout_ms = 5000;
  int timeout_s = 300;          // whole request
  int max_attempts = 4;         // connection errors and 5xx are retried
  int backoff_base_ms = 500;
  int backoff_max_ms = 8000;
  bool stream = true;
  double temperature = 0.2;
  int max_tokens = 4096;
};

struct ChatReply {
  std::string content;
  std::string finish_reason;
  int attempts = 0;
  long http_status = 0;
  double seconds = 0;
};

// Incremental parser of a text/event-stream body: feed() bytes as they come; each complete
// "data:" event is handed on. Lines over 1 MiB are an error (a stuck or hostile server).
class SseParser {
 public:
  using OnData = std::function<void(std::string_view data)>;
  explicit SseParser(OnData on) : on_(std::move(on)) {}
  Status feed(std::string_view bytes);
  Status finish();  // end of body: flushes a last event not followed by a blank line
 private:
  void line(std::string_view l);
  OnData on_;
  std::string buf_, data_;
  bool have_data_ = false;
};

// Streaming chunks -> content: appends choices[0].delta.content; records finish_reason and
// [DONE]. Returns an error for a chunk that is not JSON or carries {"error": ...}.
struct StreamAssembler {
  std::string content, finish_reason;
  bool done = false;
  Status chunk(std::string_view data);
};

// Why a chat request failed, for the caller to act on (never its message text): the agent drops
// response_format after Rejected and stops at once on NoServer.
enum class ChatFailure : uint8_t {
  Other,     // timeouts, 5xx after the last retry, malformed replies, cut streams ...
  NoServer,  // connection refused on every try: nothing listens at the endpoint
  Rejected,  // HTTP 400: the server refused the request itself (often its response_format)
};

struct ChatError {
  Error err;
  ChatFailure kind = ChatFailure::Other;
  ChatError(Error e, ChatFailure k = ChatFailure::Other) : err(std::move(e)), kind(k) {}  // NOLINT: implicit
};

class Client {
 public:
  explicit Client(ClientConfig c) : cfg_(std::move(c)) {}
  const ClientConfig& config() const { return cfg_; }
  // SCHEMA null: no response_format. ON_DELTA gets streamed text as it arrives (may be null).
  // ON_ATTEMPT is told about each failed try (for the log and the console).
  std::expected<ChatReply, ChatError> chat(const nlohmann::json& messages, const nlohmann::json* schema,
                         const std::function<void(std::string_view)>& on_delta,
                         const std::function<void(const std::string&)>& on_retry = nullptr) const;
  std::string url() const;

 private:
  ClientConfig cfg_;
};

}  // namespace pxos::architect
