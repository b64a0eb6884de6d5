// tokenizer_test.cpp: the byte-level BPE on tiny generated vocabularies: pre-tokenizer rules,
// merge order and ties, special tokens, dropped bytes, UTF-8 errors, metadata errors, ChatML.
#include <gtest/gtest.h>

#include "gguf_writer.hpp"
#include "llm/tokenizer.hpp"

namespace pxos::llm {
namespace {

using testgguf::GgufWriter;

Tokenizer load(const Bytes& file) {
  auto g = parse_gguf(file, "t.gguf");
  EXPECT_TRUE(g) << g.error().to_string();
  auto t = Tokenizer::from_gguf(*g, "t.gguf");
  EXPECT_TRUE(t) << t.error().to_string();
  return std::move(*t);
}
Tokenizer tiny() { return load(testgguf::tiny_llama()); }

// A tokenizer-only GGUF: byte alphabet (minus `drop`), merged tokens, then `extra` with `types`.
struct Spec {
  std::vector<std::string> merges, extra;
  std::vector<int32_t> extra_types;
  std::vector<uint8_t> drop;  // bytes without a token
  std::string model = "gpt2", pre = "smollm", chat_template;
};
Bytes spec_gguf(const Spec& s) {
  GgufWriter w;
  std::vector<std::string> toks;
  auto alpha = testgguf::byte_alphabet();
  for (size_t b = 0; b < 256; ++b)
    if (std::find(s.drop.begin(), s.drop.end(), uint8_t(b)) == s.drop.end()) toks.push_back(alpha[b]);
  for (auto& m : s.merges) {
    auto sp = m.find(' ');
    toks.push_back(m.substr(0, sp) + m.substr(sp + 1));
  }
  std::vector<int32_t> types(toks.size(), 1);
  for (size_t i = 0; i < s.extra.size(); ++i) { toks.push_back(s.extra[i]); types.push_back(s.extra_types[i]); }
  w.kv_str("tokenizer.ggml.model", s.model);
  w.kv_str("tokenizer.ggml.pre", s.pre);
  w.kv_strs("tokenizer.ggml.tokens", toks);
  w.kv_i32s("tokenizer.ggml.token_type", types);
  w.kv_strs("tokenizer.ggml.merges", s.merges);
  if (!s.chat_template.empty()) w.kv_str("tokenizer.chat_template", s.chat_template);
  return w.finish();
}

std::vector<int32_t> enc(const Tokenizer& t, std::string_view s, EncodeOptions o = {}) {
  auto r = t.encode(s, o);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? *r : std::vector<int32_t>{};
}
std::string dec(const Tokenizer& t, const std::vector<int32_t>& ids) {
  auto r = t.decode(ids);
  EXPECT_TRUE(r) << r.error().to_string();
  return r ? *r : "";
}
std::vector<std::string> pieces(std::string_view s) {
  std::vector<std::string> out;
  for (auto [b, e] : Tokenizer::pre_tokenize(s)) out.emplace_back(s.substr(b, e - b));
  return out;
}
using V = std::vector<std::string>;

TEST(PreTokenizer, GptRegexRules) {
  EXPECT_EQ(pieces("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(pieces("Hello, world!!"), (V{"Hello", ",", " world", "!!"}));
  EXPECT_EQ(pieces(""), V{});
  // contractions are lower case only; upper case splits as punctuation + letters
  EXPECT_EQ(pieces("it's they're we've I'm we'll he'd don't"),
            (V{"it", "'s", " they", "'re", " we", "'ve", " I", "'m", " we", "'ll", " he", "'d", " don", "'t"}));
  EXPECT_EQ(pieces("IT'S WE'LL"), (V{"IT", "'", "S", " WE", "'", "LL"}));
  EXPECT_EQ(pieces("'x"), (V{"'", "x"}));
  // a whitespace run leaves its last space to the next word; at the end it stays whole
  EXPECT_EQ(pieces("a  b"), (V{"a", " ", " b"}));
  EXPECT_EQ(pieces("a \n b"), (V{"a", " \n", " b"}));
  EXPECT_EQ(pieces("x\t\ty"), (V{"x", "\t", "\t", "y"}));
  EXPECT_EQ(pieces("trailing  "), (V{"trailing", "  "}));
  EXPECT_EQ(pieces("   "), (V{"   "}));
  EXPECT_EQ(pieces(" !!! ??"), (V{" !!!", " ??"}));
  // Unicode classes: letters of any script, combining marks are not letters, NBSP is space
  EXPECT_EQ(pieces("日本語 テスト"), (V{"日本語", " テスト"}));
  EXPECT_EQ(pieces("e\u0301t\u00e9"), (V{"e", "\u0301", "t\u00e9"}));
  EXPECT_EQ(pieces("a\u00a0\u00a0b"), (V{"a", "\u00a0", "\u00a0", "b"}));
  EXPECT_EQ(pieces(" \u2003x"), (V{" ", "\u2003", "x"}));
  EXPECT_EQ(pieces("😀👍🏽 ok"), (V{"😀👍🏽", " ok"}));
}

TEST(PreTokenizer, DigitsAreIsolatedFirst) {
  EXPECT_EQ(pieces("12345"), (V{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(pieces("a1b"), (V{"a", "1", "b"}));
  // the space before a digit is not glued to it: Digits cut first, the regex sees "x " alone
  EXPECT_EQ(pieces("x 9"), (V{"x", " ", "9"}));
  EXPECT_EQ(pieces("a  1"), (V{"a", "  ", "1"}));
  EXPECT_EQ(pieces("Ⅻ½٣"), (V{"Ⅻ", "½", "٣"}));  // \p{N} is Nd, Nl and No
}

TEST(Tokenizer, LoadsTinyVocabulary) {
  Tokenizer t = tiny();
  EXPECT_EQ(t.n_vocab(), 269u);
  EXPECT_EQ(t.n_merges(), 10u);
  EXPECT_EQ(t.bos(), 267);
  EXPECT_EQ(t.eos(), 268);
  EXPECT_EQ(t.pad(), -1);
  EXPECT_EQ(t.find("<|im_start|>"), 267);
  EXPECT_EQ(t.token_type(267), TokenType::Control);
  EXPECT_EQ(t.token_bytes(t.find("Ġ")), " ");
  EXPECT_EQ(t.token_bytes(t.byte_token(0)), std::string(1, '\0'));
}

TEST(Tokenizer, MergesByRank) {
  Tokenizer t = tiny();
  EXPECT_EQ(enc(t, " the"), (std::vector<int32_t>{258}));  // Ġ t, h e, then Ġt he
  // "here": "h e" (rank 1) beats "e r" (5), then "r e" (8): he + re, not h + er + e
  EXPECT_EQ(enc(t, "here"), (std::vector<int32_t>{257, 264}));
  // the merge "1 2" never applies: digits reach BPE one at a time
  EXPECT_EQ(enc(t, "12"), (std::vector<int32_t>{t.byte_token('1'), t.byte_token('2')}));
}

TEST(Tokenizer, EqualRanksMergeLeftmostFirst) {
  Tokenizer t = load(spec_gguf({.merges = {"a a"}}));
  int32_t aa = t.find("aa"), a = t.byte_token('a');
  EXPECT_EQ(enc(t, "aaa"), (std::vector<int32_t>{aa, a}));  // not a + aa
  EXPECT_EQ(enc(t, "aaaaa"), (std::vector<int32_t>{aa, aa, a}));
  // a merge that a new neighbour enables joins the queue: "aa a" after both "a a"
  Tokenizer u = load(spec_gguf({.merges = {"a a", "aa a"}}));
  EXPECT_EQ(enc(u, "aaa"), (std::vector<int32_t>{u.find("aaa")}));
  EXPECT_EQ(enc(u, "aaaa"), (std::vector<int32_t>{u.find("aa"), u.find("aa")}));  // "a a" ranks first
}

TEST(Tokenizer, SpecialTokensInText) {
  Tokenizer t = tiny();
  int32_t x = t.byte_token('x');
  EXPECT_EQ(enc(t, "<|im_start|>x<|im_end|>"), (std::vector<int32_t>{267, x, 268}));
  auto plain = enc(t, "<|im_start|>", {.parse_special = false});
  EXPECT_EQ(plain.size(), 12u);  // one byte token each: the tiny vocabulary has no merges for it
  EXPECT_EQ(dec(t, plain), "<|im_start|>");
  EXPECT_EQ(enc(t, "<|im_start"), enc(t, "<|im_start", {.parse_special = false}));
  // leftmost, then longest; USER_DEFINED tokens match even without parse_special
  Tokenizer u = load(spec_gguf({.extra = {"ab", "abc", "zz"}, .extra_types = {3, 3, 4}}));
  EXPECT_EQ(enc(u, "xabcd"), (std::vector<int32_t>{u.byte_token('x'), u.find("abc"), u.byte_token('d')}));
  EXPECT_EQ(enc(u, "abzz", {.parse_special = false}),
            (std::vector<int32_t>{u.byte_token('a'), u.byte_token('b'), u.find("zz")}));
  // add_special follows the model's add_bos/add_eos flags, which the tiny model does not set
  EXPECT_EQ(enc(t, "x", {.add_special = true}), (std::vector<int32_t>{x}));
}

TEST(Tokenizer, AddSpecialAddsBosAndEosWhenAsked) {
  GgufWriter w;
  testgguf::write_bpe_tokenizer(w, testgguf::kTinyMerges, testgguf::kTinyControls, "");
  Bytes f = w.finish();
  auto g = parse_gguf(f, "t.gguf");
  ASSERT_TRUE(g);
  // The writer has no bool setter; the flags go straight into the parsed metadata.
  g->kvs.push_back({"tokenizer.ggml.add_bos_token", KvValue{KvType::Bool, uint64_t(1)}});
  g->kvs.push_back({"tokenizer.ggml.add_eos_token", KvValue{KvType::Bool, uint64_t(1)}});
  auto t = Tokenizer::from_gguf(*g, "t.gguf");
  ASSERT_TRUE(t);
  EXPECT_EQ(enc(*t, "x", {.add_special = true}), (std::vector<int32_t>{t->bos(), t->byte_token('x'), t->eos()}));
  EXPECT_EQ(enc(*t, "x"), (std::vector<int32_t>{t->byte_token('x')}));
}

TEST(Tokenizer, RoundTripsEveryByteAndScript) {
  Tokenizer t = tiny();
  std::string all;
  for (int b = 1; b < 0x80; ++b) all += char(b);
  all += '\0';
  for (std::string s : {all, std::string("héllo wörld 日本語 👨‍👩‍👧‍👦 e\u0301  \n\n\t x "), std::string(" the  there\r\n"),
                        std::string("<|im_start|>user\nhi<|im_end|>\n"), std::string("")}) {
    EXPECT_EQ(dec(t, enc(t, s)), s);
    EXPECT_EQ(dec(t, enc(t, s, {.parse_special = false})), s);
  }
  EXPECT_TRUE(enc(t, "").empty());
  EXPECT_EQ(*t.decode(std::vector<int32_t>{267, t.byte_token('x'), 268}, {.render_special = false}), "x");
}

TEST(Tokenizer, BytesWithoutATokenAreDroppedBeforeMerging) {
  // SmolLM2 has no token for 0x04 (and 20 more bytes); HF drops such a byte and merges across it.
  Tokenizer t = load(spec_gguf({.merges = {"! !"}, .drop = {0x04}}));
  EXPECT_EQ(t.byte_token(0x04), -1);
  EXPECT_EQ(enc(t, "!\x04!"), (std::vector<int32_t>{t.find("!!")}));
  EXPECT_TRUE(enc(t, "\x04").empty());
}

TEST(Tokenizer, LongInputsEncode) {
  // One 200 KB pre-token (no spaces): quadratic merging would run for minutes (ctest's timeout
  // is the guard; no timing is measured here).
  Tokenizer t = load(spec_gguf({.merges = {"a a", "aa aa", "aaaa aaaa"}}));
  std::string s(200000, 'a');
  auto ids = enc(t, s);
  EXPECT_EQ(ids.size(), 200000u / 8);
  EXPECT_EQ(dec(t, ids), s);
  std::string spaces(200000, ' ');
  EXPECT_EQ(dec(t, enc(t, spaces)), spaces);
}

TEST(Tokenizer, InvalidUtf8NamesTheOffset) {
  Tokenizer t = tiny();
  struct Case { std::string s; size_t at; };
  for (auto& c : {Case{"\xff", 0}, Case{"ab\xc3", 2}, Case{"ok\xc0\xaf", 2}, Case{"\xed\xa0\x80", 0},
                  Case{"x\xf4\x90\x80\x80", 1}, Case{"\xe2\x82", 0}, Case{"abc\x80", 3}, Case{"\xe0\x80\x80", 0}}) {
    auto r = t.encode(c.s);
    ASSERT_FALSE(r) << c.s;
    EXPECT_EQ(r.error().code, Errc::TextInvalid);
    EXPECT_NE(r.error().detail.find(fmt::format("byte offset {} ", c.at)), std::string::npos) << r.error().detail;
    EXPECT_EQ(utf8_invalid_at(c.s), c.at);
  }
  EXPECT_EQ(utf8_invalid_at("\xf4\x8f\xbf\xbf \xef\xbf\xbf"), std::string_view::npos);
}

TEST(Tokenizer, DecodeRefusesIdsOutsideTheVocabulary) {
  Tokenizer t = tiny();
  for (int32_t bad : {-1, 269, INT32_MAX}) {
    auto r = t.decode(std::vector<int32_t>{1, bad});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::TokenInvalid);
    EXPECT_NE(r.error().detail.find(std::to_string(bad)), std::string::npos);
  }
}

Errc load_error(const Bytes& f, std::string_view needle) {
  auto g = parse_gguf(f, "t.gguf");
  EXPECT_TRUE(g);
  auto t = Tokenizer::from_gguf(*g, "t.gguf");
  EXPECT_FALSE(t);
  if (t) return Errc::Ok;
  EXPECT_NE(t.error().detail.find(needle), std::string::npos) << t.error().detail;
  EXPECT_EQ(t.error().detail.find('\n'), std::string::npos);
  return t.error().code;
}

TEST(Tokenizer, MetadataErrors) {
  EXPECT_EQ(load_error(spec_gguf({.model = "llama"}), "tokenizer model 'llama'"), Errc::Unsupported);
  EXPECT_EQ(load_error(spec_gguf({.pre = "gpt-4o"}), "pre-tokenizer 'gpt-4o'"), Errc::Unsupported);
  EXPECT_EQ(load_error(spec_gguf({.merges = {"a b c"}}), "merges[0] 'a b c'"), Errc::ModelInvalid);
  EXPECT_EQ(load_error(spec_gguf({.merges = {"ab"}}), "merges[0] 'ab'"), Errc::ModelInvalid);
  EXPECT_EQ(load_error(spec_gguf({.merges = {"a b", "q xyz"}}), "merges[1]"), Errc::ModelInvalid);
  EXPECT_EQ(load_error(spec_gguf({.extra = {"x"}, .extra_types = {9}}), "has type 9"), Errc::ModelInvalid);
  GgufWriter none;
  none.kv_str("tokenizer.ggml.model", "gpt2");
  none.kv_str("tokenizer.ggml.pre", "smollm");
  EXPECT_EQ(load_error(none.finish(), "'tokenizer.ggml.tokens' is missing"), Errc::ModelInvalid);
  GgufWriter wrong;
  wrong.kv_str("tokenizer.ggml.model", "gpt2");
  wrong.kv_str("tokenizer.ggml.pre", "smollm");
  wrong.kv_i32s("tokenizer.ggml.tokens", {1, 2});
  EXPECT_EQ(load_error(wrong.finish(), "not an array of string"), Errc::ModelInvalid);
  GgufWriter short_types;
  short_types.kv_str("tokenizer.ggml.model", "gpt2");
  short_types.kv_str("tokenizer.ggml.pre", "smollm");
  short_types.kv_strs("tokenizer.ggml.tokens", testgguf::byte_alphabet());
  short_types.kv_i32s("tokenizer.ggml.token_type", {1});
  EXPECT_EQ(load_error(short_types.finish(), "token_type has 1 entries for 256 tokens"), Errc::ModelInvalid);
  GgufWriter bos;
  bos.kv_str("tokenizer.ggml.model", "gpt2");
  bos.kv_str("tokenizer.ggml.pre", "smollm");
  bos.kv_strs("tokenizer.ggml.tokens", testgguf::byte_alphabet());
  bos.kv_strs("tokenizer.ggml.merges", {});
  bos.kv_u32("tokenizer.ggml.bos_token_id", 256);
  EXPECT_EQ(load_error(bos.finish(), "bos_token_id = 256 is outside"), Errc::ModelInvalid);
}

// SmolLM2-135M-Instruct's tokenizer.chat_template, as its GGUF holds it.
const std::string kSmolTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n"
    "' + message['content'] + '<|im_end|>' + '\n"
    "'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n"
    "' }}{% endif %}";

TEST(Chat, TinyTemplateIsPlainChatML) {
  Tokenizer t = tiny();
  EXPECT_TRUE(t.chat_template().from_metadata);
  EXPECT_TRUE(t.chat_template().chatml);
  std::vector<ChatMessage> m = {{"user", "hi"}};
  EXPECT_EQ(*format_chat(t.chat_template(), m, true), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(*format_chat(t.chat_template(), m, false), "<|im_start|>user\nhi<|im_end|>\n");
  auto ids = enc(t, *format_chat(t.chat_template(), m, true));
  EXPECT_EQ(ids.front(), 267);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 267), 2);
}

TEST(Chat, SmolLM2DefaultSystemMessage) {
  Tokenizer t = load(spec_gguf({.extra = {"<|im_start|>", "<|im_end|>"}, .extra_types = {3, 3}, .chat_template = kSmolTemplate}));
  ASSERT_TRUE(t.chat_template().chatml);
  EXPECT_EQ(t.chat_template().default_system, "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  std::vector<ChatMessage> user = {{"user", "Hi"}};
  EXPECT_EQ(*format_chat(t.chat_template(), user, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  std::vector<ChatMessage> sys = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}};
  EXPECT_EQ(*format_chat(t.chat_template(), sys, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n");
  EXPECT_EQ(*format_chat(t.chat_template(), {}, true), "<|im_start|>assistant\n");
}

TEST(Chat, AbsentOrForeignTemplate) {
  // No template but ChatML tokens: plain ChatML. A template of another family: refused.
  Tokenizer none = load(spec_gguf({.extra = {"<|im_start|>", "<|im_end|>"}, .extra_types = {3, 3}}));
  EXPECT_FALSE(none.chat_template().from_metadata);
  EXPECT_TRUE(none.chat_template().chatml);
  EXPECT_EQ(*format_chat(none.chat_template(), std::vector<ChatMessage>{{"user", "x"}}, false), "<|im_start|>user\nx<|im_end|>\n");
  Tokenizer llama3 = load(spec_gguf({.extra = {"<|im_start|>", "<|im_end|>"}, .extra_types = {3, 3},
                                     .chat_template = "{{ '<|start_header_id|>' + message['role'] }}"}));
  auto r = format_chat(llama3.chat_template(), std::vector<ChatMessage>{{"user", "x"}}, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Unsupported);
  Tokenizer bare = load(spec_gguf({}));  // neither template nor ChatML tokens
  EXPECT_FALSE(format_chat(bare.chat_template(), {}, true));
}

}  // namespace
}  // namespace pxos::llm
