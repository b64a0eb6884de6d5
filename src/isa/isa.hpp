// isa.hpp: the instruction set as C++ (generated from opcodes.def by X-macros):
// the Op enum, operand formats and a 256-entry info table indexed by opcode byte.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pxos::isa {

inline constexpr int kVmVersion = 1;  // bumped when the encoding changes

enum class Op : uint8_t {
#define X(name, byte, fmt, pops, pushes, effect, doc) name = byte,
#include "isa/opcodes.def"
#undef X
};

enum class Fmt : uint8_t { NONE, I32, U8, U16, ADDR, STR };

constexpr int operand_size(Fmt f) {  // fixed part; STR adds its length
  switch (f) {
    case Fmt::NONE: return 0;
    case Fmt::U8: return 1;
    case Fmt::U16: return 2;
    case Fmt::I32:
    case Fmt::ADDR:
    case Fmt::STR: return 4;
  }
  return 0;
}
std::string_view fmt_name(Fmt f);

struct OpInfo {
  std::string_view name;  // empty: not an instruction
  uint8_t byte = 0;
  Fmt fmt = Fmt::NONE;
  int8_t pops = 0, pushes = 0;
  std::string_view effect, doc;
  bool valid() const { return !name.empty(); }
};

const std::array<OpInfo, 256>& table();
inline const OpInfo& info(uint8_t byte) { return table()[byte]; }
std::optional<Op> lookup(std::string_view mnemonic);  // case-insensitive

// Control-flow classes used by the verifier, the predecoder and the disassembler.
constexpr bool is_jump(Op op) { return op == Op::JMP || op == Op::JZ || op == Op::JNZ; }
constexpr bool ends_run(Op op) {  // a transfer of control: fuel is charged per run
  return is_jump(op) || op == Op::CALL || op == Op::RET || op == Op::HALT;
}

}  // namespace pxos::isa
