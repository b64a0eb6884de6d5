// action.hpp: one structured action per model turn. The JSON schema sent to the server and the
// validator of every reply come from the same table (actions.def), so they cannot drift apart.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pxos::architect {

enum class Kind : unsigned char {
#define X(name, f, c, cmd, eff, doc) name,
#include "architect/actions.def"
#undef X
};

struct KindInfo {
  std::string_view name;
  bool needs_file, needs_content, needs_command, has_effect;
  std::string_view doc;
};
std::span<const KindInfo> kinds();
const KindInfo& info(Kind k);  // bounds-checked: an out-of-range kind is an internal error

// What checks a file before it is written (actions.def WRITES rows).
enum class Check : unsigned char { none, pxasm, nasm, wgsl };
struct FileKind {
  Kind action;
  std::string_view ext;  // lower case, with the dot
  Check check;
};
std::span<const FileKind> file_kinds();
// The check for a file of extension EXT (lower case, ".md") written by ACTION; nullopt when the
// action does not write such files.
std::optional<Check> check_for(Kind action, std::string_view ext);
// ".pxasm, .asm, .nasm or .s": the extensions ACTION writes, for a refusal.
std::string extensions_of(Kind action);

struct Action {
  Kind kind = Kind::done;
  std::string task, rationale, file_path, content, command;
  std::vector<std::string> args;
  nlohmann::json to_json() const;
};

// The JSON schema of one action (what response_format carries).
const nlohmann::json& action_schema();

// Checks V against the schema subset we use (type, enum, properties, required,
// additionalProperties, minLength, maxLength, items, maxItems). Empty string when valid,
// else one line naming the first offending field.
std::string schema_violation(const nlohmann::json& v, const nlohmann::json& schema,
                             const std::string& where = "$");

// Reply text -> Action: strips one surrounding ``` fence, refuses deep nesting before
// parsing, parses, validates against the schema and the per-kind rules. The error detail is
// what goes back to the model in a repair turn.
Result<Action> parse_action(std::string_view reply);

}  // namespace pxos::architect
