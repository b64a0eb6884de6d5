// schema.cpp: the JSON Schema compiler (schema -> nodes), the pattern subset (regex -> a bit-set
// NFA over code points), the byte-level pushdown matcher over compact JSON, and the trie walk
// that turns the matcher into a token mask.
#include "llm/schema.hpp"

#include "llm/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

namespace pxos::llm {
using nlohmann::json;
namespace tun = schema_tun;

// ---------------------------------------------------------------------------------------------
// Patterns: a subset of ECMA regexes (docs/llm.md): literals, escapes \d \w \s \D \W \S and
// escaped punctuation, classes [..] with ranges and negation, '.', groups (...) and (?:...),
// alternation, quantifiers * + ? {n} {n,} {n,m}; ^ and $ only at the ends. Matching is on the
// string's code points; unanchored ends match anything, as JSON Schema's search semantics ask.
// ---------------------------------------------------------------------------------------------
namespace {

constexpr uint32_t kMaxCp = 0x10FFFF;

struct CharSet {
  std::vector<std::pair<uint32_t, uint32_t>> r;  // inclusive ranges, not negated
  bool intersects(uint32_t lo, uint32_t hi) const {
    for (auto& [a, b] : r)
      if (a <= hi && lo <= b) return true;
    return false;
  }
  bool has(uint32_t c) const { return intersects(c, c); }
  static CharSet negate(const CharSet& s) {
    auto v = s.r;
    std::sort(v.begin(), v.end());
    CharSet out;
    uint32_t next = 0;
    for (auto& [a, b] : v) {
      if (a > next) out.r.push_back({next, a - 1});
      next = std::max(next, b + 1);
    }
    if (next <= kMaxCp) out.r.push_back({next, kMaxCp});
    return out;
  }
};

struct Re {  // AST
  enum K { Set, Cat, Alt, Rep, Empty } k = Empty;
  CharSet set;
  std::vector<Re> kids;
  uint32_t min = 0, max = 0;  // Rep; max UINT32_MAX: unbounded
};

class ReParser {
 public:
  ReParser(std::string_view p, std::string where) : p_(p), where_(std::move(where)) {}
  Result<Re> parse() {
    auto r = alt(0);
    if (!r) return r;
    if (i_ < p_.size()) return err("unexpected ')'");
    return r;
  }

 private:
  std::unexpected<Error> err(std::string_view what, Errc c = Errc::Unsupported) {
    return failf(c, "{}: pattern '{}' at character {}: {}", where_, p_, i_, what);
  }
  Result<uint32_t> cp() {  // one UTF-8 code point of the pattern
    auto b = uint8_t(p_[i_]);
    int n = b < 0x80 ? 0 : b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
    if (i_ + size_t(n) >= p_.size() + (n ? 0 : 1) && n) return err("truncated UTF-8", Errc::SchemaInvalid);
    uint32_t c = n == 0 ? b : n == 1 ? b & 0x1F : n == 2 ? b & 0x0F : b & 0x07;
    ++i_;
    for (int k = 0; k < n; ++k) c = c << 6 | (uint8_t(p_[i_++]) & 0x3F);
    return c;
  }
  static CharSet cls(char e) {
    CharSet s;
    switch (e | 0x20) {
      case 'd': s.r = {{'0', '9'}}; break;
      case 'w': s.r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
      case 's': s.r = {{9, 13}, {' ', ' '}, {0xA0, 0xA0}, {0x2028, 0x2029}, {0xFEFF, 0xFEFF}}; break;
    }
    return (e >= 'A' && e <= 'Z') ? CharSet::negate(s) : s;
  }
  // After a backslash: a class escape (sets *set) or one literal code point.
  Result<uint32_t> escape(CharSet* set, bool& is_set) {
    if (i_ >= p_.size()) return err("a trailing backslash", Errc::SchemaInvalid);
    char e = p_[i_];
    is_set = false;
    if (std::strchr("dDwWsS", e)) { ++i_; is_set = true; *set = cls(e); return 0u; }
    if (e == 'n') { ++i_; return 10u; }
    if (e == 't') { ++i_; return 9u; }
    if (e == 'r') { ++i_; return 13u; }
    if (e == 'f') { ++i_; return 12u; }
    if (e == 'v') { ++i_; return 11u; }
    if (e == 'u' && i_ + 4 < p_.size() + 1) {
      uint32_t v = 0;
      for (size_t k = 1; k <= 4; ++k) {
        char h = i_ + k < p_.size() ? p_[i_ + k] : 0;
        int d = h >= '0' && h <= '9' ? h - '0' : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10 : -1;
        if (d < 0) return err("\\u needs four hex digits", Errc::SchemaInvalid);
        v = v * 16 + uint32_t(d);
      }
      i_ += 5;
      return v;
    }
    if (std::isalnum(uint8_t(e))) return err(fmt::format("escape '\\{}' is not in the supported subset", e));
    return cp();  // escaped punctuation: itself
  }
  Result<Re> atom() {
    Re r;
    r.k = Re::Set;
    char c = p_[i_];
    if (c == '(') {
      ++i_;
      if (p_.substr(i_, 2) == "?:") i_ += 2;
      else if (i_ < p_.size() && p_[i_] == '?') return err("only (?:...) groups are supported");
      auto in = alt(1);
      if (!in) return in;
      if (i_ >= p_.size() || p_[i_] != ')') return err("an unclosed group", Errc::SchemaInvalid);
      ++i_;
      return in;
    }
    if (c == '.') { ++i_; r.set.r = {{0, 9}, {11, 12}, {14, 0x2027}, {0x202A, kMaxCp}}; return r; }
    if (c == '\\') {
      ++i_;
      bool is_set;
      auto v = escape(&r.set, is_set);
      if (!v) return std::unexpected(v.error());
      if (!is_set) r.set.r = {{*v, *v}};
      return r;
    }
    if (c == '[') {
      ++i_;
      bool neg = i_ < p_.size() && p_[i_] == '^';
      if (neg) ++i_;
      CharSet s;
      bool first = true;
      while (i_ < p_.size() && (p_[i_] != ']' || first)) {
        first = false;
        uint32_t a;
        if (p_[i_] == '\\') {
          ++i_;
          bool is_set;
          CharSet sub;
          auto v = escape(&sub, is_set);
          if (!v) return std::unexpected(v.error());
          if (is_set) { s.r.insert(s.r.end(), sub.r.begin(), sub.r.end()); continue; }
          a = *v;
        } else {
          auto v = cp();
          if (!v) return std::unexpected(v.error());
          a = *v;
        }
        uint32_t b = a;
        if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
          ++i_;
          if (p_[i_] == '\\') {
            ++i_;
            bool is_set;
            CharSet sub;
            auto v = escape(&sub, is_set);
            if (!v) return std::unexpected(v.error());
            if (is_set) return err("a class escape as a range end", Errc::SchemaInvalid);
            b = *v;
          } else {
            auto v = cp();
            if (!v) return std::unexpected(v.error());
            b = *v;
          }
          if (b < a) return err("a range out of order", Errc::SchemaInvalid);
        }
        s.r.push_back({a, b});
      }
      if (i_ >= p_.size()) return err("an unclosed '['", Errc::SchemaInvalid);
      ++i_;
      r.set = neg ? CharSet::negate(s) : s;
      return r;
    }
    if (c == '^' || c == '$') return err("'^' and '$' are supported only at the ends of the pattern");
    if (std::strchr("*+?{", c)) return err("a quantifier with nothing to repeat", Errc::SchemaInvalid);
    auto v = cp();
    if (!v) return std::unexpected(v.error());
    r.set.r = {{*v, *v}};
    return r;
  }
  Result<uint32_t> number() {
    size_t s = i_;
    uint32_t v = 0;
    while (i_ < p_.size() && std::isdigit(uint8_t(p_[i_])) && v < 1000) v = v * 10 + uint32_t(p_[i_++] - '0');
    if (i_ == s) return err("a number expected in {}", Errc::SchemaInvalid);
    if (v >= 1000) return err("a repeat count of 1000 or more");
    return v;
  }
  Result<Re> repeat() {
    auto a = atom();
    if (!a) return a;
    while (i_ < p_.size() && std::strchr("*+?{", p_[i_])) {
      Re r;
      r.k = Re::Rep;
      char q = p_[i_++];
      if (q == '*') { r.min = 0; r.max = UINT32_MAX; }
      else if (q == '+') { r.min = 1; r.max = UINT32_MAX; }
      else if (q == '?') { r.min = 0; r.max = 1; }
      else {
        auto n = number();
        if (!n) return std::unexpected(n.error());
        r.min = r.max = *n;
        if (i_ < p_.size() && p_[i_] == ',') {
          ++i_;
          r.max = UINT32_MAX;
          if (i_ < p_.size() && p_[i_] != '}') {
            auto m = number();
            if (!m) return std::unexpected(m.error());
            r.max = *m;
          }
        }
        if (i_ >= p_.size() || p_[i_] != '}') return err("an unclosed '{'", Errc::SchemaInvalid);
        ++i_;
        if (r.max < r.min) return err("{n,m} with m < n", Errc::SchemaInvalid);
      }
      if (i_ < p_.size() && p_[i_] == '?') return err("lazy quantifiers are not supported");
      r.kids.push_back(std::move(*a));
      *a = std::move(r);
    }
    return a;
  }
  Result<Re> cat() {
    Re r;
    r.k = Re::Cat;
    while (i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') {
      auto a = repeat();
      if (!a) return a;
      r.kids.push_back(std::move(*a));
    }
    return r;
  }
  Result<Re> alt(int depth) {
    if (depth > 32) return err("groups nested too deeply");
    Re r;
    r.k = Re::Alt;
    while (true) {
      auto c = cat();
      if (!c) return c;
      r.kids.push_back(std::move(*c));
      if (i_ < p_.size() && p_[i_] == '|') { ++i_; continue; }
      break;
    }
    if (depth && i_ >= p_.size()) return err("an unclosed group", Errc::SchemaInvalid);
    return r;
  }
  std::string_view p_;
  std::string where_;
  size_t i_ = 0;
};

}  // namespace

// Thompson NFA; a state with `set` >= 0 consumes one code point of classes[set] to reach `out`,
// otherwise it is a split to out/out2 (-1: none). Sets of states are bits of a uint64_t.
struct Pattern {
  struct St { int set = -1, out = -1, out2 = -1; };
  std::vector<St> st;
  std::vector<CharSet> sets;
  int accept = -1;
  std::vector<uint64_t> closure;  // epsilon closure of each state, pruned to live states
  uint64_t start = 0, accepting = 0, live = 0;

  uint64_t step(uint64_t m, uint32_t c) const {
    uint64_t out = 0;
    for (uint64_t b = m; b; b &= b - 1) {
      const auto& s = st[size_t(std::countr_zero(b))];
      if (s.set >= 0 && sets[size_t(s.set)].has(c)) out |= closure[size_t(s.out)];
    }
    return out;
  }
  bool possible(uint64_t m, uint32_t lo, uint32_t hi) const {  // some code point in [lo, hi] continues
    for (uint64_t b = m; b; b &= b - 1) {
      const auto& s = st[size_t(std::countr_zero(b))];
      if (s.set >= 0 && closure[size_t(s.out)] && sets[size_t(s.set)].intersects(lo, hi)) return true;
    }
    return false;
  }
};

namespace {

struct NfaBuilder {
  Pattern& p;
  bool too_big = false;
  int add(Pattern::St s) {
    if (p.st.size() >= tun::kMaxPatternStates) { too_big = true; return 0; }
    p.st.push_back(s);
    return int(p.st.size() - 1);
  }
  // Compiles R so that it continues to state NEXT; returns its entry state.
  int build(const Re& r, int next) {
    if (too_big) return 0;
    switch (r.k) {
      case Re::Empty: return next;
      case Re::Set:
        p.sets.push_back(r.set);
        return add({int(p.sets.size() - 1), next, -1});
      case Re::Cat: {
        int e = next;
        for (size_t i = r.kids.size(); i-- > 0;) e = build(r.kids[i], e);
        return e;
      }
      case Re::Alt: {
        if (r.kids.size() == 1) return build(r.kids[0], next);
        int e = build(r.kids.back(), next);
        for (size_t i = r.kids.size() - 1; i-- > 0;) {
          int a = build(r.kids[i], next);
          e = add({-1, a, e});
        }
        return e;
      }
      case Re::Rep: {
        const Re& k = r.kids[0];
        int e = next;
        if (r.max == UINT32_MAX) {
          int loop = add({-1, -1, next});  // split: into the body or on
          int body = build(k, loop);
          if (too_big) return 0;
          p.st[size_t(loop)].out = body;
          e = loop;
        } else {
          for (uint32_t i = r.min; i < r.max && !too_big; ++i) {  // optional copies
            int body = build(k, e);
            e = add({-1, body, next});
          }
        }
        for (uint32_t i = 0; i < r.min && !too_big; ++i) e = build(k, e);
        return e;
      }
    }
    return next;
  }
};

}  // namespace

static Result<std::shared_ptr<const Pattern>> compile_pattern(std::string_view src, const std::string& where) {
  if (utf8_invalid_at(src) != std::string_view::npos) return failf(Errc::SchemaInvalid, "{}: pattern is not valid UTF-8", where);
  bool begin = src.starts_with('^'), end = src.ends_with('$') && !src.ends_with("\\$");
  std::string_view body = src.substr(begin ? 1 : 0);
  if (end) body.remove_suffix(1);
  ReParser rp(body, where);
  auto re = rp.parse();
  if (!re) return std::unexpected(re.error());
  // An unanchored end matches anything before or after: wrap in [^]* as JSON Schema searches.
  Re any;
  any.k = Re::Rep;
  any.max = UINT32_MAX;
  Re all;
  all.k = Re::Set;
  all.set.r = {{0, kMaxCp}};
  any.kids.push_back(all);
  if ((begin || end) && re->k == Re::Alt && re->kids.size() > 1)
    return failf(Errc::Unsupported, "{}: pattern '{}': '^'/'$' with a top-level '|' (group the alternatives)", where, src);
  Re whole;
  whole.k = Re::Cat;
  if (!begin) whole.kids.push_back(any);
  whole.kids.push_back(std::move(*re));
  if (!end) whole.kids.push_back(any);
  auto p = std::make_shared<Pattern>();
  NfaBuilder b{*p};
  p->accept = b.add({});
  int entry = b.build(whole, p->accept);
  if (b.too_big) return failf(Errc::Unsupported, "{}: pattern '{}' needs more than {} automaton states", where, src, tun::kMaxPatternStates);
  const size_t n = p->st.size();
  // Live states: those from which the accept state can be reached.
  std::vector<bool> live(n, false);
  live[size_t(p->accept)] = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (live[i]) continue;
      auto& s = p->st[i];
      bool l = (s.out >= 0 && live[size_t(s.out)]) || (s.out2 >= 0 && live[size_t(s.out2)]);
      if (l && s.set >= 0 && p->sets[size_t(s.set)].r.empty()) l = false;
      if (l) live[i] = changed = true;
    }
  }
  p->closure.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    uint64_t seen = 0;
    std::vector<int> todo{int(i)};
    while (!todo.empty()) {
      int s = todo.back();
      todo.pop_back();
      if (s < 0 || !live[size_t(s)] || (seen >> s & 1)) continue;
      seen |= 1ull << s;
      if (p->st[size_t(s)].set < 0) { todo.push_back(p->st[size_t(s)].out); todo.push_back(p->st[size_t(s)].out2); }
    }
    uint64_t keep = 0;  // only consuming states and the accept state matter in a set
    for (uint64_t b2 = seen; b2; b2 &= b2 - 1) {
      int s = std::countr_zero(b2);
      if (p->st[size_t(s)].set >= 0 || s == p->accept) keep |= 1ull << s;
    }
    p->closure[i] = keep;
  }
  p->start = p->closure[size_t(entry)];
  p->accepting = 1ull << p->accept;
  if (!p->start) return failf(Errc::SchemaInvalid, "{}: pattern '{}' matches nothing", where, src);
  return p;
}

// ---------------------------------------------------------------------------------------------
// The compiled schema.
// ---------------------------------------------------------------------------------------------
enum class NK : uint8_t { Any, Null, Bool, Int, Num, Str, Lit, Arr, Obj, AnyOf };

struct Node {
  NK k = NK::Any;
  double lo = -INFINITY, hi = INFINITY;                        // Int, Num
  uint32_t min_len = 0, max_len = UINT32_MAX;                  // Str
  std::shared_ptr<const Pattern> pattern;                      // Str
  std::vector<std::string> lits;                               // Lit: compact JSON texts, sorted; Obj: encoded keys, sorted
  std::vector<uint32_t> prop_node;                             // Obj: node of lits[i]'s value
  uint64_t required = 0;                                       // Obj: bits of lits
  int additional = -1;                                         // Obj: node of other keys' values, -1: none
  uint32_t items = 0, min_items = 0, max_items = UINT32_MAX;   // Arr
  std::vector<uint32_t> alts;                                  // AnyOf
};

// Nodes every grammar has, in this order.
enum : uint32_t { kAny, kAnyObj, kAnyArr, kAnyStr, kAnyNum, kNull, kBool, kFixed };

struct Grammar {
  std::vector<Node> nodes;
  uint32_t root = kAny;
};

namespace {

Grammar base_grammar() {
  Grammar g;
  g.nodes.resize(kFixed);
  g.nodes[kAny].k = NK::Any;
  g.nodes[kAnyObj].k = NK::Obj;
  g.nodes[kAnyObj].additional = kAny;
  g.nodes[kAnyArr].k = NK::Arr;
  g.nodes[kAnyArr].items = kAny;
  g.nodes[kAnyStr].k = NK::Str;
  g.nodes[kAnyNum].k = NK::Num;
  g.nodes[kNull].k = NK::Lit;
  g.nodes[kNull].lits = {"null"};
  g.nodes[kBool].k = NK::Lit;
  g.nodes[kBool].lits = {"false", "true"};
  return g;
}

// Keywords that only annotate: accepted and ignored.
constexpr std::string_view kAnnotations[] = {"title", "description", "$schema", "$id", "$comment", "default", "examples",
                                              "deprecated", "readOnly", "writeOnly"};
constexpr std::string_view kKnown[] = {"type", "properties", "required", "additionalProperties", "items", "minItems",
                                        "maxItems", "minLength", "maxLength", "pattern", "enum", "const", "minimum",
                                        "maximum", "anyOf"};

bool is_annotation(std::string_view k) {
  return std::find(std::begin(kAnnotations), std::end(kAnnotations), k) != std::end(kAnnotations);
}

class Compiler {
 public:
  Grammar g = base_grammar();
  Result<uint32_t> node(const json& s, const std::string& ptr, int depth) {
    const std::string where = ptr.empty() ? "schema" : "schema " + ptr;
    if (depth > int(tun::kMaxDepth)) return failf(Errc::Unsupported, "{}: nested deeper than {}", where, tun::kMaxDepth);
    if (s.is_boolean()) {
      if (s.get<bool>()) return uint32_t(kAny);
      return failf(Errc::Unsupported, "{}: the schema 'false' (nothing validates) is not supported", where);
    }
    if (!s.is_object()) return failf(Errc::SchemaInvalid, "{}: a schema must be an object or a boolean", where);
    for (auto& [k, v] : s.items()) {
      if (is_annotation(k)) continue;
      if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown))
        return failf(Errc::Unsupported, "{}: keyword '{}' is not supported", where, k);
    }
    if (auto a = s.find("anyOf"); a != s.end()) {
      for (auto& [k, v] : s.items())
        if (k != "anyOf" && !is_annotation(k))
          return failf(Errc::Unsupported, "{}: 'anyOf' beside '{}' is not supported (put it in each alternative)", where, k);
      if (!a->is_array() || a->empty()) return failf(Errc::SchemaInvalid, "{}: 'anyOf' must be a non-empty array", where);
      Node n;
      n.k = NK::AnyOf;
      for (size_t i = 0; i < a->size(); ++i) {
        auto c = node((*a)[i], fmt::format("{}/anyOf/{}", ptr, i), depth + 1);
        if (!c) return c;
        n.alts.push_back(*c);
      }
      return add(std::move(n), where);
    }
    std::vector<std::string> types;
    if (auto t = s.find("type"); t != s.end()) {
      if (t->is_string()) types.push_back(t->get<std::string>());
      else if (t->is_array() && !t->empty()) {
        for (auto& e : *t) {
          if (!e.is_string()) return failf(Errc::SchemaInvalid, "{}: 'type' entries must be strings", where);
          types.push_back(e.get<std::string>());
        }
      } else return failf(Errc::SchemaInvalid, "{}: 'type' must be a string or a non-empty array", where);
      for (auto& ty : types)
        if (ty != "object" && ty != "array" && ty != "string" && ty != "integer" && ty != "number" && ty != "boolean" && ty != "null")
          return failf(Errc::SchemaInvalid, "{}: unknown type '{}'", where, ty);
    } else {
      // No type: the one its keywords imply (docs/llm.md), else any value.
      if (s.contains("properties") || s.contains("required") || s.contains("additionalProperties")) types = {"object"};
      else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) types = {"array"};
      else if (s.contains("minLength") || s.contains("maxLength") || s.contains("pattern")) types = {"string"};
      else if (s.contains("minimum") || s.contains("maximum")) types = {"number"};
    }
    if (s.contains("enum") || s.contains("const")) return literals(s, types, where);
    if (types.empty()) return uint32_t(kAny);
    if (types.size() == 1) return typed(s, types[0], ptr, where, depth);
    Node n;
    n.k = NK::AnyOf;
    for (auto& ty : types) {
      auto c = typed(s, ty, ptr, where, depth);
      if (!c) return c;
      n.alts.push_back(*c);
    }
    return add(std::move(n), where);
  }

 private:
  Result<uint32_t> add(Node n, const std::string& where) {
    if (g.nodes.size() >= tun::kMaxNodes) return failf(Errc::Unsupported, "{}: the schema has more than {} parts", where, tun::kMaxNodes);
    g.nodes.push_back(std::move(n));
    return uint32_t(g.nodes.size() - 1);
  }
  static bool type_matches(const json& v, const std::string& ty) {
    if (ty == "object") return v.is_object();
    if (ty == "array") return v.is_array();
    if (ty == "string") return v.is_string();
    if (ty == "integer") return v.is_number_integer() || v.is_number_unsigned() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    if (ty == "number") return v.is_number();
    if (ty == "boolean") return v.is_boolean();
    return v.is_null();
  }
  Result<uint32_t> literals(const json& s, const std::vector<std::string>& types, const std::string& where) {
    json vals = json::array();
    if (auto c = s.find("const"); c != s.end()) vals.push_back(*c);
    if (auto e = s.find("enum"); e != s.end()) {
      if (!e->is_array() || e->empty()) return failf(Errc::SchemaInvalid, "{}: 'enum' must be a non-empty array", where);
      if (s.contains("const")) {
        json keep = json::array();
        for (auto& v : *e)
          if (v == vals[0]) keep.push_back(v);
        vals = keep;
      } else vals = *e;
    }
    Node n;
    n.k = NK::Lit;
    for (auto& v : vals) {
      bool ok = types.empty();
      for (auto& ty : types) ok |= type_matches(v, ty);
      if (ok) n.lits.push_back(v.dump());
    }
    std::sort(n.lits.begin(), n.lits.end());
    n.lits.erase(std::unique(n.lits.begin(), n.lits.end()), n.lits.end());
    if (n.lits.empty()) return failf(Errc::SchemaInvalid, "{}: no 'enum'/'const' value has the schema's type", where);
    return add(std::move(n), where);
  }
  static Result<uint32_t> count(const json& s, const char* key, const std::string& where, uint32_t dflt) {
    auto it = s.find(key);
    if (it == s.end()) return dflt;
    if (!it->is_number_integer() && !it->is_number_unsigned()) return failf(Errc::SchemaInvalid, "{}: '{}' must be a non-negative integer", where, key);
    if (it->is_number_integer() && it->get<int64_t>() < 0) return failf(Errc::SchemaInvalid, "{}: '{}' must be a non-negative integer", where, key);
    uint64_t v = it->get<uint64_t>();
    return uint32_t(std::min<uint64_t>(v, UINT32_MAX - 1));
  }
  Result<uint32_t> typed(const json& s, const std::string& ty, const std::string& ptr, const std::string& where, int depth) {
    Node n;
    if (ty == "null") return uint32_t(kNull);
    if (ty == "boolean") return uint32_t(kBool);
    if (ty == "integer" || ty == "number") {
      n.k = ty == "integer" ? NK::Int : NK::Num;
      for (auto [key, dst] : {std::pair{"minimum", &n.lo}, std::pair{"maximum", &n.hi}}) {
        auto it = s.find(key);
        if (it == s.end()) continue;
        if (!it->is_number()) return failf(Errc::SchemaInvalid, "{}: '{}' must be a number", where, key);
        *dst = it->get<double>();
        if (std::fabs(*dst) >= 1e15) return failf(Errc::Unsupported, "{}: '{}' {} is past the supported range (|x| < 1e15)", where, key, *dst);
      }
      if (n.k == NK::Int) { n.lo = std::ceil(n.lo); n.hi = std::floor(n.hi); }
      if (n.lo > n.hi) return failf(Errc::SchemaInvalid, "{}: no {} lies between minimum and maximum", where, ty);
      if (n.lo == -INFINITY && n.hi == INFINITY && n.k == NK::Num) return uint32_t(kAnyNum);
      return add(std::move(n), where);
    }
    if (ty == "string") {
      n.k = NK::Str;
      auto mn = count(s, "minLength", where, 0), mx = count(s, "maxLength", where, UINT32_MAX);
      if (!mn) return std::unexpected(mn.error());
      if (!mx) return std::unexpected(mx.error());
      n.min_len = *mn;
      n.max_len = *mx;
      if (n.min_len > n.max_len) return failf(Errc::SchemaInvalid, "{}: minLength {} > maxLength {}", where, n.min_len, n.max_len);
      if (auto p = s.find("pattern"); p != s.end()) {
        if (!p->is_string()) return failf(Errc::SchemaInvalid, "{}: 'pattern' must be a string", where);
        auto pat = compile_pattern(p->get<std::string>(), where);
        if (!pat) return std::unexpected(pat.error());
        n.pattern = *pat;
      }
      if (!n.pattern && n.min_len == 0 && n.max_len == UINT32_MAX) return uint32_t(kAnyStr);
      return add(std::move(n), where);
    }
    if (ty == "array") {
      n.k = NK::Arr;
      n.items = kAny;
      if (auto it = s.find("items"); it != s.end()) {
        if (it->is_array()) return failf(Errc::Unsupported, "{}: 'items' as an array (tuples) is not supported", where);
        auto c = node(*it, ptr + "/items", depth + 1);
        if (!c) return c;
        n.items = *c;
      }
      auto mn = count(s, "minItems", where, 0), mx = count(s, "maxItems", where, UINT32_MAX);
      if (!mn) return std::unexpected(mn.error());
      if (!mx) return std::unexpected(mx.error());
      n.min_items = *mn;
      n.max_items = *mx;
      if (n.min_items > n.max_items) return failf(Errc::SchemaInvalid, "{}: minItems {} > maxItems {}", where, n.min_items, n.max_items);
      return add(std::move(n), where);
    }
    // object
    n.k = NK::Obj;
    n.additional = kAny;
    std::map<std::string, uint32_t> props;  // name -> node
    if (auto p = s.find("properties"); p != s.end()) {
      if (!p->is_object()) return failf(Errc::SchemaInvalid, "{}: 'properties' must be an object", where);
      if (p->size() > tun::kMaxProperties)
        return failf(Errc::Unsupported, "{}: more than {} properties in one object", where, tun::kMaxProperties);
      for (auto& [k, v] : p->items()) {
        auto c = node(v, ptr + "/properties/" + k, depth + 1);
        if (!c) return c;
        props[k] = *c;
      }
    }
    std::vector<std::pair<std::string, uint32_t>> enc;
    for (auto& [k, v] : props) enc.push_back({json(k).dump(), v});
    std::sort(enc.begin(), enc.end());
    for (auto& [k, v] : enc) { n.lits.push_back(k); n.prop_node.push_back(v); }
    if (auto r = s.find("required"); r != s.end()) {
      if (!r->is_array()) return failf(Errc::SchemaInvalid, "{}: 'required' must be an array", where);
      for (auto& e : *r) {
        if (!e.is_string()) return failf(Errc::SchemaInvalid, "{}: 'required' entries must be strings", where);
        auto key = json(e.get<std::string>()).dump();
        auto it = std::lower_bound(n.lits.begin(), n.lits.end(), key);
        if (it == n.lits.end() || *it != key)
          return failf(Errc::Unsupported, "{}: required property '{}' has no schema in 'properties'", where, e.get<std::string>());
        n.required |= 1ull << (it - n.lits.begin());
      }
    }
    if (auto a = s.find("additionalProperties"); a != s.end()) {
      if (a->is_boolean() && !a->get<bool>()) n.additional = -1;
      else {
        auto c = node(*a, ptr + "/additionalProperties", depth + 1);
        if (!c) return c;
        n.additional = int(*c);
      }
    }
    return add(std::move(n), where);
  }
};

}  // namespace

Result<std::shared_ptr<const Grammar>> compile_schema(const json& schema) {
  Compiler c;
  auto root = c.node(schema, "", 0);
  if (!root) return std::unexpected(root.error());
  c.g.root = *root;
  return std::make_shared<const Grammar>(std::move(c.g));
}

std::shared_ptr<const Grammar> json_object_grammar() {
  static const auto g = [] {
    Grammar gr = base_grammar();
    gr.root = kAnyObj;
    return std::make_shared<const Grammar>(std::move(gr));
  }();
  return g;
}

// ---------------------------------------------------------------------------------------------
// The matcher: a stack of frames per parse; bytes are compact JSON, with one optional space
// after ':' and ',' (the models write them) and none elsewhere (so generation always advances).
// ---------------------------------------------------------------------------------------------
using FK = JsonMatcher::FrameKind;



namespace {
using Frame = JsonMatcher::Frame;
using Stack = std::vector<Frame>;

enum : uint8_t { kClosed = 1, kSpace = 2, kNeg = 4, kXout = 8 };
// Obj phases
enum : uint8_t { O_Open, O_Colon, O_AfterColon, O_AfterValue, O_AfterComma, O_InKey, O_InValue };
// Arr phases
enum : uint8_t { A_Open, A_AfterValue, A_AfterComma, A_InValue };
// Num phases
enum : uint8_t { N_Start, N_Minus, N_Zero, N_Int, N_Dot, N_Frac, N_E, N_ESign, N_Exp };

double pow10(uint32_t j) {
  static const auto t = [] {
    std::array<double, 40> p{};
    double v = 1;
    for (auto& e : p) { e = v; v *= 10; }
    return p;
  }();
  return t[std::min<uint32_t>(j, 39)];
}

struct Ctx {
  const Grammar& g;
  std::vector<Frame>& out;        // finished stacks, flattened
  std::vector<uint32_t>& ends;
  bool closing = false;
  void emit(const Stack& s) {
    if (ends.size() >= tun::kMaxStacks) return;
    // The same stack twice (overlapping anyOf alternatives) is followed once.
    uint32_t begin = 0;
    for (uint32_t e : ends) {
      if (e - begin == s.size() && std::equal(s.begin(), s.end(), out.begin() + begin)) return;
      begin = e;
    }
    out.insert(out.end(), s.begin(), s.end());
    ends.push_back(uint32_t(out.size()));
  }
};

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

// Number feasibility: can a number whose magnitude lies in [a, b) (closed: [a, b]) still fall in
// the node's bounds, given the sign?
bool meets(const Node& n, bool neg, double a, double b, bool closed) {
  double lo = neg ? -n.hi : n.lo, hi = neg ? -n.lo : n.hi;
  return a <= hi && (closed ? b >= lo : b > lo);
}
// The magnitudes a number prefix in phase P can still reach.
bool feasible(const Node& n, const Frame& f, uint8_t p) {
  const bool neg = f.flags & kNeg, integer = n.k == NK::Int;
  if (n.lo == -INFINITY && n.hi == INFINITY) return true;
  switch (p) {
    case N_Minus: return meets(n, true, 0, INFINITY, false) && n.lo < 0;
    case N_Zero: return integer ? meets(n, neg, 0, 0, true) : meets(n, neg, 0, 1, false);
    case N_Int: {
      for (uint32_t j = 0; f.a + j <= tun::kMaxIntDigits; ++j) {
        double lo = f.v * pow10(j), hi = (f.v + 1) * pow10(j);
        if (integer ? (j == 0 ? meets(n, neg, f.v, f.v, true) : meets(n, neg, lo, hi - 1, true)) : meets(n, neg, lo, hi, false))
          return true;
      }
      return false;
    }
    case N_Frac: return meets(n, neg, f.v, f.v + 1 / pow10(f.c), false);
    default: return true;
  }
}
bool num_in_range(const Node& n, const Frame& f) {
  double v = (f.flags & kNeg) ? -f.v : f.v;
  if (f.v == 0) v = 0;
  return v >= n.lo && v <= n.hi;
}

bool can_end(const Grammar& g, const Frame& f) {
  const Node& n = g.nodes[f.node];
  switch (f.kind) {
    case FK::Root: return f.phase == 1;
    case FK::Obj: case FK::Arr: case FK::Str: case FK::Key: return f.flags & kClosed;
    case FK::Lit: return f.c == n.lits[f.a].size();
    case FK::KeyLit: return f.c == n.lits[f.a].size() && !(f.x >> f.a & 1);
    case FK::Num:
      if (f.phase == N_Zero || f.phase == N_Int || f.phase == N_Frac) return num_in_range(n, f);
      return f.phase == N_Exp;
  }
  return false;
}

void child_done(Frame& parent, const Frame& child, const Grammar& g) {
  switch (parent.kind) {
    case FK::Root: parent.phase = 1; break;
    case FK::Arr: parent.phase = A_AfterValue; parent.a++; parent.flags &= uint8_t(~kSpace); break;
    case FK::Obj: {
      const Node& n = g.nodes[parent.node];
      if (parent.phase == O_InKey) {
        parent.phase = O_Colon;
        if (child.kind == FK::KeyLit) {
          parent.x |= 1ull << child.a;
          parent.c = n.prop_node[child.a];
        } else {
          parent.c = uint32_t(n.additional);
        }
      } else {
        parent.phase = O_AfterValue;
        parent.flags &= uint8_t(~kSpace);
      }
      break;
    }
    default: break;
  }
}

void feed_stack(Ctx& cx, Stack& s, uint8_t c);

// Starts a value of NODE with byte C on top of S (forks for anyOf).
void start_value(Ctx& cx, Stack s, uint32_t node, uint8_t c) {
  const Node& n = cx.g.nodes[node];
  if (n.k == NK::AnyOf) {
    for (uint32_t a : n.alts) start_value(cx, s, a, c);
    return;
  }
  Frame f;
  f.node = node;
  switch (n.k) {
    case NK::Any:
      if (c == '{') return start_value(cx, std::move(s), kAnyObj, c);
      if (c == '[') return start_value(cx, std::move(s), kAnyArr, c);
      if (c == '"') return start_value(cx, std::move(s), kAnyStr, c);
      if (c == 't' || c == 'f') return start_value(cx, std::move(s), kBool, c);
      if (c == 'n') return start_value(cx, std::move(s), kNull, c);
      if (c == '-' || is_digit(c)) return start_value(cx, std::move(s), kAnyNum, c);
      return;
    case NK::Null: case NK::Bool: case NK::Lit:
      f.kind = FK::Lit;
      f.a = 0;
      f.b = uint32_t(n.lits.size() - 1);
      break;
    case NK::Int: case NK::Num: f.kind = FK::Num; f.phase = N_Start; break;
    case NK::Str:
      if (c != '"') return;
      f.kind = FK::Str;
      if (n.pattern) f.x = n.pattern->start;
      if (s.size() >= tun::kMaxDepth) return;
      s.push_back(f);
      cx.emit(s);
      return;
    case NK::Arr:
      if (c != '[' || s.size() >= tun::kMaxDepth) return;
      f.kind = FK::Arr;
      s.push_back(f);
      cx.emit(s);
      return;
    case NK::Obj:
      if (c != '{' || s.size() >= tun::kMaxDepth) return;
      f.kind = FK::Obj;
      s.push_back(f);
      cx.emit(s);
      return;
    case NK::AnyOf: return;
  }
  if (s.size() >= tun::kMaxDepth) return;
  s.push_back(f);
  feed_stack(cx, s, c);
}

// Literal ranges: narrows [lo, hi] of sorted LITS (sharing OFF bytes) to those with C at OFF.
bool narrow(const std::vector<std::string>& lits, uint32_t& lo, uint32_t& hi, uint32_t off, uint8_t c) {
  uint32_t a = lo;
  while (a <= hi && (lits[a].size() <= off || uint8_t(lits[a][off]) < c)) ++a;
  uint32_t b = a;
  while (b <= hi && lits[b].size() > off && uint8_t(lits[b][off]) == c) ++b;
  if (b == a) return false;
  lo = a;
  hi = b - 1;
  return true;
}

// A string's next code point CP (or the range [lo, hi] a partial one can still become).
bool str_char_ok(const Node& n, const Frame& f, uint32_t lo, uint32_t hi) {
  if (f.a >= n.max_len) return false;
  if (n.pattern) return n.pattern->possible(f.x, lo, hi);
  return true;
}
void str_char(const Node& n, Frame& f, uint32_t cp) {
  f.a++;
  if (n.pattern) f.x = n.pattern->step(f.x, cp);
}

// Feeds C to the top frame of S: emits the stacks that take it (none: rejected).
void feed_stack(Ctx& cx, Stack& s, uint8_t c) {
  const Grammar& g = cx.g;
  while (true) {
    Frame& f = s.back();
    const Node& n = g.nodes[f.node];
    bool mine = false;
    switch (f.kind) {
      case FK::Root:
        if (f.phase == 0) {
          Stack t = s;
          start_value(cx, std::move(t), g.root, c);
        }
        return;
      case FK::Obj: {
        if (f.flags & kClosed) break;
        const bool all_req = (f.x & n.required) == n.required;
        const bool more = n.additional >= 0 || (~f.x & ((n.lits.size() >= 64 ? ~0ull : (1ull << n.lits.size()) - 1)));
        if (f.phase == O_Open || f.phase == O_AfterComma) {
          if (c == '}' && f.phase == O_Open && all_req) { f.flags |= kClosed; cx.emit(s); return; }
          if (c == ' ' && f.phase == O_AfterComma && !(f.flags & kSpace)) { f.flags |= kSpace; cx.emit(s); return; }
          if (c != '"' || s.size() >= tun::kMaxDepth) return;
          f.phase = O_InKey;
          const uint64_t seen = f.x;
          if (!n.lits.empty()) {
            Stack t = s;
            Frame k;
            k.kind = FK::KeyLit;
            k.node = f.node;
            k.a = 0;
            k.b = uint32_t(n.lits.size() - 1);
            k.x = seen;
            t.push_back(k);
            feed_stack(cx, t, c);
          }
          if (n.additional >= 0 && !cx.closing) {
            Frame k;
            k.kind = FK::Key;
            k.node = f.node;
            if (n.lits.empty()) k.flags |= kXout;
            else k.x = uint64_t(n.lits.size() - 1) << 32;  // the known keys it may still be spelling: [lo, hi]
            s.push_back(k);
            cx.emit(s);
          }
          return;
        }
        if (f.phase == O_Colon) {
          if (c != ':') return;
          f.phase = O_AfterColon;
          f.flags &= uint8_t(~kSpace);
          cx.emit(s);
          return;
        }
        if (f.phase == O_AfterColon) {
          if (c == ' ' && !(f.flags & kSpace)) { f.flags |= kSpace; cx.emit(s); return; }
          f.phase = O_InValue;
          start_value(cx, s, f.c, c);
          return;
        }
        if (f.phase == O_AfterValue) {
          if (c == '}' && all_req) { f.flags |= kClosed; cx.emit(s); return; }
          if (c == ',' && more && (!cx.closing || !all_req)) { f.phase = O_AfterComma; f.flags &= uint8_t(~kSpace); cx.emit(s); return; }
          return;
        }
        return;  // in a key or value: the child takes bytes
      }
      case FK::Arr: {
        if (f.flags & kClosed) break;
        if (f.phase == A_Open || f.phase == A_AfterComma) {
          if (c == ']' && f.phase == A_Open && n.min_items == 0) { f.flags |= kClosed; cx.emit(s); return; }
          if (c == ' ' && f.phase == A_AfterComma && !(f.flags & kSpace)) { f.flags |= kSpace; cx.emit(s); return; }
          if (f.a >= n.max_items || (cx.closing && f.phase == A_Open && n.min_items == 0)) return;
          f.phase = A_InValue;
          start_value(cx, s, n.items, c);
          return;
        }
        if (f.phase == A_AfterValue) {
          if (c == ']' && f.a >= n.min_items) { f.flags |= kClosed; cx.emit(s); return; }
          if (c == ',' && f.a < n.max_items && (!cx.closing || f.a < n.min_items)) { f.phase = A_AfterComma; f.flags &= uint8_t(~kSpace); cx.emit(s); return; }
        }
        return;
      }
      case FK::Lit: case FK::KeyLit: {
        uint32_t lo = f.a, hi = f.b;
        if (narrow(n.lits, lo, hi, f.c, c)) {
          bool ok = true;
          if (f.kind == FK::KeyLit) {  // some key in range not yet seen
            ok = false;
            for (uint32_t i = lo; i <= hi; ++i) ok |= !(f.x >> i & 1) && (!cx.closing || (n.required >> i & 1));
          }
          if (ok) {
            f.a = lo;
            f.b = hi;
            f.c++;
            cx.emit(s);
            return;
          }
        }
        break;
      }
      case FK::Str: case FK::Key: {
        if (f.flags & kClosed) break;
        const bool key = f.kind == FK::Key;
        const Node& sn = key ? g.nodes[kAnyStr] : n;
        if (f.need) {  // inside a UTF-8 sequence
          if (c < f.nlo || c > f.nhi) return;
          f.b = f.b << 6 | (c & 0x3Fu);
          f.need--;
          f.nlo = 0x80;
          f.nhi = 0xBF;
          if (f.need == 0) str_char(sn, f, f.b);
          else if (!str_char_ok(sn, f, f.b << (6 * f.need), ((f.b + 1) << (6 * f.need)) - 1)) return;
        } else if (f.esc == 1) {
          uint32_t cp;
          switch (c) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = 8; break;
            case 'f': cp = 12; break;
            case 'n': cp = 10; break;
            case 'r': cp = 13; break;
            case 't': cp = 9; break;
            case 'u': cp = UINT32_MAX; break;
            default: return;
          }
          if (cp == UINT32_MAX) {
            if (!str_char_ok(sn, f, 0, 0xD7FF) && !str_char_ok(sn, f, 0xE000, 0xFFFF)) return;
            f.esc = 2;
            f.b = 0;
          } else {
            if (!str_char_ok(sn, f, cp, cp)) return;
            str_char(sn, f, cp);
            f.esc = 0;
          }
        } else if (f.esc >= 2) {  // \u hex digits
          int d = is_digit(c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
          if (d < 0) return;
          uint32_t v = f.b << 4 | uint32_t(d);
          const int left = 5 - f.esc;  // hex digits after this one
          uint32_t lo = v << (4 * left), hi = ((v + 1) << (4 * left)) - 1;
          // Surrogates are left out (a pair would need two escapes to make one character).
          bool ok = (lo <= 0xD7FF && str_char_ok(sn, f, lo, std::min(hi, 0xD7FFu))) ||
                    (hi >= 0xE000 && str_char_ok(sn, f, std::max(lo, 0xE000u), hi));
          if (!ok) return;
          f.b = v;
          if (left == 0) { str_char(sn, f, v); f.esc = 0; }
          else f.esc++;
        } else if (c == '"') {
          if (f.a < sn.min_len) return;
          if (sn.pattern && !(f.x & sn.pattern->accepting)) return;
          if (key && !(f.flags & kXout)) {  // a known key is KeyLit's to match
            const auto& lits = g.nodes[f.node].lits;
            for (uint64_t i = uint32_t(f.x); i <= (f.x >> 32); ++i)
              if (lits[i].size() == f.c + 2) return;
          }
          f.flags |= kClosed;
          if (!key) f.a = 0, f.b = 0, f.x = 0;  // a closed string's state no longer matters: merge equal stacks
        } else if (cx.closing && f.a >= sn.min_len) {
          return;  // closing: the string ends here
        } else if (c == '\\') {
          if (key) return;  // keys other than the schema's are written without escapes
          if (!str_char_ok(sn, f, 0, 0xFFFF)) return;
          f.esc = 1;
        } else if (c < 0x20) {
          return;
        } else if (c < 0x80) {
          if (!str_char_ok(sn, f, c, c)) return;
          str_char(sn, f, c);
        } else {
          uint32_t lo, hi;
          if (c >= 0xC2 && c <= 0xDF) { f.need = 1; f.b = c & 0x1F; f.nlo = 0x80; f.nhi = 0xBF; }
          else if (c >= 0xE0 && c <= 0xEF) { f.need = 2; f.b = c & 0x0F; f.nlo = c == 0xE0 ? 0xA0 : 0x80; f.nhi = c == 0xED ? 0x9F : 0xBF; }
          else if (c >= 0xF0 && c <= 0xF4) { f.need = 3; f.b = c & 0x07; f.nlo = c == 0xF0 ? 0x90 : 0x80; f.nhi = c == 0xF4 ? 0x8F : 0xBF; }
          else return;
          // The code points a sequence of this length can spell: no overlong forms.
          static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
          lo = std::max(f.b << (6 * f.need), kMin[f.need]);
          hi = std::min(((f.b + 1) << (6 * f.need)) - 1, kMaxCp);
          if (!str_char_ok(sn, f, lo, hi)) return;
        }
        if (key && !(f.flags & kXout) && !(f.flags & kClosed)) {  // still spelling a known key?
          uint32_t lo = uint32_t(f.x), hi = uint32_t(f.x >> 32);
          // The encoded keys start with '"': this byte is at offset c + 1.
          if (narrow(g.nodes[f.node].lits, lo, hi, f.c + 1, c)) { f.x = uint64_t(hi) << 32 | lo; f.c++; }
          else { f.flags |= kXout; f.x = 0; f.c = 0; }  // (cleared: equal states compare equal)
        }
        cx.emit(s);
        return;
      }
      case FK::Num: {
        if (cx.closing && can_end(g, f)) break;  // complete: no more digits
        Frame t = f;
        uint8_t p = 0xFF;
        const bool integer = n.k == NK::Int, bounded = n.lo != -INFINITY || n.hi != INFINITY;
        switch (f.phase) {
          case N_Start:
            if (c == '-') { t.flags |= kNeg; p = N_Minus; break; }
            [[fallthrough]];
          case N_Minus:
            if (c == '0') p = N_Zero;
            else if (c >= '1' && c <= '9') { p = N_Int; t.a = 1; t.v = c - '0'; }
            break;
          case N_Zero: case N_Int:
            if (f.phase == N_Int && is_digit(c) && f.a < tun::kMaxIntDigits) { p = N_Int; t.a++; t.v = t.v * 10 + (c - '0'); }
            else if (c == '.' && !integer) p = N_Dot;
            else if ((c == 'e' || c == 'E') && !integer && !bounded) p = N_E;
            break;
          case N_Dot: case N_Frac:
            if (is_digit(c) && f.c < tun::kMaxFracDigits) { p = N_Frac; t.c++; t.v += (c - '0') / pow10(t.c); }
            else if (f.phase == N_Frac && (c == 'e' || c == 'E') && !bounded) p = N_E;
            break;
          case N_E:
            if (c == '+' || c == '-') { p = N_ESign; break; }
            [[fallthrough]];
          case N_ESign: case N_Exp:
            if (is_digit(c) && (f.phase != N_Exp || f.b < tun::kMaxExpDigits)) { p = N_Exp; t.b = f.phase == N_Exp ? f.b + 1 : 1; }
            break;
        }
        if (p == N_Dot) {
          mine = meets(n, t.flags & kNeg, t.v, t.v + 1, false) || !bounded;
        } else if (p != 0xFF) {
          mine = feasible(n, t, p);
        }
        if (mine) {
          t.phase = p;
          f = t;
          cx.emit(s);
          return;
        }
        break;
      }
    }
    // Not taken by the top frame: if it is complete, it ends here and its parent gets the byte.
    if (!can_end(g, f) || s.size() < 2) return;
    Frame child = f;
    s.pop_back();
    child_done(s.back(), child, g);
  }
}

bool stack_can_finish(const Grammar& g, Stack s) {
  while (s.size() > 1) {
    if (!can_end(g, s.back())) return false;
    Frame child = s.back();
    s.pop_back();
    child_done(s.back(), child, g);
  }
  return s[0].phase == 1;
}

void feed_state(const Grammar& g, const JsonMatcher::State& in, uint8_t c, JsonMatcher::State& out, Stack& scratch) {
  out.frames.clear();
  out.ends.clear();
  out.closing = in.closing;
  Ctx cx{g, out.frames, out.ends, in.closing};
  uint32_t begin = 0;
  for (uint32_t e : in.ends) {
    scratch.assign(in.frames.begin() + begin, in.frames.begin() + e);
    feed_stack(cx, scratch, c);
    begin = e;
  }
}

}  // namespace

JsonMatcher::JsonMatcher(std::shared_ptr<const Grammar> g) : g_(std::move(g)) {
  st_.frames.push_back(Frame{});
  st_.ends.push_back(1);
}

bool JsonMatcher::feed(std::string_view bytes) {
  State cur = st_, next;
  Stack scratch;
  for (char ch : bytes) {
    feed_state(*g_, cur, uint8_t(ch), next, scratch);
    if (next.ends.empty()) return false;
    std::swap(cur, next);
  }
  st_ = std::move(cur);
  return true;
}

bool JsonMatcher::can_finish() const {
  uint32_t begin = 0;
  for (uint32_t e : st_.ends) {
    if (stack_can_finish(*g_, Stack(st_.frames.begin() + begin, st_.frames.begin() + e))) return true;
    begin = e;
  }
  return false;
}

bool JsonMatcher::must_finish() const {
  if (!can_finish()) return false;
  State next;
  Stack scratch;
  for (int c = 0; c < 256; ++c) {
    feed_state(*g_, st_, uint8_t(c), next, scratch);
    if (!next.ends.empty()) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Tokens.
// ---------------------------------------------------------------------------------------------
std::shared_ptr<const TokenTrie> TokenTrie::build(const Tokenizer& t) {
  // Children as sorted (byte, node) lists while building, then flattened.
  std::vector<std::vector<std::pair<uint8_t, uint32_t>>> kids(1);
  std::vector<std::vector<int32_t>> at(1);
  for (size_t id = 0; id < t.n_vocab(); ++id) {
    if (t.token_type(int32_t(id)) == TokenType::Control) continue;
    const std::string& b = t.token_bytes(int32_t(id));
    if (b.empty()) continue;
    uint32_t node = 0;
    for (char ch : b) {
      auto& ks = kids[node];
      auto it = std::find_if(ks.begin(), ks.end(), [&](auto& e) { return e.first == uint8_t(ch); });
      if (it == ks.end()) {
        kids.emplace_back();
        at.emplace_back();
        kids[node].push_back({uint8_t(ch), uint32_t(kids.size() - 1)});
        node = uint32_t(kids.size() - 1);
      } else {
        node = it->second;
      }
    }
    at[node].push_back(int32_t(id));
  }
  auto tr = std::make_shared<TokenTrie>();
  tr->n_vocab = t.n_vocab();
  for (size_t i = 0; i < kids.size(); ++i) {
    std::sort(kids[i].begin(), kids[i].end());
    tr->edge_begin.push_back(uint32_t(tr->edge_byte.size()));
    for (auto& [b, c] : kids[i]) { tr->edge_byte.push_back(b); tr->edge_child.push_back(c); }
    tr->tok_begin.push_back(uint32_t(tr->toks.size()));
    tr->toks.insert(tr->toks.end(), at[i].begin(), at[i].end());
  }
  tr->edge_begin.push_back(uint32_t(tr->edge_byte.size()));
  tr->tok_begin.push_back(uint32_t(tr->toks.size()));
  return tr;
}

TokenConstraint::TokenConstraint(std::shared_ptr<const Grammar> g, std::shared_ptr<const TokenTrie> trie, const Tokenizer& tok,
                                 std::vector<int32_t> end_ids)
    : m_(std::move(g)), trie_(std::move(trie)), tok_(tok), end_ids_(std::move(end_ids)) {
  for (size_t i = 0; i < tok_.n_vocab(); ++i) max_token_bytes_ = std::max(max_token_bytes_, tok_.token_bytes(int32_t(i)).size());
}

bool TokenConstraint::allows(int32_t id) const {
  if (std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end()) return m_.can_finish();
  if (id < 0 || size_t(id) >= tok_.n_vocab() || tok_.token_type(id) == TokenType::Control) return false;
  const std::string& b = tok_.token_bytes(id);
  if (b.empty()) return false;
  JsonMatcher copy = m_;
  return copy.feed(b);
}

void TokenConstraint::walk(uint32_t node, size_t depth) {
  const TokenTrie& t = *trie_;
  if (level_.size() < depth + 2) level_.resize(depth + 2);
  for (uint32_t e = t.edge_begin[node]; e < t.edge_begin[node + 1]; ++e) {
    feed_state(*m_.g_, level_[depth], t.edge_byte[e], level_[depth + 1], scratch_);
    if (level_[depth + 1].ends.empty()) continue;
    const uint32_t child = t.edge_child[e];
    for (uint32_t k = t.tok_begin[child]; k < t.tok_begin[child + 1]; ++k) allowed_[size_t(t.toks[k])] = 1;
    walk(child, depth + 1);
  }
}

// The state as a cache key. An open string's length only matters near its limits: between
// minLength and maxLength - (the longest token) every length allows the same tokens.
std::string TokenConstraint::key() const {
  std::string k;
  const Grammar& g = *m_.g_;
  auto put = [&](const auto& v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
  uint32_t begin = 0;
  for (uint32_t e : m_.st_.ends) {
    for (uint32_t i = begin; i < e; ++i) {
      const Frame& f = m_.st_.frames[i];
      uint32_t a = f.a;
      if (f.kind == FK::Key) a = 0;
      if (f.kind == FK::Str && !(f.flags & kClosed)) {
        const Node& n = g.nodes[f.node];
        if (a >= n.min_len && uint64_t(a) + max_token_bytes_ <= n.max_len) a = n.min_len;
      }
      put(uint8_t(f.kind)); put(f.phase); put(f.flags); put(f.need); put(f.nlo); put(f.nhi); put(f.esc);
      put(f.node); put(a); put(f.b); put(f.c); put(f.x); put(f.v);
    }
    put(uint32_t(0xFFFFFFFF));
    begin = e;
  }
  put(m_.st_.closing);
  return k;
}

size_t TokenConstraint::mask(std::span<float> logits) {
  std::string k = key();
  auto hit = cache_.find(k);
  if (hit != cache_.end()) {
    allowed_ = hit->second;
  } else {
    allowed_.assign(logits.size(), 0);
    if (level_.size() < 64) level_.resize(64);
    level_[0] = m_.st_;
    walk(0, 0);
    if (cache_.size() >= kCacheEntries) cache_.clear();
    cache_.emplace(std::move(k), allowed_);
  }
  if (m_.can_finish())
    for (int32_t id : end_ids_)
      if (id >= 0 && size_t(id) < allowed_.size()) allowed_[size_t(id)] = 1;
  size_t n = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (allowed_[i]) ++n;
    else logits[i] = -INFINITY;
  }
  return n;
}

void TokenConstraint::accept(int32_t id) {
  if (std::find(end_ids_.begin(), end_ids_.end(), id) != end_ids_.end()) return;
  if (id >= 0 && size_t(id) < tok_.n_vocab()) m_.feed(tok_.token_bytes(id));
}

int32_t sample_constrained(Sampler& s, TokenConstraint* c, std::span<float> logits, std::span<const int32_t> history) {
  const int32_t t = s.sample(logits, history);
  if (!c || c->allows(t)) return t;
  if (c->mask(logits) == 0) return -1;
  return s.sample(logits, history);
}

}  // namespace pxos::llm
