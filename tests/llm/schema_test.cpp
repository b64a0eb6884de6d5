// schema_test.cpp: the JSON Schema compiler's errors, the byte-level matcher on every supported
// keyword (accepted and refused texts), and the token constraint on a tiny byte-level vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gguf_writer.hpp"
#include "llm/schema.hpp"

namespace pxos::llm {
namespace {
using nlohmann::json;

std::shared_ptr<const Grammar> G(const char* schema) {
  auto g = compile_schema(json::parse(schema));
  EXPECT_TRUE(g) << schema << ": " << (g ? "" : g.error().to_string());
  return g ? *g : json_object_grammar();
}
// Whole text accepted and complete.
bool full(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  JsonMatcher m(g);
  return m.feed(text) && m.can_finish();
}
// Accepted as a prefix (maybe incomplete).
bool prefix(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  JsonMatcher m(g);
  return m.feed(text);
}
Error err(const char* schema) {
  auto g = compile_schema(json::parse(schema));
  EXPECT_FALSE(g) << schema;
  return g ? Error{} : g.error();
}

TEST(SchemaCompile, UnsupportedKeywordIsNamedWithItsPointer) {
  auto e = err(R"({"type":"object","properties":{"a":{"type":"string","format":"date"}}})");
  EXPECT_EQ(e.code, Errc::Unsupported);
  EXPECT_NE(e.detail.find("'format'"), std::string::npos) << e.detail;
  EXPECT_NE(e.detail.find("/properties/a"), std::string::npos) << e.detail;
  EXPECT_EQ(err(R"({"$ref":"#/$defs/x"})").code, Errc::Unsupported);
  EXPECT_EQ(err(R"({"oneOf":[{"type":"string"}]})").code, Errc::Unsupported);
  EXPECT_EQ(err(R"({"anyOf":[{"type":"string"}],"type":"string"})").code, Errc::Unsupported);
  EXPECT_EQ(err(R"(false)").code, Errc::Unsupported);
  EXPECT_EQ(err(R"J({"type":"string","pattern":"(?=a)"})J").code, Errc::Unsupported);
  EXPECT_EQ(err(R"({"type":"string","pattern":"a|^b"})").code, Errc::Unsupported);
  EXPECT_EQ(err(R"({"type":"integer","minimum":1e20})").code, Errc::Unsupported);
}

TEST(SchemaCompile, ContradictionsAndMalformedSchemasAreInvalid) {
  EXPECT_EQ(err(R"({"type":"string","minLength":5,"maxLength":2})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"array","minItems":3,"maxItems":1})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"integer","minimum":1.2,"maximum":1.8})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"strin"})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"string","enum":[1,2]})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"enum":[]})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"string","maxLength":-1})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"string","pattern":"[a-"})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"string","pattern":"(ab"})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"({"type":"string","pattern":"[^\\s\\S]"})").code, Errc::SchemaInvalid);
  EXPECT_EQ(err(R"(3)").code, Errc::SchemaInvalid);
}

TEST(SchemaMatch, ObjectsRequiredAndNoAdditional) {
  auto g = G(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"}},
                 "required":["a"],"additionalProperties":false})");
  EXPECT_TRUE(full(g, R"({"a":1})"));
  EXPECT_TRUE(full(g, R"({"a":1,"b":true})"));
  EXPECT_TRUE(full(g, R"({"b":false, "a": -3})"));
  EXPECT_FALSE(full(g, R"({"b":false})"));      // a is required
  EXPECT_FALSE(prefix(g, R"({"c")"));           // no other keys
  EXPECT_FALSE(prefix(g, R"({"a":1,"a")"));     // no key twice
  EXPECT_FALSE(prefix(g, R"({"a":1,"b":true,)"));  // nothing left to write
  EXPECT_FALSE(prefix(g, R"( {"a":1})"));       // no leading space
  EXPECT_FALSE(prefix(g, R"({"a":1}x)"));
  EXPECT_FALSE(prefix(g, R"({"a":  1})"));      // one space at most
}

TEST(SchemaMatch, AdditionalPropertiesTakeTheirSchemaAndKnownKeysTheirs) {
  auto g = G(R"({"type":"object","properties":{"ab":{"type":"integer"}},"additionalProperties":{"type":"string"}})");
  EXPECT_TRUE(full(g, R"({"ab":1,"a":"x","abc":"y"})"));
  EXPECT_FALSE(full(g, R"({"ab":"x"})"));  // "ab" is known: an integer
  EXPECT_FALSE(full(g, R"({"a":1})"));
  auto any = json_object_grammar();
  EXPECT_TRUE(full(any, R"({"x":[1,2.5,-3e+2,{"y":null}],"z":"\u00e9\n","t":true})"));
  EXPECT_TRUE(full(any, R"({})"));
  EXPECT_FALSE(full(any, R"([])"));
  EXPECT_FALSE(prefix(any, R"({"x":01)"));
}

TEST(SchemaMatch, StringsLengthsInCodePointsEscapesAndUtf8) {
  auto g = G(R"({"type":"string","minLength":2,"maxLength":3})");
  EXPECT_FALSE(full(g, R"("a")"));
  EXPECT_TRUE(full(g, R"("ab")"));
  EXPECT_TRUE(full(g, "\"\xc3\xa9\xe2\x82\xac\""));  // two code points, five bytes
  EXPECT_TRUE(full(g, R"("a\n\u0041")"));
  EXPECT_FALSE(prefix(g, R"("abcd)"));
  EXPECT_FALSE(prefix(g, "\"\x01"));          // raw control character
  EXPECT_FALSE(prefix(g, "\"\xc0\xaf"));      // overlong
  EXPECT_FALSE(prefix(g, "\"\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(prefix(g, R"("\ud800)"));      // surrogate escape
  EXPECT_FALSE(prefix(g, R"("\x)"));
}

TEST(SchemaMatch, PatternsOnCodePoints) {
  auto g = G(R"({"type":"string","pattern":"^[a-z][a-z0-9_]{0,3}$"})");
  EXPECT_TRUE(full(g, R"("a")"));
  EXPECT_TRUE(full(g, R"("ab_9")"));
  EXPECT_FALSE(prefix(g, R"("9)"));
  EXPECT_FALSE(prefix(g, R"("abcde)"));
  EXPECT_FALSE(full(g, R"("")"));
  EXPECT_FALSE(prefix(g, "\"\xc3"));  // no non-ASCII character can follow
  EXPECT_FALSE(prefix(g, "\"a\xf0"));  // a four-byte lead spells U+10000 and up only
  auto u = G(R"({"type":"string","pattern":"x\\d+"})");  // unanchored: contains
  EXPECT_TRUE(full(u, R"("--x12--")"));
  EXPECT_FALSE(full(u, R"("--x--")"));
  auto alt = G(R"({"type":"string","pattern":"^(?:cat|dog)s?$"})");
  EXPECT_TRUE(full(alt, R"("dogs")"));
  EXPECT_FALSE(full(alt, R"("cow")"));
  auto e = G(R"({"type":"string","pattern":"^\\u00e9.$"})");
  EXPECT_TRUE(full(e, "\"\xc3\xa9z\""));
  EXPECT_TRUE(full(e, R"("\u00e9z")"));
}

TEST(SchemaMatch, EnumConstAndLiterals) {
  auto g = G(R"({"enum":["red","green",1,12,null,{"a":1}]})");
  for (auto t : {R"("red")", R"("green")", "1", "12", "null", R"({"a":1})"}) EXPECT_TRUE(full(g, t)) << t;
  EXPECT_FALSE(full(g, "123"));
  EXPECT_FALSE(full(g, R"("gree")"));
  auto c = G(R"({"const":"x"})");
  EXPECT_TRUE(full(c, R"("x")"));
  EXPECT_FALSE(full(c, R"("y")"));
  auto s = G(R"({"type":"string","enum":["a","b",3]})");  // 3 is not a string: left out
  EXPECT_FALSE(full(s, "3"));
  auto b = G(R"({"type":"boolean"})");
  EXPECT_TRUE(full(b, "true"));
  EXPECT_FALSE(full(b, "tru"));
  EXPECT_TRUE(full(G(R"({"type":"null"})"), "null"));
}

TEST(SchemaMatch, NumbersWithBounds) {
  auto i = G(R"({"type":"integer","minimum":-5,"maximum":120})");
  for (auto t : {"0", "-5", "120", "7", "99", "-1"}) EXPECT_TRUE(full(i, t)) << t;
  for (auto t : {"-6", "121", "1.5", "1e2", "007", "-"}) EXPECT_FALSE(full(i, t)) << t;
  EXPECT_FALSE(prefix(i, "2000"));  // no digit string past the bound is followed
}

TEST(SchemaMatch, NumberPrefixesStopAtTheBounds) {
  auto i = G(R"({"type":"integer","minimum":10,"maximum":12})");
  EXPECT_TRUE(full(i, "11"));
  EXPECT_FALSE(prefix(i, "2"));
  EXPECT_FALSE(prefix(i, "13"));
  EXPECT_FALSE(prefix(i, "-"));
  auto n = G(R"({"type":"number","minimum":0.5,"maximum":1})");
  EXPECT_TRUE(full(n, "0.75"));
  EXPECT_TRUE(full(n, "1"));
  EXPECT_TRUE(full(n, "1.0"));
  EXPECT_FALSE(prefix(n, "1.5"));
  EXPECT_FALSE(prefix(n, "0.4"));
  EXPECT_FALSE(full(n, "0"));
  auto any = G(R"({"type":"number"})");
  EXPECT_TRUE(full(any, "-0.5e-3"));
  EXPECT_FALSE(prefix(any, "1234567890123456"));  // past the digit limit
}

TEST(SchemaMatch, ArraysItemsAndCounts) {
  auto g = G(R"({"type":"array","items":{"type":"integer","minimum":0},"minItems":1,"maxItems":3})");
  EXPECT_FALSE(full(g, "[]"));
  EXPECT_TRUE(full(g, "[1]"));
  EXPECT_TRUE(full(g, "[1, 2,3]"));
  EXPECT_FALSE(prefix(g, "[1,2,3,"));
  EXPECT_FALSE(prefix(g, "[-1"));
  EXPECT_TRUE(full(G(R"({"type":"array","maxItems":0})"), "[]"));
}

TEST(SchemaMatch, AnyOfAndTypeListsFollowEveryAlternative) {
  auto g = G(R"({"anyOf":[{"type":"string","maxLength":2},{"type":"integer"},
                          {"type":"object","properties":{"k":{"type":"null"}},"required":["k"],"additionalProperties":false}]})");
  EXPECT_TRUE(full(g, R"("ab")"));
  EXPECT_TRUE(full(g, "42"));
  EXPECT_TRUE(full(g, R"({"k":null})"));
  EXPECT_FALSE(full(g, R"("abc")"));
  EXPECT_FALSE(full(g, R"({})"));
  auto t = G(R"({"type":["string","null"],"maxLength":1})");
  EXPECT_TRUE(full(t, "null"));
  EXPECT_TRUE(full(t, R"("x")"));
  // Overlapping alternatives: both stay alive until one is ruled out.
  auto o = G(R"({"anyOf":[{"type":"string","maxLength":3},{"type":"string","pattern":"^a+$"}]})");
  EXPECT_TRUE(full(o, R"("aaaaa")"));
  EXPECT_TRUE(full(o, R"("xyz")"));
  EXPECT_FALSE(full(o, R"("xyzw")"));
}

TEST(SchemaMatch, NestedObjectsAndDepthLimit) {
  auto g = G(R"({"type":"object","properties":{"o":{"type":"object","properties":{"p":{"type":"array",
                 "items":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}},"required":["p"]}},
                 "required":["o"],"additionalProperties":false})");
  EXPECT_TRUE(full(g, R"({"o":{"p":[{"q":"x"},{"q":"y","z":1}]}})"));
  EXPECT_FALSE(full(g, R"({"o":{"p":[{}]}})"));
  std::string deep(schema_tun::kMaxDepth + 2, '[');
  EXPECT_FALSE(prefix(G("{}"), deep));
}

TEST(SchemaMatch, RejectedFeedLeavesTheStateUnchanged) {
  JsonMatcher m(G(R"({"type":"array","items":{"type":"boolean"}})"));
  EXPECT_TRUE(m.feed("[tr"));
  EXPECT_FALSE(m.feed("ux"));
  EXPECT_TRUE(m.feed("ue]"));
  EXPECT_TRUE(m.can_finish());
  EXPECT_TRUE(m.must_finish());
}

TEST(SchemaMatch, ClosingModeTakesTheShortestWayToTheEnd) {
  JsonMatcher m(G(R"({"type":"object","properties":{"task":{"type":"string","minLength":1},"notes":{"type":"array"},
                      "rationale":{"type":"string","minLength":2},"n":{"type":"integer"}},"required":["task","rationale","n"]})"));
  ASSERT_TRUE(m.feed(R"({"task":"ab)"));
  m.set_closing(true);
  EXPECT_FALSE(m.feed("c"));                    // no more characters
  EXPECT_TRUE(m.feed(R"(")"));
  EXPECT_FALSE(m.feed(R"(,"notes")"));          // optional keys are closed
  EXPECT_FALSE(m.feed(R"(,"other")"));          // so are additional ones
  EXPECT_TRUE(m.feed(R"(,"rationale":"x)"));    // minLength 2 still holds
  EXPECT_FALSE(m.feed(R"(")"));
  EXPECT_TRUE(m.feed(R"(y","n":4)"));
  EXPECT_FALSE(m.feed("2"));                    // complete numbers take no more digits
  EXPECT_FALSE(m.feed(","));
  EXPECT_TRUE(m.feed("}"));
  EXPECT_TRUE(m.must_finish());
}

// The token constraint on the tiny byte-level vocabulary (every byte a token, a few merges).
Tokenizer tiny() {
  static Bytes file = testgguf::tiny_llama();
  auto g = parse_gguf(file, "t.gguf");
  EXPECT_TRUE(g);
  auto t = Tokenizer::from_gguf(*g, "t.gguf");
  EXPECT_TRUE(t);
  return std::move(*t);
}

TEST(TokenConstraint, MasksToValidContinuationsAndEndsOnlyWhenComplete) {
  const Tokenizer tok = tiny();
  auto trie = TokenTrie::build(tok);
  const int32_t end = tok.find("<|im_end|>");
  ASSERT_GE(end, 0);
  auto g = G(R"({"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":9}},"required":["n"],"additionalProperties":false})");
  TokenConstraint c(g, trie, tok, {end});
  std::vector<float> logits(tok.n_vocab(), 0.0f);
  EXPECT_EQ(c.mask(logits), 1u);  // only '{'
  EXPECT_TRUE(c.allows(tok.byte_token('{')));
  EXPECT_FALSE(c.allows(end));
  for (char ch : std::string(R"({"n":)")) c.accept(tok.byte_token(uint8_t(ch)));
  std::fill(logits.begin(), logits.end(), 0.0f);
  EXPECT_EQ(c.mask(logits), 11u);  // ten digits and one space
  c.accept(tok.byte_token('7'));
  EXPECT_FALSE(c.allows(tok.byte_token('0')));
  c.accept(tok.byte_token('}'));
  EXPECT_TRUE(c.must_finish());
  std::fill(logits.begin(), logits.end(), 0.0f);
  EXPECT_EQ(c.mask(logits), 1u);
  EXPECT_EQ(logits[size_t(end)], 0.0f);
  EXPECT_FALSE(c.allows(tok.find("<|im_start|>")));
}

// Random logits, sampled through the mask until the end token: the text always completes.
TEST(TokenConstraint, RandomWalksAlwaysComplete) {
  const Tokenizer tok = tiny();
  auto trie = TokenTrie::build(tok);
  const int32_t end = tok.find("<|im_end|>");
  auto g = G(R"({"type":"object","properties":{"s":{"type":"string","maxLength":5},"a":{"type":"array","items":{"enum":[1,"x",true]},"maxItems":3},
                 "i":{"type":"integer","minimum":-20,"maximum":20}},"required":["s","a","i"],"additionalProperties":false})");
  std::mt19937 rng(7);
  for (int run = 0; run < 50; ++run) {
    TokenConstraint c(g, trie, tok, {end});
    std::string text;
    bool ended = false;
    for (int step = 0; step < 400 && !ended; ++step) {
      std::vector<float> logits(tok.n_vocab());
      for (auto& l : logits) l = std::uniform_real_distribution<float>(0, 1)(rng);
      ASSERT_GT(c.mask(logits), 0u) << text;
      int32_t best = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
      ASSERT_TRUE(c.allows(best));
      if (best == end) { ended = true; break; }
      c.accept(best);
      text += tok.token_bytes(best);
    }
    ASSERT_TRUE(ended) << text;
    auto j = json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << text;
    size_t cps = 0;  // maxLength counts code points
    for (char ch : j["s"].get<std::string>()) cps += (uint8_t(ch) & 0xC0) != 0x80;
    EXPECT_LE(cps, 5u) << text;
    EXPECT_LE(j["a"].size(), 3u);
    EXPECT_LE(std::abs(j["i"].get<int>()), 20);
  }
}

}  // namespace
}  // namespace pxos::llm
