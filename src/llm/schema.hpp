// schema.hpp: JSON Schema (a documented subset, docs/llm.md "Structured output") compiled to a
// byte-level pushdown automaton over compact JSON, and the token-level constraint that masks
// every token whose bytes cannot continue a valid prefix (a trie over the vocabulary's bytes).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "llm/tokenizer.hpp"

namespace pxos::llm {

namespace schema_tun {
inline constexpr size_t kMaxDepth = 32;          // nested containers the automaton follows (deeper: refused)
inline constexpr size_t kMaxNodes = 4096;        // compiled schema nodes (a bigger schema is Unsupported)
inline constexpr size_t kMaxProperties = 64;     // properties of one object: one bit each in a frame
inline constexpr size_t kMaxPatternStates = 64;  // NFA states of one pattern: one bit each
inline constexpr size_t kMaxStacks = 16;         // live anyOf alternatives followed at once
inline constexpr uint32_t kMaxIntDigits = 15;    // digits before the point: exact in a double, and finite
inline constexpr uint32_t kMaxFracDigits = 15;   // digits after it
inline constexpr uint32_t kMaxExpDigits = 2;     // exponent digits (unbounded numbers only)
}  // namespace schema_tun

struct Grammar;  // the compiled schema (immutable, shared by every request that uses it)

// Compiles SCHEMA. A keyword outside the subset is Unsupported naming it and its JSON pointer
// ("/properties/a: keyword 'format' is not supported"); a contradictory or malformed schema
// (minLength > maxLength, a non-array enum, an empty enum after type filtering) is SchemaInvalid.
Result<std::shared_ptr<const Grammar>> compile_schema(const nlohmann::json& schema);
// {"type": "json_object"}: any JSON object.
std::shared_ptr<const Grammar> json_object_grammar();

// The automaton's state: a set of stacks (more than one only while anyOf alternatives overlap).
class JsonMatcher {
 public:
  explicit JsonMatcher(std::shared_ptr<const Grammar> g);
  // Appends BYTES if every one continues a valid prefix; otherwise false and the state is unchanged.
  bool feed(std::string_view bytes);
  // The text so far is one complete value of the schema.
  bool can_finish() const;
  // Complete and nothing may follow (the only continuation is the end).
  bool must_finish() const;

  enum class FrameKind : uint8_t { Root, Obj, Arr, Str, Key, Lit, KeyLit, Num };
  struct Frame {  // one open value of the parse (the fields' meaning depends on `kind`)
    FrameKind kind = FrameKind::Root;
    uint8_t phase = 0;
    uint8_t flags = 0;
    uint8_t need = 0, nlo = 0, nhi = 0;  // Str: UTF-8 continuation bytes still due and the next one's range
    uint16_t esc = 0;                    // Str: 0 none, 1 after '\', 2..5 hex digits of \u seen + 1
    uint32_t node = 0;
    uint32_t a = 0, b = 0;               // Str: code points, partial code point; Lit: lo, hi; Arr: items; Num: digits
    uint32_t c = 0;                      // Lit: offset; Obj: node of the current value; Num: frac/exp digits
    uint64_t x = 0;                      // Obj, KeyLit: keys seen; Str: pattern NFA states; Key: known keys [lo, hi] still spelt
    double v = 0;                        // Num: magnitude so far
    bool operator==(const Frame&) const = default;
  };
  struct State {
    std::vector<Frame> frames;       // all stacks, one after another
    std::vector<uint32_t> ends;      // where each stack ends in `frames`
    bool closing = false;            // only the shortest way to the end is open (set_closing)
  };
  // Closing mode (when the token budget runs short): strings take no more characters than
  // minLength asks, arrays and objects no more items or keys than required, numbers no more
  // digits once complete, so the text ends within a few tokens of the required parts.
  void set_closing(bool on) { st_.closing = on; }

 private:
  friend class TokenConstraint;
  std::shared_ptr<const Grammar> g_;
  State st_;
};

// The vocabulary's token bytes as a trie (CONTROL tokens and empty tokens left out: they are
// never part of a JSON text). Built once per tokenizer.
struct TokenTrie {
  std::vector<uint32_t> edge_begin;  // node i's edges: [edge_begin[i], edge_begin[i+1])
  std::vector<uint8_t> edge_byte;
  std::vector<uint32_t> edge_child;
  std::vector<uint32_t> tok_begin;   // node i's tokens (those whose bytes end there)
  std::vector<int32_t> toks;
  size_t n_vocab = 0;
  static std::shared_ptr<const TokenTrie> build(const Tokenizer& t);
};

// Constrains generation to the schema: END_IDS (the model's end-of-turn tokens) are allowed only
// where the text is complete; every other token only where its bytes continue a valid prefix.
class TokenConstraint {
 public:
  TokenConstraint(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenTrie> trie, const Tokenizer& tok,
                  std::vector<int32_t> end_ids);
  bool allows(int32_t id) const;
  // Sets the logit of every token not allowed to -inf; returns how many stay allowed.
  size_t mask(std::span<float> logits);
  // Appends an allowed token's bytes (an end token leaves the state as it is).
  void accept(int32_t id);
  bool must_finish() const { return m_.must_finish(); }
  void set_closing(bool on) { m_.set_closing(on); }
  bool can_finish() const { return m_.can_finish(); }

 private:
  void walk(uint32_t node, size_t depth);
  JsonMatcher m_;
  std::shared_ptr<const TokenTrie> trie_;
  const Tokenizer& tok_;
  std::vector<int32_t> end_ids_;
  std::vector<JsonMatcher::State> level_;  // the DFS's state at each trie depth (buffers reused)
  std::vector<uint8_t> allowed_;
  std::vector<JsonMatcher::Frame> scratch_;
  // Masks by state (inside a long string every token sees the same one).
  static constexpr size_t kCacheEntries = 32;
  std::string key() const;
  std::unordered_map<std::string, std::vector<uint8_t>> cache_;
  size_t max_token_bytes_ = 0;
};

// The sampler's choice under the constraint: the unconstrained draw when the constraint allows
// it, else a second draw from the masked LOGITS (which it overwrites). For a plain temperature
// draw this is exactly the distribution restricted to the allowed tokens (the first draw is kept
// with probability p(t), the second adds (1 - Z) p(t) / Z). -1: no token is allowed.
class Sampler;
int32_t sample_constrained(Sampler& s, TokenConstraint* c, std::span<float> logits, std::span<const int32_t> history);

}  // namespace pxos::llm
