// action.cpp: the action table, its JSON schema, a validator for the schema subset we use,
// and the reply parser (the only code that turns model text into something we act on).
#include "architect/action.hpp"

#include <array>

#include "architect/config.hpp"

namespace pxos::architect {
using nlohmann::json;

namespace {
constexpr std::array kKinds{
#define X(name, f, c, cmd, eff, doc) KindInfo{#name, f != 0, c != 0, cmd != 0, eff != 0, doc},
#include "architect/actions.def"
#undef X
};

constexpr FileKind kFileKinds[] = {
#define WRITES(action, ext, check) {Kind::action, ext, Check::check},
#include "architect/actions.def"
};
// Each file action writes something, and each WRITES row belongs to a file action.
constexpr bool file_kinds_agree() {
  for (const KindInfo& k : kKinds) {
    bool writes = k.needs_file && k.needs_content, has_row = false;
    for (const FileKind& f : kFileKinds) has_row |= kKinds[size_t(f.action)].name == k.name;
    if (writes != has_row) return false;
  }
  for (const FileKind& f : kFileKinds)
    if (f.ext.size() < 2 || f.ext[0] != '.') return false;
  return true;
}
static_assert(file_kinds_agree(), "actions.def: a file action without WRITES rows, or a WRITES row for another action");

std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::null: return "null";
    default: return "other";
  }
}

// Max nesting of [ and { outside strings; stops counting once over the limit.
int max_depth(std::string_view s) {
  int depth = 0, best = 0;
  bool in_str = false, esc = false;
  for (char c : s) {
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '[' || c == '{') { best = std::max(best, ++depth); if (best > 1000) break; }
    else if (c == ']' || c == '}') depth = std::max(0, depth - 1);
  }
  return best;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Small models often wrap the object in ```json ... ```: accept exactly one such fence.
std::string_view strip_fence(std::string_view s) {
  s = trim(s);
  if (s.size() >= 6 && s.starts_with("```") && s.ends_with("```")) {
    s.remove_prefix(3);
    s.remove_suffix(3);
    size_t nl = s.find('\n');
    if (nl != std::string_view::npos && s.substr(0, nl).find_first_of("{[") == std::string_view::npos)
      s.remove_prefix(nl + 1);  // the info string ("json")
    s = trim(s);
  }
  return s;
}
}  // namespace

std::span<const KindInfo> kinds() { return kKinds; }

const KindInfo& info(Kind k) {
  size_t i = static_cast<size_t>(k);
  if (i >= kKinds.size()) throw Failure(Error{Errc::Internal, "action kind out of range"});
  return kKinds[i];
}

json Action::to_json() const {
  json j{{"task", task}, {"action", std::string(info(kind).name)}, {"rationale", rationale}};
  if (!file_path.empty()) j["file_path"] = file_path;
  if (!content.empty()) j["content"] = content;
  if (!command.empty()) j["command"] = command;
  if (!args.empty()) j["args"] = args;
  return j;
}

const json& action_schema() {
  static const json schema = [] {
    json names = json::array();
    for (auto& k : kKinds) names.push_back(std::string(k.name));
    auto str = [](size_t max, size_t min = 0) {
      json s{{"type", "string"}, {"maxLength", max}};
      if (min) s["minLength"] = min;
      return s;
    };
    return json{
        {"type", "object"},
        {"properties",
         {{"task", str(tun::kMaxTaskChars, 1)},
          {"action", {{"type", "string"}, {"enum", names}}},
          {"file_path", str(tun::kMaxPathChars)},
          {"content", str(tun::kMaxContentBytes)},
          {"command", str(tun::kMaxCommandChars)},
          {"args", {{"type", "array"}, {"items", str(tun::kMaxArgChars)}, {"maxItems", tun::kMaxArgs}}},
          {"rationale", str(tun::kMaxRationaleChars, 1)}}},
        {"required", {"task", "action", "rationale"}},
        {"additionalProperties", false}};
  }();
  return schema;
}

std::string schema_violation(const json& v, const json& schema, const std::string& where) {
  if (auto t = schema.find("type"); t != schema.end()) {
    std::string want = t->get<std::string>(), got = type_of(v);
    if (want != got && !(want == "number" && got == "integer"))
      return fmt::format("{}: expected {}, got {}", where, want, got);
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    bool ok = false;
    for (auto& x : *e) ok = ok || x == v;
    if (!ok) {
      std::string list;
      for (auto& x : *e) list += (list.empty() ? "" : ", ") + x.dump();
      return fmt::format("{}: {} is not one of {}", where, v.dump(), list);
    }
  }
  if (v.is_string()) {
    // Lengths in UTF-8 bytes: stricter than code points, never looser.
    size_t n = v.get_ref<const std::string&>().size();
    if (auto m = schema.find("maxLength"); m != schema.end() && n > m->get<size_t>())
      return fmt::format("{}: {} bytes, over the limit of {}", where, n, m->get<size_t>());
    if (auto m = schema.find("minLength"); m != schema.end() && n < m->get<size_t>())
      return fmt::format("{}: must not be empty", where);
  }
  if (v.is_array()) {
    if (auto m = schema.find("maxItems"); m != schema.end() && v.size() > m->get<size_t>())
      return fmt::format("{}: {} items, over the limit of {}", where, v.size(), m->get<size_t>());
    if (auto it = schema.find("items"); it != schema.end())
      for (size_t i = 0; i < v.size(); ++i)
        if (auto e = schema_violation(v[i], *it, fmt::format("{}[{}]", where, i)); !e.empty()) return e;
  }
  if (v.is_object()) {
    auto props = schema.find("properties");
    if (auto r = schema.find("required"); r != schema.end())
      for (auto& name : *r)
        if (!v.contains(name.get<std::string>()))
          return fmt::format("{}: missing required field \"{}\"", where, name.get<std::string>());
    for (auto& [key, val] : v.items()) {
      if (props != schema.end() && props->contains(key)) {
        if (auto e = schema_violation(val, (*props)[key], where + "." + key); !e.empty()) return e;
      } else if (schema.value("additionalProperties", true) == false) {
        return fmt::format("{}: unknown field \"{}\"", where, key.substr(0, 40));
      }
    }
  }
  return {};
}

Result<Action> parse_action(std::string_view reply) {
  if (reply.size() > tun::kMaxReplyBytes)
    return failf(Errc::ArchitectError, "reply is {} bytes, over the limit of {}", reply.size(), tun::kMaxReplyBytes);
  std::string_view text = strip_fence(reply);
  if (text.empty()) return fail(Errc::ArchitectError, "empty reply: expected one JSON object");
  if (int d = max_depth(text); d > tun::kMaxJsonDepth)
    return failf(Errc::ArchitectError, "JSON nested deeper than {} levels", tun::kMaxJsonDepth);
  json v;
  try {
    v = json::parse(text);
  } catch (const json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> drop the tag
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return failf(Errc::ArchitectError, "invalid JSON: {}", what.substr(0, 300));
  }
  if (auto e = schema_violation(v, action_schema()); !e.empty())
    return failf(Errc::ArchitectError, "schema violation: {}", e);

  Action a;
  const std::string kind = v["action"].get<std::string>();
  for (size_t i = 0; i < kKinds.size(); ++i)
    if (kKinds[i].name == kind) a.kind = static_cast<Kind>(i);
  a.task = v["task"].get<std::string>();
  a.rationale = v["rationale"].get<std::string>();
  a.file_path = v.value("file_path", "");
  a.content = v.value("content", "");
  a.command = v.value("command", "");
  if (v.contains("args")) a.args = v["args"].get<std::vector<std::string>>();

  const KindInfo& k = info(a.kind);
  if (k.needs_file && a.file_path.empty())
    return failf(Errc::ArchitectError, "schema violation: action {} needs \"file_path\"", k.name);
  if (k.needs_content && a.content.empty())
    return failf(Errc::ArchitectError, "schema violation: action {} needs non-empty \"content\"", k.name);
  if (k.needs_command && a.command.empty())
    return failf(Errc::ArchitectError, "schema violation: action {} needs \"command\"", k.name);
  if (!k.needs_command && (!a.command.empty() || !a.args.empty()))
    return failf(Errc::ArchitectError, "schema violation: action {} takes no \"command\"/\"args\"", k.name);
  if (!k.needs_file && !a.file_path.empty())
    return failf(Errc::ArchitectError, "schema violation: action {} takes no \"file_path\"", k.name);
  return a;
}

std::span<const FileKind> file_kinds() { return kFileKinds; }

std::optional<Check> check_for(Kind action, std::string_view ext) {
  for (const FileKind& f : kFileKinds)
    if (f.action == action && f.ext == ext) return f.check;
  return std::nullopt;
}

std::string extensions_of(Kind action) {
  std::vector<std::string_view> exts;
  for (const FileKind& f : kFileKinds)
    if (f.action == action) exts.push_back(f.ext);
  std::string s;
  for (size_t i = 0; i < exts.size(); ++i)
    s += std::string(i == 0 ? "" : i + 1 == exts.size() ? " or " : ", ") + std::string(exts[i]);
  return s;
}

}  // namespace pxos::architect
