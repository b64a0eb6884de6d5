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
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) name = byte,
#include "isa/opcodes.def"
#undef X
};

enum class Fmt : uint8_t { NONE, I32, U8, U16, ADDR, STR };
// opcodes.def's marker for a stack effect known only per operand (HOST_CALL).
inline constexpr int8_t VAR = -1;
// How an instruction passes control on (the flow column of opcodes.def).
enum class Flow : uint8_t { NEXT, JUMP, BRANCH, CALL, RET, HALT };

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
  Flow flow = Flow::NEXT;
  int8_t pops = 0, pushes = 0;  // VAR: per operand
  std::string_view effect, doc;
  bool valid() const { return !name.empty(); }
};

const std::array<OpInfo, 256>& table();
inline const OpInfo& info(uint8_t byte) { return table()[byte]; }
std::optional<Op> lookup(std::string_view mnemonic);  // case-insensitive

constexpr Flow flow_of(Op op) {
  switch (op) {
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) \
  case Op::name: return Flow::flow;
#include "isa/opcodes.def"
#undef X
  }
  return Flow::NEXT;
}
// The stack effect of the table, at compile time: the interpreter checks it before each handler.
constexpr int pops_of(Op op) {
  switch (op) {
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) \
  case Op::name: return pops;
#include "isa/opcodes.def"
#undef X
  }
  return 0;
}
constexpr int pushes_of(Op op) {
  switch (op) {
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) \
  case Op::name: return pushes;
#include "isa/opcodes.def"
#undef X
  }
  return 0;
}
constexpr bool fixed_effect(Op op) { return pops_of(op) != VAR && pushes_of(op) != VAR; }

// Control-flow classes used by the verifier, the predecoder and the hypervisor, from the table.
constexpr bool is_jump(Op op) { return flow_of(op) == Flow::JUMP || flow_of(op) == Flow::BRANCH; }
constexpr bool ends_run(Op op) { return flow_of(op) != Flow::NEXT; }  // fuel is charged per run
constexpr bool falls_through(Op op) {  // execution may continue at the next instruction
  Flow f = flow_of(op);
  return f == Flow::NEXT || f == Flow::BRANCH || f == Flow::CALL;
}

}  // namespace pxos::isa
