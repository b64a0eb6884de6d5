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
// The stack-effect text of a row agrees with its pops/pushes columns ("a b -- a+b": 2 and 1;
// "(per call)" goes with VAR, VAR). opcodes.def and hostcalls.def rows are checked with it.
consteval bool effect_agrees(std::string_view text, int pops, int pushes) {
  auto words = [](std::string_view s) {  // the values named on one side
    int n = 0;
    bool in = false;
    for (char c : s) {
      bool space = c == ' ';
      if (!space && !in) ++n;
      in = !space;
    }
    return n;
  };
  size_t dash = text.find("--");
  if (pops == VAR || pushes == VAR) return pops == pushes && dash == std::string_view::npos;
  if (dash == std::string_view::npos || text.find("--", dash + 2) != std::string_view::npos) return false;
  return words(text.substr(0, dash)) == pops && words(text.substr(dash + 2)) == pushes;
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
