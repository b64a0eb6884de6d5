// tokenizer.cpp: byte-level BPE as HF `tokenizers` and llama.cpp run it for SmolLM2. The
// pre-tokenizer is a hand-written matcher of the GPT-2 regex (no std::regex: it is slow and has
// no \p{L}); Unicode classes come from ICU, opened on first use. Merges run over a linked list with a rank heap.
#include "llm/tokenizer.hpp"

#include <unicode/uchar.h>
#include <unicode/uvernum.h>

#include <algorithm>
#include <queue>

#include "common/dynlib.hpp"

namespace pxos::llm {

namespace {

// libicuuc is opened by the first tokenizer (os::open_library), so that commands without one
// (run, asm, hv) start without mapping it and its 30 MB data library (issue 16, start-up). ICU's
// header renames every function with its major version (u_charType -> u_charType_72): the symbol
// is the expanded name, and the soname carries the same number.
#define PXOS_ICU_STR2(x) #x
#define PXOS_ICU_STR(x) PXOS_ICU_STR2(x)
struct Icu {
  decltype(&::u_isUWhiteSpace) u_isUWhiteSpace = nullptr;
  decltype(&::u_charType) u_charType = nullptr;
};

Result<Icu> bind_icu() {
  auto lib = os::open_library({"libicuuc.so." PXOS_ICU_STR(U_ICU_VERSION_MAJOR_NUM)},
                              "the tokenizer's Unicode classes (libicuuc)");
  if (!lib) return std::unexpected(lib.error());
  Icu t{};
  auto ws = os::library_symbol(**lib, PXOS_ICU_STR(u_isUWhiteSpace));
  if (!ws) return std::unexpected(ws.error());
  auto ct = os::library_symbol(**lib, PXOS_ICU_STR(u_charType));
  if (!ct) return std::unexpected(ct.error());
  t.u_isUWhiteSpace = reinterpret_cast<decltype(t.u_isUWhiteSpace)>(*ws);
  t.u_charType = reinterpret_cast<decltype(t.u_charType)>(*ct);
  return t;
}

// Loads the table once; from_gguf and encode call it so that a missing ICU is their error.
Result<const Icu*> load_icu() {
  static const Result<Icu> t = bind_icu();
  if (!t) return std::unexpected(t.error());
  return &*t;
}

// The table for pre_tokenize, which has no error path of its own: callers have loaded it, and a
// direct caller without ICU gets the load error thrown.
const Icu& icu() {
  auto t = load_icu();
  if (!t) throw Failure(t.error());
  return **t;
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes are
// shifted to U+0100.. in byte order, so every byte is one visible code point.
struct ByteAlphabet {
  uint32_t cp[256];
  int16_t byte_of[324];  // code point -> byte, -1: not in the alphabet (max code point is U+0143)
  ByteAlphabet() {
    std::fill(std::begin(byte_of), std::end(byte_of), int16_t(-1));
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool direct = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      cp[b] = direct ? b : next++;
      byte_of[cp[b]] = int16_t(b);
    }
  }
};
const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}

void put_utf8(std::string& s, uint32_t c) {
  if (c < 0x80) {
    s += char(c);
  } else if (c < 0x800) {
    s += char(0xc0 | (c >> 6));
    s += char(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    s += char(0xe0 | (c >> 12));
    s += char(0x80 | ((c >> 6) & 0x3f));
    s += char(0x80 | (c & 0x3f));
  } else {
    s += char(0xf0 | (c >> 18));
    s += char(0x80 | ((c >> 12) & 0x3f));
    s += char(0x80 | ((c >> 6) & 0x3f));
    s += char(0x80 | (c & 0x3f));
  }
}

// Decodes one code point of valid UTF-8 at s[i]; advances i.
uint32_t next_cp(std::string_view s, size_t& i) {
  auto b = [&](size_t k) { return uint32_t(uint8_t(s[k])); };
  uint32_t c = b(i);
  if (c < 0x80) { i += 1; return c; }
  if (c < 0xe0) { c = ((c & 0x1f) << 6) | (b(i + 1) & 0x3f); i += 2; return c; }
  if (c < 0xf0) { c = ((c & 0x0f) << 12) | ((b(i + 1) & 0x3f) << 6) | (b(i + 2) & 0x3f); i += 3; return c; }
  c = ((c & 0x07) << 18) | ((b(i + 1) & 0x3f) << 12) | ((b(i + 2) & 0x3f) << 6) | (b(i + 3) & 0x3f);
  i += 4;
  return c;
}

// The classes the regex tells apart: \p{L}, \p{N}, \s and everything else.
enum class Cls : uint8_t { Letter, Number, Space, Other };
Cls classify(uint32_t c) {
  if (c < 0x80) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return Cls::Letter;
    if (c >= '0' && c <= '9') return Cls::Number;
    if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return Cls::Space;
    return Cls::Other;
  }
  if (icu().u_isUWhiteSpace(UChar32(c))) return Cls::Space;  // White_Space, as Oniguruma's \s
  switch (icu().u_charType(UChar32(c))) {
    case U_UPPERCASE_LETTER: case U_LOWERCASE_LETTER: case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER: case U_OTHER_LETTER: return Cls::Letter;
    case U_DECIMAL_DIGIT_NUMBER: case U_LETTER_NUMBER: case U_OTHER_NUMBER: return Cls::Number;
    default: return Cls::Other;
  }
}

struct Cp { uint32_t c; Cls k; size_t at; };

// GPT-2's  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  over
// cps[i, e), leftmost-first like the backtracking engines; a match never crosses e, and e
// counts as the end of the text for the lookahead (HF runs the regex on each Digits piece).
size_t match_len(const std::vector<Cp>& cps, size_t i, size_t e) {
  uint32_t c = cps[i].c;
  if (c == '\'' && i + 1 < e) {
    uint32_t a = cps[i + 1].c;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 < e) {
      uint32_t b = cps[i + 2].c;
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
  }
  size_t j = (c == ' ' && i + 1 < e) ? i + 1 : i;
  Cls k = cps[j].k;
  if (k != Cls::Space) {  // one of the three " ?X+" alternatives
    size_t r = j + 1;
    while (r < e && cps[r].k == k) ++r;
    return r - i;
  }
  // Here cps[i] is whitespace (a space followed by whitespace is too).
  size_t r = i + 1;
  while (r < e && cps[r].k == Cls::Space) ++r;
  if (r == e) return r - i;           // \s+ up to the end
  if (r - i >= 2) return r - i - 1;  // \s+(?!\S): leave the last one to start the next word
  return 1;                          // \s+
}

}  // namespace

size_t utf8_invalid_at(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    uint8_t c = uint8_t(s[i]);
    if (c < 0x80) { ++i; continue; }
    size_t len;
    uint32_t min, cp;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; cp = c & 0x07; }
    else return i;
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      uint8_t d = uint8_t(s[i + k]);
      if ((d & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::vector<std::pair<size_t, size_t>> Tokenizer::pre_tokenize(std::string_view text) {
  std::vector<Cp> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t at = i;
    uint32_t c = next_cp(text, i);
    cps.push_back({c, classify(c), at});
  }
  auto offset = [&](size_t k) { return k < cps.size() ? cps[k].at : text.size(); };
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < cps.size();) {
    // Digits(individual_digits): every \p{N} code point is a piece of its own.
    if (cps[i].k == Cls::Number) {
      out.emplace_back(offset(i), offset(i + 1));
      ++i;
      continue;
    }
    size_t e = i;
    while (e < cps.size() && cps[e].k != Cls::Number) ++e;
    while (i < e) {
      size_t n = match_len(cps, i, e);
      out.emplace_back(offset(i), offset(i + n));
      i += n;
    }
  }
  return out;
}

// Merges the lowest-ranked adjacent pair first, the leftmost among equal ranks, exactly as HF's
// Word::merge_all: heap entries go stale when a neighbour merges and are dropped when popped.
void Tokenizer::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  struct Sym { int32_t id, prev, next; bool alive; };
  struct Cand {
    uint32_t rank;
    int32_t pos, id;
    bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  // A byte without a token is left out before merging, so its neighbours may merge (HF's
  // Word::add skips it; llama.cpp keeps it as a barrier and drops it afterwards).
  std::vector<Sym> sym;
  sym.reserve(piece.size());
  for (char c : piece)
    if (int32_t id = byte_token_[uint8_t(c)]; id >= 0) sym.push_back({id, int32_t(sym.size()) - 1, int32_t(sym.size()) + 1, true});
  const int32_t n = int32_t(sym.size());
  if (n == 0) return;
  sym.back().next = -1;
  if (n == 1) {
    out.push_back(sym[0].id);
    return;
  }
  auto lookup = [&](int32_t a, int32_t b) -> const Merge* {
    auto it = merges_.find(uint64_t(uint32_t(a)) << 32 | uint32_t(b));
    return it == merges_.end() ? nullptr : &it->second;
  };
  std::vector<Cand> heap_store;
  heap_store.reserve(size_t(n));
  std::priority_queue<Cand> heap(std::less<Cand>(), std::move(heap_store));
  for (int32_t i = 0; i + 1 < n; ++i)
    if (auto* m = lookup(sym[size_t(i)].id, sym[size_t(i + 1)].id)) heap.push({m->rank, i, m->id});
  while (!heap.empty()) {
    Cand top = heap.top();
    heap.pop();
    Sym& s = sym[size_t(top.pos)];
    if (!s.alive || s.next < 0) continue;
    Sym& r = sym[size_t(s.next)];
    const Merge* m = lookup(s.id, r.id);
    if (!m || m->id != top.id) continue;  // stale: a neighbour changed since it was queued
    s.id = top.id;
    r.alive = false;
    s.next = r.next;
    if (s.next >= 0) sym[size_t(s.next)].prev = top.pos;
    if (s.prev >= 0)
      if (auto* pm = lookup(sym[size_t(s.prev)].id, s.id)) heap.push({pm->rank, s.prev, pm->id});
    if (s.next >= 0)
      if (auto* nm = lookup(s.id, sym[size_t(s.next)].id)) heap.push({nm->rank, top.pos, nm->id});
  }
  for (int32_t i = 0; i >= 0; i = sym[size_t(i)].next) out.push_back(sym[size_t(i)].id);
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text, const EncodeOptions& o) const {
  if (auto t = load_icu(); !t) return std::unexpected(t.error());
  if (size_t bad = utf8_invalid_at(text); bad != std::string_view::npos)
    return failf(Errc::TextInvalid, "invalid UTF-8 at byte offset {} (byte {:#04x})", bad, uint8_t(text[bad]));
  std::vector<int32_t> ids;
  if (o.add_special && add_bos_ && bos_ >= 0) ids.push_back(bos_);
  auto plain = [&](std::string_view seg) {
    for (auto [b, e] : pre_tokenize(seg)) bpe(seg.substr(b, e - b), ids);
  };
  // Special tokens are cut out first (leftmost, then longest, as HF's added-token matcher).
  size_t start = 0;
  for (size_t p = 0; p < text.size();) {
    int32_t hit = -1;
    for (int32_t id : specials_by_byte_[uint8_t(text[p])]) {
      if (type_[size_t(id)] == TokenType::Control && !o.parse_special) continue;
      if (text.substr(p).starts_with(text_[size_t(id)])) { hit = id; break; }
    }
    if (hit < 0) { ++p; continue; }
    plain(text.substr(start, p - start));
    ids.push_back(hit);
    p += text_[size_t(hit)].size();
    start = p;
  }
  plain(text.substr(start));
  if (o.add_special && add_eos_ && eos_ >= 0) ids.push_back(eos_);
  return ids;
}

Result<std::string> Tokenizer::decode(std::span<const int32_t> ids, const DecodeOptions& o) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    int32_t id = ids[i];
    if (id < 0 || size_t(id) >= text_.size())
      return failf(Errc::TokenInvalid, "token {} (id {}) is outside the vocabulary of {} tokens", i, id, text_.size());
    if (type_[size_t(id)] == TokenType::Control && !o.render_special) continue;
    out += bytes_[size_t(id)];
  }
  return out;
}

int32_t Tokenizer::find(std::string_view t) const {
  auto it = by_text_.find(std::string(t));
  return it == by_text_.end() ? -1 : it->second;
}

namespace {

Result<const KvArray*> get_array(const Gguf& g, const std::string& what, std::string_view key, KvType elem, bool required) {
  auto* v = g.find(key);
  if (!v) {
    if (!required) return nullptr;
    return failf(Errc::ModelInvalid, "{}: metadata '{}' is missing", what, key);
  }
  auto* a = std::get_if<std::shared_ptr<KvArray>>(&v->v);
  if (!a || v->elem != elem)
    return failf(Errc::ModelInvalid, "{}: metadata '{}' is a {}, not an array of {}", what, key,
                 a ? fmt::format("array of {}", kv_type_name(v->elem)) : kv_type_name(v->type), kv_type_name(elem));
  return a->get();
}

// SmolLM2's template adds a default system message; its text sits in the template as
// '<|im_start|>system\n...<|im_end|>' under a messages[0]['role'] != 'system' test.
ChatTemplate read_chat_template(const Gguf& g, bool have_chatml_tokens) {
  ChatTemplate t;
  t.chatml = have_chatml_tokens;
  auto src = g.get_string("tokenizer.chat_template");
  if (!src) return t;
  t.from_metadata = true;
  t.chatml = have_chatml_tokens && src->find("<|im_start|>") != std::string::npos && src->find("<|im_end|>") != std::string::npos;
  constexpr std::string_view head = "<|im_start|>system\n";
  if (src->find("!= 'system'") != std::string::npos || src->find("!= \"system\"") != std::string::npos) {
    if (size_t a = src->find(head); a != std::string::npos) {
      size_t b = src->find("<|im_end|>", a + head.size());
      if (b != std::string::npos) t.default_system = src->substr(a + head.size(), b - a - head.size());
    }
  }
  return t;
}

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const Gguf& g, const std::string& what) {
  if (auto t = load_icu(); !t) return std::unexpected(t.error());
  auto model = g.get_string("tokenizer.ggml.model");
  if (!model) return failf(Errc::ModelInvalid, "{}: {}", what, model.error().detail);
  if (*model != "gpt2") return failf(Errc::Unsupported, "{}: tokenizer model '{}' is not supported (gpt2 byte-level BPE is)", what, *model);
  auto pre = g.get_string("tokenizer.ggml.pre");
  if (!pre) return failf(Errc::Unsupported, "{}: no tokenizer.ggml.pre; only the 'smollm' pre-tokenizer is implemented", what);
  if (*pre != "smollm") return failf(Errc::Unsupported, "{}: pre-tokenizer '{}' is not supported (smollm is)", what, *pre);

  Tokenizer t;
  auto toks = get_array(g, what, "tokenizer.ggml.tokens", KvType::String, true);
  if (!toks) return std::unexpected(toks.error());
  const size_t n = (*toks)->size();
  if (n == 0 || n > size_t(INT32_MAX)) return failf(Errc::ModelInvalid, "{}: tokenizer.ggml.tokens has {} entries", what, n);
  auto types = get_array(g, what, "tokenizer.ggml.token_type", KvType::I32, false);
  if (!types) return std::unexpected(types.error());
  if (*types && (*types)->size() != n)
    return failf(Errc::ModelInvalid, "{}: tokenizer.ggml.token_type has {} entries for {} tokens", what, (*types)->size(), n);
  t.text_.reserve(n);
  t.type_.reserve(n);
  t.bytes_.reserve(n);
  t.by_text_.reserve(n);
  const ByteAlphabet& ab = alphabet();
  for (size_t i = 0; i < n; ++i) {
    t.text_.push_back(std::get<std::string>((**toks)[i].v));
    int64_t ty = *types ? std::get<int64_t>((**types)[i].v) : int64_t(TokenType::Normal);
    if (ty < 0 || ty > int64_t(TokenType::Byte)) return failf(Errc::ModelInvalid, "{}: token {} has type {}", what, i, ty);
    t.type_.push_back(TokenType(ty));
    const std::string& s = t.text_.back();
    // First id wins for a repeated text, as in llama.cpp's token_to_id.
    t.by_text_.emplace(s, int32_t(i));
    std::string b;
    if (t.type_.back() == TokenType::Control || t.type_.back() == TokenType::UserDefined || utf8_invalid_at(s) != std::string::npos) {
      b = s;  // written as themselves (and a malformed entry is passed through, not decoded)
    } else {
      for (size_t k = 0; k < s.size();) {
        size_t at = k;
        uint32_t c = next_cp(s, k);
        if (c < 324 && ab.byte_of[c] >= 0) b += char(ab.byte_of[c]);
        else b.append(s, at, k - at);  // outside the byte alphabet: kept as UTF-8
      }
    }
    t.bytes_.push_back(std::move(b));
  }
  for (uint32_t byte = 0; byte < 256; ++byte) {
    std::string s;
    put_utf8(s, ab.cp[byte]);
    // SmolLM2 has no token for 21 bytes (0x04 0x06 0x13 0x14 0x16 0x1d 0xc0 0xc1 0xf1 0xf2 0xf5..0xff):
    // -1, and the bytes are dropped as HF does without an unk token.
    t.byte_token_[byte] = t.find(s);
  }

  auto merges = get_array(g, what, "tokenizer.ggml.merges", KvType::String, true);
  if (!merges) return std::unexpected(merges.error());
  t.merges_.reserve((*merges)->size());
  for (size_t i = 0; i < (*merges)->size(); ++i) {
    const std::string& m = std::get<std::string>((**merges)[i].v);
    size_t sp = m.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == m.size() || m.find(' ', sp + 1) != std::string::npos)
      return failf(Errc::ModelInvalid, "{}: tokenizer.ggml.merges[{}] '{}' is not two tokens", what, i, m);
    int32_t a = t.find(std::string_view(m).substr(0, sp)), b = t.find(std::string_view(m).substr(sp + 1));
    int32_t ab_id = t.find(m.substr(0, sp) + m.substr(sp + 1));
    if (a < 0 || b < 0 || ab_id < 0)
      return failf(Errc::ModelInvalid, "{}: tokenizer.ggml.merges[{}] '{}' names a token outside the vocabulary", what, i, m);
    // A repeated pair keeps its first (best) rank, as llama.cpp's bpe_ranks.emplace.
    t.merges_.emplace(uint64_t(uint32_t(a)) << 32 | uint32_t(b), Merge{uint32_t(i), ab_id});
  }

  auto id_of = [&](std::string_view key, int32_t& out) -> Status {
    if (!g.find(key)) return {};
    auto v = g.get_uint(key);
    if (!v) return failf(Errc::ModelInvalid, "{}: {}", what, v.error().detail);
    if (*v >= n) return failf(Errc::ModelInvalid, "{}: {} = {} is outside the vocabulary of {} tokens", what, key, *v, n);
    out = int32_t(*v);
    return {};
  };
  for (auto [key, out] : {std::pair{"tokenizer.ggml.bos_token_id", &t.bos_}, {"tokenizer.ggml.eos_token_id", &t.eos_},
                          {"tokenizer.ggml.padding_token_id", &t.pad_}, {"tokenizer.ggml.unknown_token_id", &t.unk_}})
    if (auto s = id_of(key, *out); !s) return std::unexpected(s.error());
  auto flag = [&](std::string_view key) {
    auto* v = g.find(key);
    return v && v->type == KvType::Bool && std::get<uint64_t>(v->v) != 0;
  };
  t.add_bos_ = flag("tokenizer.ggml.add_bos_token");
  t.add_eos_ = flag("tokenizer.ggml.add_eos_token");

  for (size_t i = 0; i < n; ++i)
    if ((t.type_[i] == TokenType::Control || t.type_[i] == TokenType::UserDefined) && !t.text_[i].empty())
      t.specials_by_byte_[uint8_t(t.text_[i][0])].push_back(int32_t(i));
  for (auto& v : t.specials_by_byte_)
    std::stable_sort(v.begin(), v.end(), [&](int32_t a, int32_t b) { return t.text_[size_t(a)].size() > t.text_[size_t(b)].size(); });

  t.chat_ = read_chat_template(g, t.find("<|im_start|>") >= 0 && t.find("<|im_end|>") >= 0);
  return t;
}

Result<std::string> format_chat(const ChatTemplate& t, std::span<const ChatMessage> messages, bool add_generation_prompt) {
  if (!t.chatml) return fail(Errc::Unsupported, "the model's chat template is not ChatML (<|im_start|>/<|im_end|>), the only one rendered");
  std::string out;
  auto turn = [&](std::string_view role, std::string_view content) {
    out += "<|im_start|>";
    out += role;
    out += '\n';
    out += content;
    out += "<|im_end|>\n";
  };
  if (!messages.empty() && messages[0].role != "system" && !t.default_system.empty()) turn("system", t.default_system);
  for (auto& m : messages) turn(m.role, m.content);
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace pxos::llm
