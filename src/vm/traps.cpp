// traps.cpp: the trap tables from traps.def, with a compile-time check that every message
// names only fields of TrapContext (a typo would otherwise throw while reporting a trap).
#include "vm/traps.hpp"

#include <fmt/format.h>

namespace pxos::vm {
namespace {

constexpr std::string_view kFields[] = {"depth", "stack", "memory", "frames", "id", "call",
                                        "cap",   "needs", "limit",  "entry",  "reason"};

// Every replacement field is {name} or {name:spec} with a name from kFields; {{ and }} escape.
consteval bool format_ok(std::string_view f) {
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '}') {
      if (i + 1 >= f.size() || f[i + 1] != '}') return false;
      ++i;
      continue;
    }
    if (f[i] != '{') continue;
    if (i + 1 < f.size() && f[i + 1] == '{') {
      ++i;
      continue;
    }
    size_t end = f.find_first_of(":}", i + 1);
    if (end == std::string_view::npos) return false;
    std::string_view name = f.substr(i + 1, end - i - 1);
    bool known = false;
    for (auto k : kFields) known = known || k == name;
    if (!known) return false;
    i = f.find('}', end);
    if (i == std::string_view::npos) return false;
  }
  return true;
}

#define TRAP(kind, errc, message) \
  static_assert(format_ok(message), "traps.def: the message of " #kind " names a field TrapContext lacks");
#include "vm/traps.def"
#undef TRAP

struct Row {
  std::string_view name;
  Errc code;
  std::string_view format;
};
constexpr Row kRows[] = {
    {"none", Errc::Ok, ""},
#define TRAP(kind, errc, message) {#kind, Errc::errc, message},
#include "vm/traps.def"
#undef TRAP
};

const Row& row(TrapKind k) { return size_t(k) < std::size(kRows) ? kRows[size_t(k)] : kRows[0]; }

}  // namespace

std::string_view trap_name(TrapKind k) { return row(k).name; }
Errc trap_errc(TrapKind k) { return row(k).code; }
std::string_view trap_format(TrapKind k) { return row(k).format; }

std::string trap_message(TrapKind k, const TrapContext& c) {
  return fmt::format(fmt::runtime(row(k).format), fmt::arg("depth", c.depth), fmt::arg("stack", c.stack),
                     fmt::arg("memory", c.memory), fmt::arg("frames", c.frames), fmt::arg("id", c.id),
                     fmt::arg("call", c.call), fmt::arg("cap", c.cap), fmt::arg("needs", c.needs),
                     fmt::arg("limit", c.limit), fmt::arg("entry", c.entry), fmt::arg("reason", c.reason));
}

}  // namespace pxos::vm
