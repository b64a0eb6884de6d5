// symbols.hpp: names for code offsets from a module's symbols and line map ("fizz+0x4",
// "JZ fizz"), shared by the trace, the debugger and the REPL so all three read the same.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/decode.hpp"
#include "isa/module.hpp"

namespace pxos::isa {

class Symbolizer {
 public:
  explicit Symbolizer(const Module& m);
  // "fizz" at a label, "fizz+0x4" after one, "0x1c" before any label. Offsets are hex throughout.
  std::string where(uint32_t pc) const;
  // The label exactly at pc (the first one defined there), or nullopt.
  std::optional<std::string_view> label_at(uint32_t pc) const;
  // An ADDR operand as the trace shows it: its label, else its hex offset.
  std::string target(const Insn& in) const;
  // The instruction with its operand symbolised: "JZ fizz", "PUSH 3", "PRINT_STR \"hi\"".
  std::string insn(const Insn& in) const;
  // The instruction at pc, decoded and symbolised ("?" when pc is not an instruction).
  std::string insn_at(uint32_t pc) const;
  const Module& module() const { return m_; }

 private:
  const Module& m_;
  std::vector<Symbol> sorted_;  // by offset, then definition order
};

}  // namespace pxos::isa
