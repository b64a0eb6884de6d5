// traps.hpp: the trap kinds of the PixelVM (traps.def) and the Trap a stopped run reports:
// its kind, error kind (exit status), message and location, so nothing downstream parses text.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pxos::vm {

enum class TrapKind : uint8_t {
  none,  // the run halted
#define TRAP(kind, errc, message) kind,
#include "vm/traps.def"
#undef TRAP
};

std::string_view trap_name(TrapKind k);    // the row's name: "div_zero"
Errc trap_errc(TrapKind k);                // the row's error kind
std::string_view trap_format(TrapKind k);  // the row's message format

// The run's state when it stopped: what a message format may name (see traps.def).
struct TrapContext {
  int64_t depth = 0;
  uint64_t stack = 0, memory = 0, frames = 0;
  int64_t id = 0;
  std::string_view call, cap;
  int64_t needs = 0;
  uint64_t limit = 0;
  uint32_t entry = 0;
  std::string_view reason;
};

// The row's message with the context filled in.
std::string trap_message(TrapKind k, const TrapContext& c);

struct Trap {
  TrapKind kind = TrapKind::none;
  Errc code = Errc::Ok;          // the row's, or the host call's own for host_failed
  std::string message;           // what happened, without the location
  bool at_instruction = false;   // pc names the instruction that trapped (all but bad_entry)
  uint32_t pc = 0;               // byte offset of that instruction
  std::optional<uint32_t> line;  // its source line, when the module has a line map
  std::string detail;            // the one line a user reads: "<where>: <message>"
  // Names the location (Program::where, or the hypervisor's per-module Linked::where).
  void locate(std::string_view where) { detail = std::string(where) + ": " + message; }
  Error error() const { return Error{code, detail}; }
};

}  // namespace pxos::vm
