// cmd_llm.cpp: `pxos llm info MODEL` (architecture, shapes, quant types, sizes, chat template;
// unsupported architectures and tensor types are named, not guessed) and `llm tokenize` /
// `llm detokenize`, the scriptable side of the tokenizer's peer check.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <map>

#include "cli/command.hpp"
#include "common/os.hpp"
#include "llm/gguf.hpp"
#include "llm/source.hpp"
#include "llm/tokenizer.hpp"

namespace pxos::cli {
namespace {

// Architectures the engine runs; anything else is named in the error.
constexpr std::string_view kArchitectures[] = {"llama"};

// --json: the same facts as one object (numbers as numbers), through nlohmann.
void info_json(const std::string& path, const llm::Gguf& g, const std::string& arch, uint64_t file_bytes, uint64_t params,
               const std::map<std::string, std::pair<uint64_t, uint64_t>>& by_type) {
  auto value = [](const std::string& s) -> nlohmann::ordered_json {
    auto j = nlohmann::ordered_json::parse(s, nullptr, false);
    return j.is_number() ? j : nlohmann::ordered_json(s);
  };
  nlohmann::ordered_json j = {{"file", path}, {"file_bytes", file_bytes}, {"gguf_version", g.version},
                              {"alignment", g.alignment}, {"architecture", arch},
                              {"name", nullptr}};
  auto str = [&](const char* key) -> nlohmann::ordered_json {
    auto v = g.get_string(key);
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  j["name"] = str("general.name");
  nlohmann::ordered_json hp = nlohmann::ordered_json::object();
  for (auto k : {"context_length", "embedding_length", "feed_forward_length", "block_count", "attention.head_count",
                 "attention.head_count_kv", "rope.freq_base", "attention.layer_norm_rms_epsilon"}) {
    auto* v = g.find(arch + "." + k);
    hp[k] = v ? value(llm::kv_to_string(*v)) : nullptr;
  }
  j["hyperparameters"] = hp;
  j["tensors"] = g.tensors.size();
  j["parameters"] = params;
  nlohmann::ordered_json types = nlohmann::ordered_json::object();
  for (auto& [n, e] : by_type) types[n] = {{"tensors", e.first}, {"bytes", e.second}};
  j["types"] = types;
  if (auto* t = g.find("tokenizer.ggml.tokens"))
    j["tokenizer"] = {{"model", str("tokenizer.ggml.model")}, {"pre", str("tokenizer.ggml.pre")},
                      {"tokens", std::get<std::shared_ptr<llm::KvArray>>(t->v)->size()}};
  if (auto ct = g.get_string("tokenizer.chat_template")) j["chat_template"] = *ct;
  fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

void info(const std::string& path, bool all_kvs, bool json = false) {
  auto src = must(llm::load_gguf_source(path));
  const llm::Gguf& g = src.gguf;
  std::string arch = must(g.get_string("general.architecture"));
  bool known = false;
  for (auto a : kArchitectures) known |= a == arch;
  if (!known) throw Failure({Errc::Unsupported, fmt::format("{}: architecture '{}' is not supported (llama is)", path, arch)});
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // type -> (tensors, bytes)
  uint64_t params = 0;
  for (auto& t : g.tensors) {
    auto* ti = llm::type_info(t.type);
    if (!ti->supported) throw Failure({Errc::Unsupported, fmt::format("{}: tensor '{}' has type {}, which the engine does not dequantize", path, t.name, ti->name)});
    auto& e = by_type[ti->name];
    e.first++;
    e.second += t.n_bytes;
    params += t.n_elems;
  }
  if (json) return info_json(path, g, arch, src.file_bytes, params, by_type);
  if (src.kind == llm::SourceKind::Gguf)
    fmt::print("file: {} ({} bytes, GGUF v{}, alignment {})\n", path, src.file_bytes, g.version, g.alignment);
  else
    fmt::print("file: {} ({}, {} bytes; GGUF {} bytes, v{}, alignment {})\n", path, llm::source_kind_name(src.kind),
               src.file_bytes, src.gguf_bytes->bytes().size(), g.version, g.alignment);
  fmt::print("architecture: {}   name: {}\n", arch, g.find("general.name") ? llm::kv_to_string(*g.find("general.name")) : "-");
  for (auto k : {"context_length", "embedding_length", "feed_forward_length", "block_count", "attention.head_count",
                 "attention.head_count_kv", "rope.freq_base", "attention.layer_norm_rms_epsilon"}) {
    auto* v = g.find(arch + "." + k);
    fmt::print("  {:<34} {}\n", k, v ? llm::kv_to_string(*v) : "(missing)");
  }
  fmt::print("tensors: {} ({} parameters)\n", g.tensors.size(), params);
  for (auto& [n, e] : by_type) fmt::print("  {:<5} {:>4} tensors {:>12} bytes\n", n, e.first, e.second);
  if (auto* t = g.find("tokenizer.ggml.tokens"))
    fmt::print("tokenizer: {} ({}), pre {}, {} tokens\n", g.find("tokenizer.ggml.model") ? llm::kv_to_string(*g.find("tokenizer.ggml.model")) : "-",
               "byte-level BPE", g.find("tokenizer.ggml.pre") ? llm::kv_to_string(*g.find("tokenizer.ggml.pre")) : "-",
               std::get<std::shared_ptr<llm::KvArray>>(t->v)->size());
  if (auto ct = g.get_string("tokenizer.chat_template")) fmt::print("chat template:\n{}\n", *ct);
  if (all_kvs) {
    fmt::print("metadata:\n");
    for (auto& [k, v] : g.kvs) fmt::print("  {} = {}\n", k, llm::kv_to_string(v));
    for (auto& t : g.tensors)
      fmt::print("  tensor {} {} [{}] at {:#x}\n", t.name, llm::type_info(t.type)->name, fmt::join(t.dims, ","), g.data_offset + t.offset);
  }
}

struct TokenizeOpts {
  std::string model, text, file, hex_lines, system;
  bool have_text = false, json = false, no_parse_special = false, add_special = false, chat = false;
};

llm::Tokenizer load_tokenizer(const std::string& path) {
  auto src = must(llm::load_gguf_source(path));
  return must(llm::Tokenizer::from_gguf(src.gguf, path));
}

void json_string(std::string& out, std::string_view s) {
  if (llm::utf8_invalid_at(s) != std::string_view::npos) { out += "\"\\ufffd\""; return; }
  out += '"';
  for (char ch : s) {
    auto c = uint8_t(ch);
    if (c == '"' || c == '\\') { out += '\\'; out += ch; }
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += ch;
  }
  out += '"';
}

// One line: the ids, or with --json {"ids":[...],"tokens":[...]} (tokens in the vocabulary's
// byte-level spelling, "Ġ" for a space).
std::string render(const llm::Tokenizer& t, const std::vector<int32_t>& ids, bool json) {
  if (!json) return fmt::format("{}\n", fmt::join(ids, " "));
  std::string out = fmt::format("{{\"ids\":[{}],\"tokens\":[", fmt::join(ids, ","));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    json_string(out, t.token_text(ids[i]));
  }
  return out + "]}\n";
}

std::vector<int32_t> encode(const llm::Tokenizer& t, const TokenizeOpts& o, const std::string& text, const std::string& where) {
  std::string input = text;
  if (o.chat) {
    std::vector<llm::ChatMessage> msgs;
    if (!o.system.empty()) msgs.push_back({"system", o.system});
    msgs.push_back({"user", text});
    input = must(llm::format_chat(t.chat_template(), msgs, true));
  }
  auto ids = t.encode(input, {.add_special = o.add_special, .parse_special = o.chat || !o.no_parse_special});
  if (!ids) throw Failure({ids.error().code, fmt::format("{}: {}", where, ids.error().detail)});
  return std::move(*ids);
}

// --hex-lines: one hex-encoded text per line, so that any bytes (newlines, NULs, invalid UTF-8)
// reach the tokenizer unchanged from a script; one output line per input line.
std::string from_hex(std::string_view line, const std::string& where) {
  auto nib = [](char c) { return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1; };
  if (line.size() % 2) throw Failure({Errc::Usage, fmt::format("{}: odd number of hex digits", where)});
  std::string out;
  for (size_t i = 0; i < line.size(); i += 2) {
    int a = nib(line[i]), b = nib(line[i + 1]);
    if (a < 0 || b < 0) throw Failure({Errc::Usage, fmt::format("{}: column {}: not a hex digit", where, i + (a < 0 ? 1 : 2))});
    out += char(a * 16 + b);
  }
  return out;
}

void tokenize(const TokenizeOpts& o) {
  int sources = int(o.have_text) + int(!o.file.empty()) + int(!o.hex_lines.empty());
  if (sources != 1) throw Failure({Errc::Usage, "llm tokenize: give exactly one of --text, --file, --hex-lines"});
  if (!o.system.empty() && !o.chat) throw Failure({Errc::Usage, "llm tokenize: --system needs --chat"});
  auto t = load_tokenizer(o.model);
  if (o.have_text) {
    fmt::print("{}", render(t, encode(t, o, o.text, "--text"), o.json));
    return;
  }
  const std::string& path = o.file.empty() ? o.hex_lines : o.file;
  auto data = must(os::read_input(path, 64u << 20));
  std::string body(data.begin(), data.end());
  if (!o.file.empty()) {
    fmt::print("{}", render(t, encode(t, o, body, path), o.json));
    return;
  }
  std::string out;
  size_t line_no = 1;
  for (size_t p = 0; p < body.size(); ++line_no) {
    size_t e = body.find('\n', p);
    if (e == std::string::npos) e = body.size();
    std::string where = fmt::format("{}: line {}", path, line_no);
    std::string_view line = std::string_view(body).substr(p, e - p);
    if (line.ends_with('\r')) line.remove_suffix(1);
    out += render(t, encode(t, o, from_hex(line, where), where), o.json);
    p = e + 1;
  }
  fmt::print("{}", out);
}

void detokenize(const std::string& model, const std::vector<std::string>& args, bool no_special) {
  std::vector<int32_t> ids;
  for (auto& a : args) {
    int32_t v = 0;
    auto [end, ec] = std::from_chars(a.data(), a.data() + a.size(), v);
    if (ec != std::errc() || end != a.data() + a.size())
      throw Failure({Errc::Usage, fmt::format("llm detokenize: '{}' is not a token id", a)});
    ids.push_back(v);
  }
  auto t = load_tokenizer(model);
  std::string bytes = must(t.decode(ids, {.render_special = !no_special}));
  must(os::write_stdout(as_bytes(bytes)));
}

void setup(CLI::App& root) {
  auto* llm = root.add_subcommand("llm", "the Pixel LLM engine: GGUF models (SmolLM2-135M-Instruct)");
  llm->require_subcommand(1);
  auto* i = llm->add_subcommand("info", "architecture, shapes, quant types, sizes, chat template of a GGUF");
  static std::string path;
  static bool all = false;
  i->add_option("model", path, "the .gguf file")->required();
  i->add_flag("--all", all, "also every metadata key and tensor");
  static bool json = false;
  i->add_flag("--json", json, "one JSON object (file, hyperparameters, types, tokenizer, chat template)");
  i->callback([] { info(path, all, json); });

  static TokenizeOpts to;
  auto* tk = llm->add_subcommand("tokenize", "token ids of a text (the model's byte-level BPE, smollm pre-tokenizer)");
  tk->add_option("model", to.model, "the .gguf file")->required();
  tk->add_option_function<std::string>("--text", [](const std::string& s) { to.text = s; to.have_text = true; }, "the text");
  tk->add_option("--file", to.file, "read the text from a file (all of it, newlines included)");
  tk->add_option("--hex-lines", to.hex_lines, "a file of hex-encoded texts, one per line; one output line each");
  tk->add_flag("--json", to.json, "print {\"ids\":[...],\"tokens\":[...]}");
  tk->add_flag("--no-parse-special", to.no_parse_special, "\"<|im_start|>\" in the text is plain text, not the control token");
  tk->add_flag("--add-special", to.add_special, "add BOS/EOS where the model asks for them (SmolLM2 asks for neither)");
  tk->add_flag("--chat", to.chat, "the text is one user message, rendered with the chat template and the generation prompt");
  tk->add_option("--system", to.system, "with --chat: a system message before it");
  tk->callback([] { tokenize(to); });

  static std::string dmodel;
  static std::vector<std::string> dids;
  static bool dno_special = false;
  auto* dt = llm->add_subcommand("detokenize", "the bytes that token ids stand for, written to stdout as they are");
  dt->add_option("model", dmodel, "the .gguf file")->required();
  dt->add_option("ids", dids, "token ids")->required();
  dt->add_flag("--no-special", dno_special, "control tokens (<|im_end|>) print nothing");
  dt->callback([] { detokenize(dmodel, dids, dno_special); });
}

const Register reg(85, {"llm"}, setup);

}  // namespace
}  // namespace pxos::cli
