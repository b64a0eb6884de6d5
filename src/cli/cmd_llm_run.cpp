// cmd_llm_run.cpp: `pxos llm run MODEL --prompt "..."` (one answer, streamed, tok/s on stderr,
// --json for stats) and `pxos llm chat MODEL` (multi-turn ChatML at a prompt with libedit history,
// or lines from a pipe). MODEL is a .gguf, a .pxa made by `llm pack`, or a god key to one.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/llm_cli.hpp"
#include "common/lineedit.hpp"
#include "common/os.hpp"

namespace pxos::cli {
namespace {

using clk = std::chrono::steady_clock;
constexpr uint64_t kMaxPrompt = 64u << 20;  // far past any context; bounds a runaway pipe

// All of stdin (a pipe or a file), at most MAX bytes.
std::string read_stdin(uint64_t max) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Failure({Errc::Io, fmt::format("stdin: read failed: {}", std::strerror(errno))});
    if (n == 0) return out;
    out.append(buf, size_t(n));
    if (out.size() > max) throw Failure({Errc::TooLarge, fmt::format("stdin: the prompt is over {} bytes", max)});
  }
}

// Times the engine's evals: the first call of a turn is the prefill, the rest are decode steps.
struct TimedSource : llm::LogitsSource {
  llm::LogitsSource& s;
  bool first = true;
  uint64_t prefill_tokens = 0, decode_tokens = 0;
  double prefill_s = 0, decode_s = 0;
  explicit TimedSource(llm::LogitsSource& s) : s(s) {}
  Result<std::span<const float>> eval(std::span<const int32_t> t) override {
    auto t0 = clk::now();
    auto r = s.eval(t);
    double dt = std::chrono::duration<double>(clk::now() - t0).count();
    if (r) {
      if (first) { prefill_tokens += t.size(); prefill_s += dt; }
      else { decode_tokens += t.size(); decode_s += dt; }
    }
    first = false;
    return r;
  }
};

// Writes generated text as it comes, holding back any tail that could still become a stop
// string (so a stop string never reaches stdout).
struct Streamer {
  const std::vector<std::string>& stops;
  bool quiet;
  std::string text;
  size_t emitted = 0;
  void add(const std::string& piece) {
    text += piece;
    size_t hold = 0;
    for (auto& st : stops)
      for (size_t k = std::min(st.size() - 1, text.size()); k > hold; --k)
        if (text.compare(text.size() - k, k, st, 0, k) == 0) { hold = k; break; }
    flush_to(text.size() - hold);
  }
  void flush_to(size_t end) {
    if (quiet || end <= emitted) return;
    must(os::write_stdout(as_bytes(std::string_view(text).substr(emitted, end - emitted))));
    emitted = end;
  }
};

std::vector<int32_t> stop_ids(const llm::Tokenizer& t, bool chat) {
  std::vector<int32_t> ids;
  if (t.eos() >= 0) ids.push_back(t.eos());
  if (chat)
    if (int32_t e = t.find("<|im_end|>"); e >= 0 && (ids.empty() || ids[0] != e)) ids.push_back(e);
  return ids;
}

std::string stats_line(const TimedSource& ts, const llm::Generation& g) {
  auto rate = [](uint64_t n, double s) { return s > 0 ? double(n) / s : 0.0; };
  return fmt::format("prefill {} tokens {:.3f} s ({:.2f} tok/s), decode {} tokens {:.3f} s ({:.2f} tok/s), {} generated, stop: {}",
                     ts.prefill_tokens, ts.prefill_s, rate(ts.prefill_tokens, ts.prefill_s), ts.decode_tokens, ts.decode_s,
                     rate(ts.decode_tokens, ts.decode_s), g.tokens.size(), llm::stop_reason_name(g.reason));
}

// --------------------------------------------------------------------------------------- run
struct RunOpts {
  std::string model, prompt, prompt_file, system;
  bool have_prompt = false, raw = false, json = false;
  llmcli::EngineFlags eng;
  llmcli::SamplingFlags smp;
};

void run(const RunOpts& o) {
  if (int(o.have_prompt) + int(!o.prompt_file.empty()) != 1)
    throw Failure({Errc::Usage, "llm run: give exactly one of --prompt, --prompt-file"});
  if (o.raw && !o.system.empty()) throw Failure({Errc::Usage, "llm run: --system needs the chat template (not --raw)"});
  o.smp.check("llm run");
  std::string where = o.have_prompt ? "--prompt" : o.prompt_file;
  std::string text = o.prompt;
  if (!o.have_prompt && o.prompt_file == "-") {
    text = read_stdin(kMaxPrompt);
  } else if (!o.have_prompt) {
    auto b = must(os::read_input(o.prompt_file, kMaxPrompt));
    text.assign(b.begin(), b.end());
  }
  if (text.empty()) throw Failure({Errc::Usage, fmt::format("{}: the prompt is empty", where)});
  if (size_t at = llm::utf8_invalid_at(text); at != std::string::npos)
    throw Failure({Errc::TextInvalid, fmt::format("{}: byte {}: not valid UTF-8", where, at)});
  auto L = llmcli::load(o.model, o.eng.store);
  const llm::Tokenizer& tok = *L.tok;
  std::string input = text;
  if (!o.raw) {
    std::vector<llm::ChatMessage> msgs;
    if (!o.system.empty()) msgs.push_back({"system", o.system});
    msgs.push_back({"user", text});
    input = must(llm::format_chat(tok.chat_template(), msgs, true));
  }
  auto ids = tok.encode(input, {.add_special = o.raw, .parse_special = !o.raw});
  if (!ids) throw Failure({ids.error().code, fmt::format("{}: {}", where, ids.error().detail)});
  if (ids->empty()) throw Failure({Errc::Usage, fmt::format("{}: the prompt encodes to no tokens", where)});
  llmcli::Engine session = llmcli::make_engine(L.sm->model, o.eng);
  if (ids->size() > session.n_ctx())
    throw Failure({Errc::ContextFull, fmt::format("{}: {} tokens do not fit the context of {} tokens", where, ids->size(), session.n_ctx())});
  TimedSource ts(session.source());
  llm::Sampler sampler(o.smp.s);
  Streamer out{o.smp.stops, o.json};
  llm::GenerateOptions go{.max_tokens = o.smp.max_tokens, .stop_ids = stop_ids(tok, !o.raw), .stop_strings = o.smp.stops,
                          .piece = [&](int32_t id) { return tok.token_bytes(id); }};
  auto g = must(llm::generate(ts, sampler, *ids, go, [&](int32_t id) {
    out.add(tok.token_bytes(id));
    return true;
  }));
  out.text = g.text;  // cut before a stop string
  out.flush_to(out.text.size());
  if (o.json) {
    auto rate = [](uint64_t n, double s) { return s > 0 ? double(n) / s : 0.0; };
    nlohmann::json j = {
        {"model", o.model},
        {"source", llm::source_kind_name(L.sm->src.kind)},
        {"text", g.text},
        {"tokens", g.tokens},
        {"prompt_tokens", ids->size()},
        {"stop_reason", llm::stop_reason_name(g.reason)},
        {"engine", session.describe()},
        {"act_quant", o.eng.act_quant},
        {"load_s", L.load_seconds},
        {"prefill", {{"tokens", ts.prefill_tokens}, {"seconds", ts.prefill_s}, {"tok_per_s", rate(ts.prefill_tokens, ts.prefill_s)}}},
        {"decode", {{"tokens", ts.decode_tokens}, {"seconds", ts.decode_s}, {"tok_per_s", rate(ts.decode_tokens, ts.decode_s)}}}};
    // A generation may stop inside a UTF-8 character: replace, never throw.
    std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    must(os::write_stdout(as_bytes(s)));
    return;
  }
  if (!g.text.empty() && g.text.back() != '\n') must(os::write_stdout(as_bytes(std::string_view("\n"))));
  fmt::print(stderr, "llm run: {}\n", stats_line(ts, g));
}

// -------------------------------------------------------------------------------------- chat
struct ChatOpts {
  std::string model, system, history;
  llmcli::EngineFlags eng;
  llmcli::SamplingFlags smp;
};

std::string default_history() {
  const char* x = std::getenv("XDG_STATE_HOME");
  const char* h = std::getenv("HOME");
  std::string dir = x && *x ? std::string(x) + "/pxos" : h && *h ? std::string(h) + "/.local/state/pxos" : "";
  if (dir.empty()) return {};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return ec ? std::string() : dir + "/llm-chat.history";
}

void chat(const ChatOpts& o) {
  o.smp.check("llm chat");
  const bool tty = ::isatty(0) == 1;
  auto L = llmcli::load(o.model, o.eng.store);
  const llm::Tokenizer& tok = *L.tok;
  llmcli::Engine session = llmcli::make_engine(L.sm->model, o.eng);
  llm::Sampler sampler(o.smp.s);
  os::LineReader lines(tty ? (o.history.empty() ? default_history() : o.history) : std::string());
  // The conversation is kept as TOKENS (the model's own replies are never re-encoded: a reply
  // cut by --max-tokens may even end inside a UTF-8 character). Each turn appends the template's
  // rendering of one more user message; the first turn renders the whole template.
  std::vector<llm::ChatMessage> head;
  if (!o.system.empty()) head.push_back({"system", o.system});
  std::vector<int32_t> conv;    // the conversation so far, ending after an assistant message
  std::vector<int32_t> cached;  // exactly the tokens whose keys and values the session holds
  const auto encode = [&](const std::string& text) { return must(tok.encode(text, {.parse_special = true})); };
  const std::vector<int32_t> end_of_reply = encode("<|im_end|>\n");  // ChatML, the one family format_chat renders
  if (tty) fmt::print(stderr, "llm chat: {} ({} context tokens); /reset forgets the conversation, /exit or Ctrl-D ends\n",
                      o.model, session.n_ctx());
  size_t line_no = 0;
  while (auto line = lines.read(tty ? "> " : "")) {
    ++line_no;
    const std::string where = tty ? std::string("input") : fmt::format("stdin: line {}", line_no);
    if (line->empty()) continue;
    if (*line == "/exit" || *line == "/quit") break;
    if (*line == "/reset") {
      conv.clear();
      cached.clear();
      session.reset();
      continue;
    }
    lines.remember(*line);
    if (size_t at = llm::utf8_invalid_at(*line); at != std::string::npos) {
      fmt::print(stderr, "llm chat: {}: byte {}: not valid UTF-8 (line ignored)\n", where, at);
      continue;
    }
    std::vector<llm::ChatMessage> msgs = head;
    std::string prefix;
    if (!conv.empty()) {  // what the template adds for one more user message after the first
      if (msgs.empty()) msgs.push_back({"system", ""});
      prefix = must(llm::format_chat(tok.chat_template(), msgs, false));
    }
    msgs.push_back({"user", *line});
    std::string full = must(llm::format_chat(tok.chat_template(), msgs, true));
    std::vector<int32_t> ids = conv;
    for (int32_t t : encode(full.substr(prefix.size()))) ids.push_back(t);
    if (ids.size() >= session.n_ctx()) {
      fmt::print(stderr, "llm chat: {}: the conversation ({} tokens) does not fit the context of {} tokens; /reset starts over\n",
                 where, ids.size(), session.n_ctx());
      continue;
    }
    // Keep the cached prefix this turn shares with what the session holds; evaluate the rest.
    size_t common = 0;
    while (common < cached.size() && common < ids.size() && cached[common] == ids[common]) ++common;
    if (common == ids.size()) --common;  // at least one token to evaluate, for fresh logits
    session.rewind(uint32_t(common));
    TimedSource ts(session.source());
    Streamer out{o.smp.stops, false};
    llm::GenerateOptions go{.max_tokens = o.smp.max_tokens, .stop_ids = stop_ids(tok, true), .stop_strings = o.smp.stops,
                            .piece = [&](int32_t id) { return tok.token_bytes(id); }};
    auto g = must(llm::generate(ts, sampler, std::span<const int32_t>(ids).subspan(common), go, [&](int32_t id) {
      out.add(tok.token_bytes(id));
      return true;
    }));
    out.text = g.text;
    out.flush_to(out.text.size());
    must(os::write_stdout(as_bytes(std::string_view("\n"))));
    // The session evaluated every generated token but the last (sampled, never fed back).
    cached = ids;
    cached.insert(cached.end(), g.tokens.begin(), g.tokens.end());
    if (!g.tokens.empty()) cached.pop_back();
    conv = ids;
    conv.insert(conv.end(), g.tokens.begin(), g.tokens.end());
    conv.insert(conv.end(), end_of_reply.begin(), end_of_reply.end());
    if (tty) fmt::print(stderr, "[{}]\n", stats_line(ts, g));
    if (g.reason == llm::StopReason::ContextFull)
      fmt::print(stderr, "llm chat: the context of {} tokens is full; /reset starts over\n", session.n_ctx());
  }
}

void setup(CLI::App& root) {
  auto* llm = root.get_subcommand("llm");
  static RunOpts r;
  auto* rc = llm->add_subcommand("run", "answer one prompt (ChatML unless --raw), streamed; tok/s on stderr");
  rc->add_option("model", r.model, "a .gguf, a .pxa from `llm pack`, or a god key to one")->required();
  rc->add_option_function<std::string>("--prompt", [](const std::string& s) { r.prompt = s; r.have_prompt = true; }, "the prompt");
  rc->add_option("--prompt-file", r.prompt_file, "read the prompt from a file ('-': stdin)");
  rc->add_option("--system", r.system, "a system message (default: the template's)");
  rc->add_flag("--raw", r.raw, "no chat template: the prompt's tokens as they are");
  rc->add_flag("--json", r.json, "print one JSON object (text, tokens, stop reason, tok/s) instead of streaming");
  r.eng.add(rc);
  r.smp.add(rc);
  rc->callback([] { run(r); });

  static ChatOpts c;
  auto* cc = llm->add_subcommand("chat", "an interactive multi-turn chat (libedit history on a terminal; lines from a pipe)");
  cc->add_option("model", c.model, "a .gguf, a .pxa from `llm pack`, or a god key to one")->required();
  cc->add_option("--system", c.system, "a system message (default: the template's)");
  cc->add_option("--history", c.history, "the history file (default: XDG_STATE_HOME/pxos/llm-chat.history)");
  c.eng.add(cc);
  c.smp.add(cc);
  cc->callback([] { chat(c); });
}

const Register reg(87, {"llm"}, setup);  // after cmd_llm.cpp (85), which creates `llm`

}  // namespace
}  // namespace pxos::cli
