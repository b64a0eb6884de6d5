// transcript.cpp: reads the kernel's "stat name=value" lines out of a serial transcript.
// The transcript is guest output: anything may be there, so this never trusts it.
#include <string_view>

#include "boot/boot.hpp"

namespace pxos::boot {

std::map<std::string, uint64_t> parse_stats(std::string_view t) {
  constexpr std::string_view kPrefix = "stat ";
  constexpr size_t kMaxName = 64;
  std::map<std::string, uint64_t> out;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    std::string_view line = t.substr(0, nl);
    t = nl == std::string_view::npos ? std::string_view{} : t.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.starts_with(kPrefix)) continue;
    line.remove_prefix(kPrefix.size());
    size_t eq = line.find('=');
    if (eq == 0 || eq == std::string_view::npos || eq > kMaxName) continue;
    std::string_view name = line.substr(0, eq), val = line.substr(eq + 1);
    bool name_ok = true;
    for (char c : name)
      if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) name_ok = false;
    if (!name_ok || val.empty() || val.size() > 20) continue;
    uint64_t v = 0;
    bool digits = true;
    for (char c : val) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      uint64_t d = uint64_t(c - '0');
      v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;  // saturate
    }
    if (digits) out[std::string(name)] = v;
  }
  return out;
}

}  // namespace pxos::boot
