// fuzz_schema.cpp: any bytes as a JSON Schema (the first line) and a text (the rest). A schema
// either compiles or is refused with Unsupported/SchemaInvalid, never a crash; a compiled one's
// matcher takes the text byte by byte, and whatever prefix it accepts must be one that a JSON
// parser accepts as a prefix too (a complete one parses as JSON).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "llm/schema.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pxos::llm;
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string schema_text = in.substr(0, nl), text = nl == std::string::npos ? "" : in.substr(nl + 1);
  auto schema = nlohmann::json::parse(schema_text, nullptr, false);
  if (schema.is_discarded()) return 0;
  auto g = compile_schema(schema);
  if (!g) {
    if (g.error().code != pxos::Errc::Unsupported && g.error().code != pxos::Errc::SchemaInvalid) std::abort();
    if (g.error().detail.empty()) std::abort();
    return 0;
  }
  JsonMatcher m(*g);
  size_t ok = 0;
  for (; ok < text.size(); ++ok)
    if (!m.feed(std::string_view(text).substr(ok, 1))) break;
  if (m.can_finish()) {
    auto j = nlohmann::json::parse(text.substr(0, ok), nullptr, false);
    if (j.is_discarded()) std::abort();  // the matcher called complete what is not JSON
  }
  return 0;
}
