// symbols.cpp: offset -> label+offset, and operand naming through decode.hpp's one formatter.
#include "isa/symbols.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pxos::isa {

Symbolizer::Symbolizer(const Module& m) : m_(m), sorted_(m.symbols) {
  std::stable_sort(sorted_.begin(), sorted_.end(), [](const Symbol& a, const Symbol& b) { return a.offset < b.offset; });
}

std::string Symbolizer::where(uint32_t pc) const {
  // the last label at or before pc (the first defined at that offset)
  auto it = std::upper_bound(sorted_.begin(), sorted_.end(), pc, [](uint32_t p, const Symbol& s) { return p < s.offset; });
  if (it == sorted_.begin()) return fmt::format("{:#x}", pc);
  uint32_t at = std::prev(it)->offset;
  auto first = std::lower_bound(sorted_.begin(), sorted_.end(), at, [](const Symbol& s, uint32_t p) { return s.offset < p; });
  if (at == pc) return first->name;
  return fmt::format("{}+{:#x}", first->name, pc - at);
}

std::optional<std::string_view> Symbolizer::label_at(uint32_t pc) const {
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), pc, [](const Symbol& s, uint32_t p) { return s.offset < p; });
  if (it == sorted_.end() || it->offset != pc) return std::nullopt;
  return std::string_view(it->name);
}

std::string Symbolizer::target(const Insn& in) const {
  if (auto l = label_at(uint32_t(in.operand))) return std::string(*l);
  return fmt::format("{:#x}", in.operand);
}

std::string Symbolizer::insn(const Insn& in) const {
  return format(in, [this](const Insn& i) { return target(i); });
}

std::string Symbolizer::insn_at(uint32_t pc) const {
  auto in = decode(m_.code, pc);
  return in ? insn(*in) : "?";
}

}  // namespace pxos::isa
