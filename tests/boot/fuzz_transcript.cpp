// fuzz_transcript.cpp: parse_stats on arbitrary bytes (guest output is untrusted): no crash,
// names always match [a-z0-9_]+ and are at most 64 characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "boot/boot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = pxos::boot::parse_stats(std::string_view(reinterpret_cast<const char*>(data), size));
  for (auto& [k, v] : m) {
    if (k.empty() || k.size() > 64) std::abort();
    for (char c : k)
      if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) std::abort();
  }
  return 0;
}
