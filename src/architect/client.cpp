// client.cpp: libcurl easy handle per try; the body is streamed through SseParser when
// "stream" is on; connection errors, a stream cut short and 5xx are retried with back-off.
// libcurl (and its TLS, Kerberos, LDAP... dependencies) is opened on the first request only.
#include "architect/client.hpp"

#define CURL_DISABLE_TYPECHECK  // setopt/getinfo are called through the table, not the macros
#include <curl/curl.h>

#include <chrono>
#include <thread>

#include "architect/config.hpp"
#include "common/dynlib.hpp"

namespace pxos::architect {
using nlohmann::json;

namespace {
constexpr size_t kMaxSseLine = 1u << 20;

// The libcurl functions the client calls, typed by <curl/curl.h>.
struct Curl {
  decltype(&::curl_global_init) curl_global_init;
  decltype(&::curl_easy_init) curl_easy_init;
  decltype(&::curl_easy_setopt) curl_easy_setopt;
  decltype(&::curl_easy_perform) curl_easy_perform;
  decltype(&::curl_easy_getinfo) curl_easy_getinfo;
  decltype(&::curl_easy_cleanup) curl_easy_cleanup;
  decltype(&::curl_easy_strerror) curl_easy_strerror;
  decltype(&::curl_slist_append) curl_slist_append;
  decltype(&::curl_slist_free_all) curl_slist_free_all;
};

Result<Curl> bind_curl() {
  auto lib = os::open_library({"libcurl.so.4"}, "the architect's HTTP client (libcurl)",
                              Errc::ArchitectError);
  if (!lib) return std::unexpected(lib.error());
  Curl c{};
  PXOS_DYNLIB_BIND(**lib, c, curl_global_init);
  PXOS_DYNLIB_BIND(**lib, c, curl_easy_init);
  PXOS_DYNLIB_BIND(**lib, c, curl_easy_setopt);
  PXOS_DYNLIB_BIND(**lib, c, curl_easy_perform);
  PXOS_DYNLIB_BIND(**lib, c, curl_easy_getinfo);
  PXOS_DYNLIB_BIND(**lib, c, curl_easy_cleanup);
  PXOS_DYNLIB_BIND(**lib, c, curl_easy_strerror);
  PXOS_DYNLIB_BIND(**lib, c, curl_slist_append);
  PXOS_DYNLIB_BIND(**lib, c, curl_slist_free_all);
  // Once per process, before any handle (libcurl's rule); never cleaned up, since handles of other
  // threads may outlive any one Client.
  if (CURLcode rc = c.curl_global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
    return failf(Errc::ArchitectError, "libcurl: curl_global_init failed ({})", int(rc));
  return c;
}

Result<const Curl*> curl() {
  static const Result<Curl> c = bind_curl();
  if (!c) return std::unexpected(c.error());
  return &*c;
}

struct Transfer {
  const ClientConfig* cfg;
  const std::function<void(std::string_view)>* on_delta;
  bool streaming = false;
  long status = 0;
  std::string body;  // non-streaming body, or an error body
  SseParser* sse = nullptr;
  StreamAssembler* asmb = nullptr;
  Status error;      // a parse error inside the stream
  bool too_big = false;
};

size_t on_write(char* p, size_t, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  if (t->body.size() + n > tun::kMaxReplyBytes) { t->too_big = true; return 0; }
  if (t->sse && t->status == 200) {
    size_t before = t->asmb->content.size();
    if (auto s = t->sse->feed(std::string_view(p, n)); !s) { t->error = s; return 0; }
    if (!t->error) return 0;
    if (*t->on_delta && t->asmb->content.size() > before)
      (*t->on_delta)(std::string_view(t->asmb->content).substr(before));
    if (t->asmb->content.size() > tun::kMaxReplyBytes) { t->too_big = true; return 0; }
    return n;
  }
  t->body.append(p, n);
  return n;
}

bool retryable(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string snippet(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.contains("error")) {
      auto& e = j["error"];
      return e.is_object() ? e.value("message", e.dump()) : e.dump();
    }
  } catch (...) {
  }
  std::string s = body.substr(0, 300);
  for (char& c : s) if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}
}  // namespace

Status SseParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\n') {
      std::string_view l = buf_;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      line(l);
      buf_.clear();
    } else {
      buf_ += c;
      if (buf_.size() > kMaxSseLine) return fail(Errc::ArchitectError, "server sent an event line over 1 MiB");
    }
  }
  return {};
}

Status SseParser::finish() {
  if (!buf_.empty()) { line(buf_); buf_.clear(); }
  line("");
  return {};
}

void SseParser::line(std::string_view l) {
  if (l.empty()) {  // blank line: dispatch the event
    if (have_data_) on_(data_);
    data_.clear();
    have_data_ = false;
    return;
  }
  if (l.front() == ':') return;  // comment / keep-alive
  if (l.starts_with("data:")) {
    l.remove_prefix(5);
    if (!l.empty() && l.front() == ' ') l.remove_prefix(1);
    if (have_data_) data_ += '\n';
    data_ += l;
    have_data_ = true;
  }
  // event:, id:, retry: are not used by chat completions
}

Status StreamAssembler::chunk(std::string_view data) {
  if (data == "[DONE]") { done = true; return {}; }
  json j;
  try {
    j = json::parse(data);
  } catch (const json::exception&) {
    return failf(Errc::ArchitectError, "stream chunk is not JSON: {}", std::string(data.substr(0, 120)));
  }
  if (!j.is_object()) return fail(Errc::ArchitectError, "stream chunk is not an object");
  if (j.contains("error")) return failf(Errc::ArchitectError, "server error in stream: {}", snippet(std::string(data)));
  auto ch = j.find("choices");
  if (ch == j.end() || !ch->is_array() || ch->empty()) return {};  // usage-only chunks
  auto& c0 = (*ch)[0];
  if (!c0.is_object()) return {};
  if (auto d = c0.find("delta"); d != c0.end() && d->is_object()) {
    if (auto t = d->find("content"); t != d->end() && t->is_string()) content += t->get<std::string>();
  }
  if (auto f = c0.find("finish_reason"); f != c0.end() && f->is_string()) finish_reason = f->get<std::string>();
  return {};
}

std::string Client::url() const {
  std::string u = cfg_.endpoint;
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (!u.ends_with("/chat/completions")) u += "/chat/completions";
  return u;
}

std::expected<ChatReply, ChatError> Client::chat(const json& messages, const json* schema,
                               const std::function<void(std::string_view)>& on_delta,
                               const std::function<void(const std::string&)>& on_retry) const {
  auto lib = curl();
  if (!lib) return std::unexpected(ChatError{lib.error()});
  const Curl& cu = **lib;
  json req{{"model", cfg_.model}, {"messages", messages}, {"temperature", cfg_.temperature},
           {"max_tokens", cfg_.max_tokens}, {"stream", cfg_.stream}};
  if (schema)
    req["response_format"] = {{"type", "json_schema"},
                              {"json_schema", {{"name", "pxos_action"}, {"strict", true}, {"schema", *schema}}}};
  const std::string body = req.dump();
  const std::string u = url();
  auto t0 = std::chrono::steady_clock::now();
  Error last{Errc::ArchitectError, "no attempt made"};

  for (int attempt = 1; attempt <= std::max(1, cfg_.max_attempts); ++attempt) {
    if (attempt > 1) {
      int ms = std::min(cfg_.backoff_max_ms, cfg_.backoff_base_ms << std::min(attempt - 2, 16));
      if (on_retry) on_retry(fmt::format("try {} failed: {}; retrying in {} ms", attempt - 1, last.detail, ms));
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    CURL* h = cu.curl_easy_init();
    if (!h) return fail(Errc::Internal, "curl_easy_init failed");
    StreamAssembler asmb;
    Transfer t{&cfg_, &on_delta};
    t.asmb = &asmb;
    t.error = {};
    // A bad chunk is recorded (never thrown through libcurl) and stops the transfer.
    SseParser guarded([&](std::string_view d) {
      if (!t.error) return;
      if (auto s = asmb.chunk(d); !s) t.error = s;
    });
    if (cfg_.stream) t.sse = &guarded;
    struct curl_slist* hdrs = nullptr;
    hdrs = cu.curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = cu.curl_slist_append(hdrs, cfg_.stream ? "Accept: text/event-stream" : "Accept: application/json");
    hdrs = cu.curl_slist_append(hdrs, "Expect:");  // no 100-continue round trip
    std::string auth;
    if (!cfg_.api_key.empty()) {
      auth = "Authorization: Bearer " + cfg_.api_key;
      hdrs = cu.curl_slist_append(hdrs, auth.c_str());
    }
    cu.curl_easy_setopt(h, CURLOPT_URL, u.c_str());
    cu.curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    cu.curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    cu.curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    cu.curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.connect_timeout_ms));
    cu.curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_s) * 1000L);
    cu.curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cu.curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could carry the key elsewhere
    cu.curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    cu.curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    // The status is known before the body: libcurl calls the header callback first.
    cu.curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, +[](char* p, size_t, size_t n, void* ud) -> size_t {
      auto* t = static_cast<Transfer*>(ud);
      std::string_view l(p, n);
      if (l.starts_with("HTTP/")) {
        auto sp = l.find(' ');
        if (sp != std::string_view::npos) t->status = std::strtol(std::string(l.substr(sp + 1, 3)).c_str(), nullptr, 10);
      }
      return n;
    });
    cu.curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    CURLcode rc = cu.curl_easy_perform(h);
    long status = 0;
    cu.curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    cu.curl_easy_cleanup(h);
    cu.curl_slist_free_all(hdrs);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    if (t.too_big) return failf(Errc::ArchitectError, "reply over {} bytes: refused", tun::kMaxReplyBytes);
    if (!t.error) return std::unexpected(ChatError{t.error.error()});
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return failf(Errc::ArchitectError, "no complete reply from {} within {} s (--timeout)", u, cfg_.timeout_s);
    if (rc == CURLE_COULDNT_CONNECT && attempt == std::max(1, cfg_.max_attempts))
      return std::unexpected(ChatError{
          Error{Errc::ArchitectError,
                fmt::format("no server is listening at {} (connection refused after {} tries); start LM Studio's or "
                            "llama.cpp's server there, or pass --endpoint", cfg_.endpoint, attempt)},
          ChatFailure::NoServer});
    if (rc != CURLE_OK) {
      last = Error{Errc::ArchitectError, fmt::format("{} ({})", cu.curl_easy_strerror(rc), u)};
      if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR) last.detail = "the server closed the connection mid-reply";
      if (retryable(rc)) continue;
      return std::unexpected(ChatError{last});
    }
    if (status >= 500 || status == 429 || status == 408) {
      last = Error{Errc::ArchitectError, fmt::format("HTTP {}: {}", status, snippet(t.body))};
      continue;
    }
    if (status != 200)
      return std::unexpected(ChatError{
          Error{Errc::ArchitectError, fmt::format("HTTP {} from {}: {}", status, u, snippet(t.body))},
          status == 400 ? ChatFailure::Rejected : ChatFailure::Other});

    ChatReply r;
    r.attempts = attempt;
    r.http_status = status;
    r.seconds = secs;
    if (cfg_.stream) {
      (void)guarded.finish();
      if (!t.error) return std::unexpected(ChatError{t.error.error()});
      if (!asmb.done && asmb.finish_reason.empty()) {
        last = Error{Errc::ArchitectError, "the stream ended before the reply was complete (no finish_reason, no [DONE])"};
        continue;
      }
      r.content = asmb.content;
      r.finish_reason = asmb.finish_reason;
    } else {
      json j;
      try {
        j = json::parse(t.body);
        r.content = j.at("choices").at(0).at("message").at("content").get<std::string>();
        if (auto& f = j["choices"][0]["finish_reason"]; f.is_string()) r.finish_reason = f.get<std::string>();
      } catch (const json::exception& e) {
        return failf(Errc::ArchitectError, "malformed chat-completions reply: {}", snippet(t.body));
      }
    }
    if (r.finish_reason == "length")
      return fail(Errc::ArchitectError, "the reply was cut at max_tokens (finish_reason length)");
    return r;
  }
  return failf(Errc::ArchitectError, "giving up after {} tries: {}", std::max(1, cfg_.max_attempts), last.detail);
}

}  // namespace pxos::architect
