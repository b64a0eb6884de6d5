// server.cpp: /v1/chat/completions, /v1/models and /health over the CPU reference sessions:
// parsing, OpenAI-shaped JSON (nlohmann), SSE framing, the session queue, the schema constraint
// and stop strings applied while sampling, and generation stopped when the client goes away.
#include "llm/server.hpp"

#include <chrono>
#include <cmath>
#include <ctime>
#include <random>

namespace pxos::llm {
using nlohmann::json;
namespace tun = serve_tun;

json ApiError::to_json() const {
  return json{{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
                         {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

namespace {

std::unexpected<ApiError> bad(std::string param, std::string message, std::string code = "invalid_value", int status = 400) {
  return std::unexpected(ApiError{status, "invalid_request_error", std::move(message), std::move(param), std::move(code)});
}
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Bytes of TEXT that can be sent now: whole UTF-8 characters, and nothing that may turn out to
// be the start of a stop string.
size_t sendable(const std::string& text, const std::vector<std::string>& stops) {
  size_t end = text.size();
  for (auto& st : stops)
    for (size_t k = std::min(st.size() - 1, text.size()); k > 0; --k)
      if (text.compare(text.size() - k, k, st, 0, k) == 0) { end = std::min(end, text.size() - k); break; }
  // Back off over an incomplete trailing UTF-8 sequence.
  size_t i = end, cont = 0;
  while (i > 0 && (uint8_t(text[i - 1]) & 0xC0) == 0x80 && cont < 3) --i, ++cont;
  if (i > 0) {
    auto b = uint8_t(text[i - 1]);
    size_t need = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
    if (need > cont) return i - 1;
  }
  return end;
}

}  // namespace

std::expected<ChatRequest, ApiError> parse_chat_request(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    // Where the parser stopped, for the message.
    try {
      (void)json::parse(body);
    } catch (const json::parse_error& e) {
      return bad("", fmt::format("the body is not valid JSON (byte {}): {}", e.byte, e.what()), "invalid_json");
    }
    return bad("", "the body is not valid JSON", "invalid_json");
  }
  if (!j.is_object()) return bad("", "the body must be a JSON object", "invalid_type");
  ChatRequest r;
  auto type_err = [](const std::string& p, const char* want) { return bad(p, fmt::format("'{}' must be {}", p, want), "invalid_type"); };
  if (auto m = j.find("model"); m != j.end() && !m->is_null()) {
    if (!m->is_string()) return type_err("model", "a string");
    r.model = m->get<std::string>();
  }
  auto msgs = j.find("messages");
  if (msgs == j.end()) return bad("messages", "'messages' is required", "missing_required_parameter");
  if (!msgs->is_array()) return type_err("messages", "an array");
  if (msgs->empty()) return bad("messages", "'messages' must not be empty", "empty_array");
  if (msgs->size() > tun::kMaxMessages) return bad("messages", fmt::format("more than {} messages", tun::kMaxMessages));
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string p = fmt::format("messages[{}]", i);
    if (!m.is_object()) return type_err(p, "an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return type_err(p + ".role", "a string");
    std::string ro = role->get<std::string>();
    if (ro == "developer") ro = "system";  // OpenAI's newer name for it
    if (ro != "system" && ro != "user" && ro != "assistant")
      return bad(p + ".role", fmt::format("role '{}' is not one of system, developer, user, assistant", ro));
    std::string content;
    auto c = m.find("content");
    if (c == m.end() || c->is_null()) {
      if (ro != "assistant") return bad(p + ".content", "'content' is required", "missing_required_parameter");
    } else if (c->is_string()) {
      content = c->get<std::string>();
    } else if (c->is_array()) {  // content parts: text only
      for (size_t k = 0; k < c->size(); ++k) {
        const json& part = (*c)[k];
        const std::string pp = fmt::format("{}.content[{}]", p, k);
        // json::value() throws when "type" holds a non-string, so each member's type is checked first.
        auto ty = part.is_object() ? part.find("type") : part.end();
        if (!part.is_object() || ty == part.end() || !ty->is_string() || *ty != "text" || !part.contains("text") ||
            !part["text"].is_string())
          return bad(pp, "only {\"type\": \"text\", \"text\": ...} content parts are supported", "unsupported_content");
        content += part["text"].get<std::string>();
      }
    } else {
      return type_err(p + ".content", "a string or an array of text parts");
    }
    if (utf8_invalid_at(content) != std::string::npos) return bad(p + ".content", "not valid UTF-8");
    r.messages.push_back({ro, std::move(content)});
  }
  if (auto s = j.find("stream"); s != j.end() && !s->is_null()) {
    if (!s->is_boolean()) return type_err("stream", "a boolean");
    r.stream = s->get<bool>();
  }
  if (auto so = j.find("stream_options"); so != j.end() && !so->is_null()) {
    if (!so->is_object()) return type_err("stream_options", "an object");
    if (auto u = so->find("include_usage"); u != so->end()) {
      if (!u->is_boolean()) return type_err("stream_options.include_usage", "a boolean");
      r.include_usage = u->get<bool>();
    }
  }
  for (auto key : {"max_tokens", "max_completion_tokens"}) {
    auto m = j.find(key);
    if (m == j.end() || m->is_null()) continue;
    if (!m->is_number_integer()) return type_err(key, "an integer");
    if (m->get<int64_t>() < 1) return bad(key, fmt::format("'{}' must be at least 1", key));
    r.max_tokens = uint32_t(std::min<int64_t>(m->get<int64_t>(), UINT32_MAX));
  }
  if (auto t = j.find("temperature"); t != j.end() && !t->is_null()) {
    if (!t->is_number()) return type_err("temperature", "a number");
    double v = t->get<double>();
    if (!(v >= 0 && v <= 2)) return bad("temperature", "'temperature' must be between 0 and 2");
    r.sampling.temperature = float(v);
  }
  if (auto t = j.find("top_p"); t != j.end() && !t->is_null()) {
    if (!t->is_number()) return type_err("top_p", "a number");
    double v = t->get<double>();
    if (!(v > 0 && v <= 1)) return bad("top_p", "'top_p' must be in (0, 1]");
    r.sampling.top_p = float(v);
  }
  if (auto s = j.find("seed"); s != j.end() && !s->is_null()) {
    if (!s->is_number_integer()) return type_err("seed", "an integer");
    r.sampling.seed = s->is_number_unsigned() ? s->get<uint64_t>() : uint64_t(s->get<int64_t>());
    r.seeded = true;
  }
  if (auto n = j.find("n"); n != j.end() && !n->is_null()) {
    if (!n->is_number_integer()) return type_err("n", "an integer");
    if (n->get<int64_t>() != 1) return bad("n", "only n = 1 is supported", "unsupported_value");
  }
  if (auto s = j.find("stop"); s != j.end() && !s->is_null()) {
    if (s->is_string()) r.stop.push_back(s->get<std::string>());
    else if (s->is_array()) {
      for (auto& e : *s) {
        if (!e.is_string()) return type_err("stop", "a string or an array of strings");
        r.stop.push_back(e.get<std::string>());
      }
    } else return type_err("stop", "a string or an array of strings");
    if (r.stop.size() > tun::kMaxStops) return bad("stop", fmt::format("at most {} stop strings", tun::kMaxStops));
    for (auto& st : r.stop)
      if (st.empty()) return bad("stop", "a stop string must not be empty");
  }
  if (auto f = j.find("response_format"); f != j.end() && !f->is_null()) {
    if (!f->is_object()) return type_err("response_format", "an object");
    auto t = f->find("type");
    if (t == f->end() || !t->is_string()) return type_err("response_format.type", "a string");
    const std::string ty = t->get<std::string>();
    if (ty == "text") r.format = ChatRequest::Format::Text;
    else if (ty == "json_object") r.format = ChatRequest::Format::JsonObject;
    else if (ty == "json_schema") {
      r.format = ChatRequest::Format::JsonSchema;
      auto js = f->find("json_schema");
      if (js == f->end() || !js->is_object()) return type_err("response_format.json_schema", "an object");
      auto name = js->find("name");
      if (name == js->end() || !name->is_string() || name->get<std::string>().empty())
        return type_err("response_format.json_schema.name", "a non-empty string");
      if (auto st = js->find("strict"); st != js->end() && !st->is_null() && !st->is_boolean())
        return type_err("response_format.json_schema.strict", "a boolean");
      auto sc = js->find("schema");
      if (sc == js->end()) r.schema = json::object();
      else if (!sc->is_object() && !sc->is_boolean()) return type_err("response_format.json_schema.schema", "an object");
      else r.schema = *sc;
    } else {
      return bad("response_format.type", fmt::format("response_format type '{}' is not one of text, json_object, json_schema", ty));
    }
  }
  return r;
}

struct ChatServer::Lease {
  ChatServer& s;
  size_t i;
  Lease(ChatServer& srv) : s(srv) {
    std::unique_lock lk(s.mu_);
    s.cv_.wait(lk, [&] { return std::find(s.busy_.begin(), s.busy_.end(), false) != s.busy_.end(); });
    i = size_t(std::find(s.busy_.begin(), s.busy_.end(), false) - s.busy_.begin());
    s.busy_[i] = true;
  }
  ~Lease() {
    {
      std::lock_guard lk(s.mu_);
      s.busy_[i] = false;
    }
    s.cv_.notify_one();
  }
  Session& session() { return *s.sessions_[i]; }
};

ChatServer::ChatServer(ServeOptions o) : o_(std::move(o)) {}
ChatServer::~ChatServer() = default;

Status ChatServer::load() {
  auto mf = open_model(o_.model_path);
  if (!mf) return std::unexpected(mf.error());
  mf_ = std::move(*mf);
  auto tok = Tokenizer::from_gguf(mf_->gguf, o_.model_path);
  if (!tok) return std::unexpected(tok.error());
  tok_.emplace(std::move(*tok));
  trie_ = TokenTrie::build(*tok_);
  for (auto name : {"<|im_end|>", "<|endoftext|>"})
    if (int32_t id = tok_->find(name); id >= 0) end_ids_.push_back(id);
  if (tok_->eos() >= 0 && std::find(end_ids_.begin(), end_ids_.end(), tok_->eos()) == end_ids_.end()) end_ids_.push_back(tok_->eos());
  const uint32_t ctx = std::min(o_.n_ctx ? o_.n_ctx : mf_->model.hp.n_ctx, mf_->model.hp.n_ctx);
  o_.n_ctx = ctx;
  for (unsigned i = 0; i < std::max(1u, o_.parallel); ++i) {
    sessions_.push_back(std::make_unique<Session>(mf_->model, SessionOptions{.threads = o_.threads, .n_ctx = ctx}));
    busy_.push_back(false);
  }
  ready_ = true;
  return {};
}

void ChatServer::error(HttpResponse& res, const ApiError& e) const {
  res.status = e.status;
  res.content_type = "application/json";
  res.body = dump(e.to_json());
}

void ChatServer::handle(const HttpRequest& req, HttpResponse& res) {
  const bool get = req.method == "GET", post = req.method == "POST";
  if (req.path == "/health") {
    if (!get) return error(res, {405, "invalid_request_error", "use GET", "", "method_not_allowed"});
    res.status = ready_ ? 200 : 503;
    res.body = dump(json{{"status", ready_ ? "ok" : "loading"}});
    return;
  }
  if (req.path == "/v1/models" || req.path.starts_with("/v1/models/")) {
    if (!get) return error(res, {405, "invalid_request_error", "use GET", "", "method_not_allowed"});
    json m{{"id", o_.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "pxos"}};
    if (req.path == "/v1/models") {
      res.body = dump(json{{"object", "list"}, {"data", json::array({m})}});
    } else if (req.path.substr(11) == o_.model_id) {
      res.body = dump(m);
    } else {
      return error(res, {404, "invalid_request_error", fmt::format("The model '{}' does not exist", req.path.substr(11)), "model", "model_not_found"});
    }
    return;
  }
  if (req.path == "/v1/chat/completions") {
    if (!post) return error(res, {405, "invalid_request_error", "use POST", "", "method_not_allowed"});
    return chat(req, res);
  }
  error(res, {404, "invalid_request_error", fmt::format("no route {} {}", req.method, req.path), "", "not_found"});
}

void ChatServer::chat(const HttpRequest& req, HttpResponse& res) {
  std::string_view ct = req.content_type;
  if (!ct.starts_with("application/json"))
    return error(res, {415, "invalid_request_error", fmt::format("Content-Type must be application/json, not '{}'", req.content_type), "", "invalid_content_type"});
  auto r = parse_chat_request(req.body);
  if (!r) return error(res, r.error());
  if (!r->model.empty() && r->model != o_.model_id)
    return error(res, {404, "invalid_request_error", fmt::format("The model '{}' does not exist (this server has '{}')", r->model, o_.model_id), "model", "model_not_found"});
  if (!ready_) return error(res, {503, "server_error", "the model is still loading", "", "model_loading"});
  std::shared_ptr<const Grammar> grammar;
  if (r->format == ChatRequest::Format::JsonObject) grammar = json_object_grammar();
  if (r->format == ChatRequest::Format::JsonSchema) {
    auto g = compile_schema(r->schema);
    if (!g)
      return error(res, {400, "invalid_request_error", g.error().detail, "response_format.json_schema.schema",
                         g.error().code == Errc::Unsupported ? "unsupported_schema" : "invalid_schema"});
    grammar = *g;
  }
  auto text = format_chat(tok_->chat_template(), r->messages, true);
  if (!text) return error(res, {400, "invalid_request_error", text.error().detail, "messages", "unsupported_template"});
  auto ids = tok_->encode(*text, {.parse_special = true});
  if (!ids) return error(res, {400, "invalid_request_error", ids.error().detail, "messages", "invalid_value"});
  if (ids->size() + 1 > o_.n_ctx)
    return error(res, {400, "invalid_request_error",
                       fmt::format("the prompt is {} tokens; the context is {} (and a reply needs one more)", ids->size(), o_.n_ctx),
                       "messages", "context_length_exceeded"});
  if (!r->seeded) r->sampling.seed = std::random_device{}() ^ (counter_.fetch_add(1) * 0x9e3779b97f4a7c15ull);
  const uint64_t n = counter_.fetch_add(1);
  const std::string id = fmt::format("chatcmpl-{:016x}{:08x}", std::random_device{}() * 0x100000001ull ^ n, uint32_t(n));
  const long created = long(std::time(nullptr));
  const size_t prompt_tokens = ids->size();
  auto req_copy = std::make_shared<ChatRequest>(std::move(*r));
  auto prompt = std::make_shared<std::vector<int32_t>>(std::move(*ids));
  res.status = 200;
  if (req_copy->stream) {
    res.content_type = "text/event-stream";
    res.stream = [this, req_copy, prompt, grammar, id, created, prompt_tokens](HttpWriter& w) {
      auto chunk = [&](json delta, json finish) {
        json c{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", o_.model_id},
               {"system_fingerprint", "pxos"},
               {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}})}};
        return "data: " + dump(c) + "\n\n";
      };
      if (!w.write(chunk({{"role", "assistant"}, {"content", ""}}, nullptr))) return false;
      Lease lease(*this);
      Outcome out = generate(lease.session(), *req_copy, *prompt, grammar,
                             [&](std::string_view piece) { return w.write(chunk({{"content", std::string(piece)}}, nullptr)); }, nullptr);
      if (out.client_gone) return false;
      if (out.error) {
        ApiError e{500, "server_error", out.error->to_string(), "", "generation_failed"};
        w.write("data: " + dump(e.to_json()) + "\n\n");
        return w.write("data: [DONE]\n\n");
      }
      if (!w.write(chunk(json::object(), out.finish_reason))) return false;
      if (req_copy->include_usage) {
        json u{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", o_.model_id}, {"choices", json::array()},
               {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", out.completion_tokens}, {"total_tokens", prompt_tokens + out.completion_tokens}}}};
        if (!w.write("data: " + dump(u) + "\n\n")) return false;
      }
      return w.write("data: [DONE]\n\n");
    };
    return;
  }
  // Not streamed: the reply is one JSON object. It is still sent chunked, led by whitespace that
  // JSON allows: writing a space every few tokens is how a vanished client is noticed.
  res.content_type = "application/json";
  res.stream = [this, req_copy, prompt, grammar, id, created, prompt_tokens](HttpWriter& w) {
    Lease lease(*this);
    Outcome out = generate(lease.session(), *req_copy, *prompt, grammar, [](std::string_view) { return true; },
                           [&] { return w.write(" "); });
    if (out.client_gone) return false;
    if (out.error) return w.write(dump(ApiError{500, "server_error", out.error->to_string(), "", "generation_failed"}.to_json()));
    json reply{{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", o_.model_id}, {"system_fingerprint", "pxos"},
               {"choices", json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", out.text}, {"refusal", nullptr}}},
                                         {"logprobs", nullptr}, {"finish_reason", out.finish_reason}}})},
               {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", out.completion_tokens}, {"total_tokens", prompt_tokens + out.completion_tokens}}}};
    return w.write(dump(reply));
  };
}

ChatServer::Outcome ChatServer::generate(Session& s, const ChatRequest& r, std::span<const int32_t> prompt,
                                         std::shared_ptr<const Grammar> grammar, const std::function<bool(std::string_view)>& on_text,
                                         const std::function<bool()>& probe) {
  Outcome out;
  s.reset();
  Sampler sampler(r.sampling);
  std::optional<TokenConstraint> constraint;
  if (grammar) constraint.emplace(grammar, trie_, *tok_, end_ids_);
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  auto logits = s.eval(prompt);
  if (!logits) { out.error = logits.error(); return out; }
  std::vector<float> scratch;
  size_t sent = 0, longest_stop = 0;
  for (auto& st : r.stop) longest_stop = std::max(longest_stop, st.size());
  uint32_t limit = r.max_tokens ? r.max_tokens : o_.n_ctx;
  if (o_.max_tokens_cap) limit = std::min(limit, o_.max_tokens_cap);
  // What the context leaves after the prompt (the last generated token is never evaluated).
  const uint32_t room = o_.n_ctx - uint32_t(prompt.size()) + 1;
  while (out.completion_tokens < limit) {
    // A schema reply that would be cut by the budget or the context closes in time instead.
    if (constraint && std::min(limit, room) - out.completion_tokens <= tun::kCloseMargin) constraint->set_closing(true);
    scratch.assign(logits->begin(), logits->end());
    const int32_t t = sample_constrained(sampler, constraint ? &*constraint : nullptr, scratch, history);
    if (t < 0) { out.error = Error{Errc::Internal, "the schema constraint allows no token here"}; return out; }
    if (std::find(end_ids_.begin(), end_ids_.end(), t) != end_ids_.end()) { out.finish_reason = "stop"; break; }
    if (constraint) constraint->accept(t);
    history.push_back(t);
    out.completion_tokens++;
    const size_t before = out.text.size();
    out.text += tok_->token_bytes(t);
    bool stopped = false;
    if (!r.stop.empty()) {
      const size_t from = before >= longest_stop ? before - longest_stop + 1 : 0;
      size_t at = std::string::npos;
      for (auto& st : r.stop) at = std::min(at, out.text.find(st, from));
      if (at != std::string::npos) { out.text.resize(at); stopped = true; }
    }
    const size_t ok = stopped ? out.text.size() : sendable(out.text, r.stop);
    if (ok > sent) {
      if (!on_text(std::string_view(out.text).substr(sent, ok - sent))) { out.client_gone = true; break; }
      sent = ok;
    }
    if (stopped || (constraint && constraint->must_finish())) { out.finish_reason = "stop"; break; }
    if (probe && out.completion_tokens % tun::kProbeEvery == 0 && !probe()) { out.client_gone = true; break; }
    if (out.completion_tokens == limit) break;
    logits = s.eval(std::span<const int32_t>(&history.back(), 1));
    if (!logits) {
      if (logits.error().code != Errc::ContextFull) { out.error = logits.error(); return out; }
      break;  // the context is full: "length"
    }
  }
  if (out.client_gone) { cancelled_++; return out; }
  if (sent < out.text.size() && !on_text(std::string_view(out.text).substr(sent))) out.client_gone = true;
  return out;
}

}  // namespace pxos::llm
