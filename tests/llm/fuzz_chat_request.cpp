// fuzz_chat_request.cpp: any bytes as a /v1/chat/completions body. parse_chat_request either
// accepts it or refuses it with a 4xx ApiError that has a message, never a crash; an accepted
// request has at least one message with a known role, and a schema in it compiles or is refused
// with Unsupported/SchemaInvalid.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "llm/schema.hpp"
#include "llm/server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pxos::llm;
  auto r = parse_chat_request(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!r) {
    if (r.error().status < 400 || r.error().status > 499 || r.error().message.empty()) std::abort();
    return 0;
  }
  if (r->messages.empty()) std::abort();
  for (auto& m : r->messages)
    if (m.role != "system" && m.role != "user" && m.role != "assistant") std::abort();
  if (r->format == ChatRequest::Format::JsonSchema) {
    auto g = compile_schema(r->schema);
    if (!g && g.error().code != pxos::Errc::Unsupported && g.error().code != pxos::Errc::SchemaInvalid) std::abort();
  }
  return 0;
}
