// isa.cpp: the opcode info table and mnemonic lookup, both built from opcodes.def.
#include "isa/isa.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace pxos::isa {
namespace {

#define X(name, byte, fmt, flow, pops, pushes, effect, doc) \
  static_assert(effect_agrees(effect, pops, pushes), "opcodes.def: the stack effect of " #name " disagrees with its pops/pushes");
#include "isa/opcodes.def"
#undef X

}  // namespace

std::string_view fmt_name(Fmt f) {
  switch (f) {
    case Fmt::NONE: return "-";
    case Fmt::I32: return "i32";
    case Fmt::U8: return "u8";
    case Fmt::U16: return "u16";
    case Fmt::ADDR: return "addr32";
    case Fmt::STR: return "u32 len + bytes";
  }
  return "?";
}

const std::array<OpInfo, 256>& table() {
  static const std::array<OpInfo, 256> t = [] {
    std::array<OpInfo, 256> a{};
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) \
  a[byte] = OpInfo{#name, byte, Fmt::fmt, Flow::flow, pops, pushes, effect, doc};
#include "isa/opcodes.def"
#undef X
    return a;
  }();
  return t;
}

std::optional<Op> lookup(std::string_view m) {
  std::string up(m);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) \
  if (up == #name) return Op::name;
#include "isa/opcodes.def"
#undef X
  return std::nullopt;
}

}  // namespace pxos::isa
