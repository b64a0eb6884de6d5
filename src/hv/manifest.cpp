// manifest.cpp: the strict manifest.json reader. JSON syntax comes from nlohmann::json (with a
// parse callback that refuses duplicate keys and deep nesting); the schema is checked by hand
// so that every message names its JSON path.
#include "hv/manifest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>

#include "hv/archive.hpp"
#include "hv/policy.hpp"
#include "hv/suggest.hpp"
#include "isa/isa.hpp"

namespace pxos::hv {
namespace {

using json = nlohmann::ordered_json;

bool ident_like(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  return true;
}

std::string child(const std::string& path, std::string_view key) {
  bool plain = !key.empty() && (std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_');
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') plain = false;
  if (plain) return fmt::format("{}.{}", path, key);
  std::string q;
  for (char c : key) {
    if (c == '"' || c == '\\') q += '\\';
    if (static_cast<unsigned char>(c) < 0x20) q += fmt::format("\\u{:04x}", c);
    else q += c;
  }
  return fmt::format("{}[\"{}\"]", path, q);
}

std::string describe(const json& j) {
  switch (j.type()) {
    case json::value_t::number_float: return fmt::format("number {}", j.dump());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return fmt::format("integer {}", j.dump());
    case json::value_t::string: {
      std::string s = j.dump();
      if (s.size() > 40) s = s.substr(0, 37) + "...";
      return fmt::format("string {}", s);
    }
    case json::value_t::boolean: return fmt::format("boolean {}", j.dump());
    default: return j.type_name();
  }
}

struct Schema {
  std::string file;

  std::unexpected<Error> err(const std::string& path, std::string msg) const {
    return fail(Errc::ManifestInvalid, fmt::format("{}: {}: {}", file, path, msg));
  }

  Status object(const json& j, const std::string& path) const {
    if (!j.is_object()) return err(path, fmt::format("expected an object, got {}", describe(j)));
    return {};
  }

  // Unknown fields are errors: typos must not pass silently.
  Status known(const json& j, const std::string& path, std::initializer_list<std::string_view> fields) const {
    for (const auto& [k, v] : j.items()) {
      if (std::find(fields.begin(), fields.end(), k) != fields.end()) continue;
      std::string list;
      std::vector<std::string> cands;
      for (auto f : fields) {
        list += fmt::format("{}{}", list.empty() ? "" : ", ", f);
        cands.emplace_back(f);
      }
      std::string guess = closest(k, cands);
      return err(child(path, k), fmt::format("unknown field{} (allowed here: {})",
                                             guess.empty() ? "" : fmt::format(" (did you mean '{}'?)", guess), list));
    }
    return {};
  }

  Status required(const json& j, const std::string& path, std::string_view key) const {
    if (!j.contains(key)) return err(path, fmt::format("missing required field '{}'", key));
    return {};
  }

  Result<std::string> string(const json& j, const std::string& path) const {
    if (!j.is_string()) return err(path, fmt::format("expected a string, got {}", describe(j)));
    return j.get<std::string>();
  }

  Result<uint64_t> count(const json& j, const std::string& path) const {
    if (!j.is_number_integer()) return err(path, fmt::format("expected a positive integer, got {}", describe(j)));
    if (!j.is_number_unsigned() || j.get<uint64_t>() == 0)
      return err(path, fmt::format("must be at least 1, got {}", j.dump()));
    return j.get<uint64_t>();
  }
};

bool valid_version(std::string_view v) {
  // MAJOR.MINOR.PATCH, then optional -prerelease / +build of [0-9A-Za-z.-]
  size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    size_t s = i;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
    if (i == s || i - s > 9) return false;
    if (part < 2) {
      if (i >= v.size() || v[i] != '.') return false;
      ++i;
    }
  }
  if (i == v.size()) return true;
  if (v[i] != '-' && v[i] != '+') return false;
  if (++i == v.size()) return false;
  for (; i < v.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(v[i])) && v[i] != '.' && v[i] != '-' && v[i] != '+') return false;
  return true;
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

struct ParseAbort { std::string path, msg; };

std::string line_col(std::string_view text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') { ++line; col = 1; }
    else ++col;
  }
  return fmt::format("line {}, column {}", line, col);
}

}  // namespace

bool Requirement::satisfied_by(int64_t v) const {
  for (const auto& c : clauses) {
    bool ok = false;
    switch (c.op) {
      case Op::Ge: ok = v >= c.v; break;
      case Op::Le: ok = v <= c.v; break;
      case Op::Gt: ok = v > c.v; break;
      case Op::Lt: ok = v < c.v; break;
      case Op::Eq: ok = v == c.v; break;
    }
    if (!ok) return false;
  }
  return true;
}

Result<Requirement> parse_requirement(std::string_view text) {
  Requirement r;
  r.text = std::string(text);
  size_t i = 0;
  auto ws = [&] { while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '\t')) ++i; };
  ws();
  if (i == text.size()) return fail(Errc::ManifestInvalid, "empty requirement (write e.g. \">=1\", or \"*\" for any version)");
  if (text.substr(i) == "*") return r;
  while (i < text.size()) {
    Requirement::Clause c;
    auto starts = [&](std::string_view op) { return text.substr(i, op.size()) == op; };
    if (starts(">=")) { c.op = Requirement::Op::Ge; i += 2; }
    else if (starts("<=")) { c.op = Requirement::Op::Le; i += 2; }
    else if (starts("==")) { c.op = Requirement::Op::Eq; i += 2; }
    else if (starts(">")) { c.op = Requirement::Op::Gt; i += 1; }
    else if (starts("<")) { c.op = Requirement::Op::Lt; i += 1; }
    else if (starts("=")) { c.op = Requirement::Op::Eq; i += 1; }
    while (i < text.size() && text[i] == ' ') ++i;
    size_t s = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data() + s, text.data() + i, v);
    if (i == s || ec != std::errc() || i - s > 9)
      return failf(Errc::ManifestInvalid, "bad requirement '{}' at character {}: expected [>=|<=|>|<|=] VERSION, clauses joined by ','",
                   text, s + 1);
    c.v = v;
    r.clauses.push_back(c);
    if (r.clauses.size() > size_t(kMaxRequirementClauses))
      return failf(Errc::ManifestInvalid, "requirement '{}' has more than {} clauses", text, kMaxRequirementClauses);
    if (i < text.size() && text[i] != ' ' && text[i] != ',' && text[i] != '\t')
      return failf(Errc::ManifestInvalid, "bad requirement '{}' at character {}: unexpected '{}'", text, i + 1, text[i]);
    ws();
  }
  return r;
}

const EntryPoint* Manifest::entry(std::string_view n) const {
  for (const auto& e : entrypoints)
    if (e.name == n) return &e;
  return nullptr;
}

std::string Manifest::entry_names() const {
  std::vector<std::string> names;
  for (const auto& e : entrypoints) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  std::string s;
  for (const auto& n : names) s += fmt::format("{}{}", s.empty() ? "" : ", ", n);
  return s;
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view file) {
  Schema S{std::string(file)};
  if (text.size() > kMaxManifestBytes)
    return failf(Errc::ManifestInvalid, "{}: {} bytes, over the {}-byte limit", file, text.size(), kMaxManifestBytes);
  json root;
  {
    // Track the key path so a duplicate key can be named; refuse deep nesting before it costs.
    struct Frame { bool object; std::set<std::string> keys; std::string key; size_t index = 0; };
    std::vector<Frame> stack;
    auto path = [&] {
      std::string p = "$";
      for (size_t f = 0; f + 1 < stack.size(); ++f)
        p = stack[f].object ? child(p, stack[f].key) : fmt::format("{}[{}]", p, stack[f].index);
      return p;
    };
    auto done_value = [&] {
      if (!stack.empty() && !stack.back().object) ++stack.back().index;
    };
    json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) -> bool {
      using E = json::parse_event_t;
      if (depth > kMaxJsonDepth) throw ParseAbort{path(), fmt::format("nested deeper than {} levels", kMaxJsonDepth)};
      switch (ev) {
        case E::object_start: stack.push_back({true, {}, {}, 0}); break;
        case E::array_start: stack.push_back({false, {}, {}, 0}); break;
        case E::key: {
          auto& f = stack.back();
          f.key = parsed.get<std::string>();
          if (!f.keys.insert(f.key).second) throw ParseAbort{child(path(), f.key), "duplicate key"};
          break;
        }
        case E::object_end:
        case E::array_end:
          stack.pop_back();
          done_value();
          break;
        case E::value: done_value(); break;
      }
      return true;
    };
    try {
      root = json::parse(text.begin(), text.end(), cb, true, false);
    } catch (const ParseAbort& a) {
      return S.err(a.path, a.msg);
    } catch (const json::parse_error& e) {
      std::string what = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while parsing ..."
      if (auto p = what.find(": syntax error"); p != std::string::npos) what = what.substr(p + 2);
      else if (auto q = what.find("] "); q != std::string::npos) what = what.substr(q + 2);
      return failf(Errc::ManifestInvalid, "{}: {}: not valid JSON: {}", file, line_col(text, e.byte ? e.byte - 1 : 0), what);
    } catch (const json::exception& e) {
      return failf(Errc::ManifestInvalid, "{}: not valid JSON: {}", file, e.what());
    }
  }

  Manifest m;
  const std::string R = "$";
  if (auto s = S.object(root, R); !s) return std::unexpected(s.error());
  if (auto s = S.known(root, R, {"name", "version", "entrypoints", "runtime"}); !s) return std::unexpected(s.error());
  for (auto k : {"name", "version", "entrypoints", "runtime"})
    if (auto s = S.required(root, R, k); !s) return std::unexpected(s.error());

  auto name = S.string(root["name"], "$.name");
  if (!name) return std::unexpected(name.error());
  if (!valid_name(*name)) return S.err("$.name", "must be 1..64 characters of [A-Za-z0-9._-]");
  m.name = *name;

  auto version = S.string(root["version"], "$.version");
  if (!version) return std::unexpected(version.error());
  if (!valid_version(*version))
    return S.err("$.version", fmt::format("'{}' is not a version: expected MAJOR.MINOR.PATCH, e.g. \"1.0.0\"", *version));
  m.version = *version;

  const json& eps = root["entrypoints"];
  if (auto s = S.object(eps, "$.entrypoints"); !s) return std::unexpected(s.error());
  if (eps.empty()) return S.err("$.entrypoints", "no entrypoints: name at least one, e.g. \"default\": \"main:start\"");
  for (const auto& [k, v] : eps.items()) {
    std::string p = child("$.entrypoints", k);
    if (!valid_name(k)) return S.err(p, "an entrypoint name must be 1..64 characters of [A-Za-z0-9._-]");
    auto target = S.string(v, p);
    if (!target) return std::unexpected(target.error());
    size_t colon = target->find(':');
    EntryPoint e{k, {}, {}};
    if (colon != std::string::npos) {
      e.module = target->substr(0, colon);
      e.label = target->substr(colon + 1);
    }
    if (colon == std::string::npos || !is_module_name(e.module) || !ident_like(e.label) ||
        std::isdigit(static_cast<unsigned char>(e.label[0])))
      return S.err(p, fmt::format("expected \"module:label\" (e.g. \"main:start\"), got \"{}\"", *target));
    m.entrypoints.push_back(std::move(e));
  }

  const json& rt = root["runtime"];
  if (auto s = S.object(rt, "$.runtime"); !s) return std::unexpected(s.error());
  if (auto s = S.known(rt, "$.runtime", {"vm_version", "capabilities", "limits"}); !s) return std::unexpected(s.error());
  if (auto s = S.required(rt, "$.runtime", "vm_version"); !s) return std::unexpected(s.error());
  auto req_text = S.string(rt["vm_version"], "$.runtime.vm_version");
  if (!req_text) return std::unexpected(req_text.error());
  auto req = parse_requirement(*req_text);
  if (!req) return S.err("$.runtime.vm_version", req.error().detail);
  m.vm_version = *req;

  if (rt.contains("capabilities")) {
    const json& caps = rt["capabilities"];
    if (!caps.is_array()) return S.err("$.runtime.capabilities", fmt::format("expected an array of strings, got {}", describe(caps)));
    std::set<std::string> seen;
    for (size_t i = 0; i < caps.size(); ++i) {
      std::string p = fmt::format("$.runtime.capabilities[{}]", i);
      auto c = S.string(caps[i], p);
      if (!c) return std::unexpected(c.error());
      if (!seen.insert(*c).second) return S.err(p, fmt::format("duplicate capability '{}'", *c));
      m.capabilities.push_back(*c);
    }
  }

  m.limits = {kDefaultMaxSteps, kDefaultMaxOutput, kDefaultTimeoutMs, kDefaultMemoryWords};
  if (rt.contains("limits")) {
    const json& lim = rt["limits"];
    const std::string P = "$.runtime.limits";
    if (auto s = S.object(lim, P); !s) return std::unexpected(s.error());
    if (auto s = S.known(lim, P, {"max_steps", "max_output_bytes", "memory_words", "timeout_ms"}); !s) return std::unexpected(s.error());
    auto take = [&](const char* key, uint64_t& dst) -> Status {
      if (!lim.contains(key)) return {};
      auto v = S.count(lim[key], child(P, key));
      if (!v) return std::unexpected(v.error());
      dst = *v;
      return {};
    };
    uint64_t mem = m.limits.memory_words;
    for (auto s : {take("max_steps", m.limits.max_steps), take("max_output_bytes", m.limits.max_output_bytes),
                   take("memory_words", mem), take("timeout_ms", m.limits.timeout_ms)})
      if (!s) return std::unexpected(s.error());
    if (mem > UINT32_MAX) mem = UINT32_MAX;  // over every ceiling; check_runtime reports it
    m.limits.memory_words = uint32_t(mem);
  }
  return m;
}

Status check_runtime(Manifest& m, std::string_view file) {
  auto unsupported = [&](std::string path, std::string msg) {
    return fail(Errc::Unsupported, fmt::format("{}: {}: {}", file, path, msg));
  };
  if (!m.vm_version.satisfied_by(isa::kVmVersion))
    return unsupported("$.runtime.vm_version",
                       fmt::format("requires VM version '{}'; this build runs VM version {}", m.vm_version.text, isa::kVmVersion));
  m.caps = 0;
  for (size_t i = 0; i < m.capabilities.size(); ++i) {
    auto c = vm::cap_lookup(m.capabilities[i]);
    if (!c) {
      std::string known;
      for (auto k : vm::all_caps()) known += fmt::format("{}{}", known.empty() ? "" : ", ", vm::cap_name(k));
      return unsupported(fmt::format("$.runtime.capabilities[{}]", i),
                         fmt::format("capability '{}' does not exist in this build (known: {})", m.capabilities[i], known));
    }
    m.caps |= vm::cap_bit(*c);
  }
  const auto& L = m.limits;
  if (L.memory_words > kMaxMemoryWords)
    return unsupported("$.runtime.limits.memory_words",
                       fmt::format("{} words requested; this build's VM addresses at most {}", L.memory_words, kMaxMemoryWords));
  if (L.max_steps > kMaxSteps)
    return unsupported("$.runtime.limits.max_steps", fmt::format("{} is over this build's ceiling of {}", L.max_steps, kMaxSteps));
  if (L.max_output_bytes > kMaxOutputBytes)
    return unsupported("$.runtime.limits.max_output_bytes",
                       fmt::format("{} is over this build's ceiling of {}", L.max_output_bytes, kMaxOutputBytes));
  if (L.timeout_ms > kMaxTimeoutMs)
    return unsupported("$.runtime.limits.timeout_ms", fmt::format("{} is over this build's ceiling of {}", L.timeout_ms, kMaxTimeoutMs));
  return {};
}

}  // namespace pxos::hv
