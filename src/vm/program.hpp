// program.hpp: a verified, predecoded PixelVM program. The verifier rejects malformed bytecode
// with its offset; the predecoder turns it into 16-byte cells for direct threading.
//
//  Cell (16 bytes):  +----------------+-----------+----------------------+
//                    | handler (8)    | operand a | op (8) | pc (24)     |
//                    +----------------+-----------+----------------------+
//  a: immediate, slot, address, host id, string index, or the target's cell index.
//  runlen[i]: instructions from cell i to the next transfer of control (inclusive);
//  fuel is charged per run on entry, so metering costs one subtract per jump, not per step.
#pragma once
#include <string>
#include <vector>

#include "common/error.hpp"
#include "isa/module.hpp"
#include "vm/limits.hpp"

namespace pxos::vm {

struct Cell {
  const void* h = nullptr;  // bound by the interpreter (computed-goto label)
  int32_t a = 0;
  uint32_t pc_op = 0;
  uint32_t pc() const { return pc_op & 0xFFFFFF; }
  uint8_t op() const { return uint8_t(pc_op >> 24); }
};
static_assert(sizeof(Cell) == 16);

struct VerifyOptions {
  uint32_t memory_words = kDefaultMemoryWords;  // LOAD/STORE immediates must be below this
  bool check_host_ids = true;                   // HOST_CALL ids must exist in hostcalls.def
};

// Checks a module without running it: opcodes, operands, targets on instruction starts,
// no unresolved relocations, static addresses in range, no falling off the end.
Status verify(const isa::Module& m, const VerifyOptions& opt = {});

class Program {
 public:
  static Result<Program> load(isa::Module m, const VerifyOptions& opt = {});

  const isa::Module& module() const { return mod_; }
  const std::vector<Cell>& cells() const { return cells_; }
  const std::vector<uint32_t>& runlen() const { return runlen_; }
  const std::vector<std::string>& strings() const { return strings_; }
  // Superinstruction id per cell (superinstructions.def), 0 where none starts there.
  const std::vector<uint16_t>& supers() const { return super_; }
  // Cell index of the instruction starting at byte offset pc, or -1.
  int32_t cell_at(uint32_t pc) const;
  // "file.pxasm:12: offset 0x1c: DIV" for diagnostics.
  std::string where(uint32_t pc) const;

 private:
  isa::Module mod_;
  std::vector<Cell> cells_;
  std::vector<uint32_t> runlen_;
  std::vector<std::string> strings_;
  std::vector<int32_t> pc_to_cell_;
  std::vector<uint16_t> super_;
};

// Superinstruction ids (see superinstructions.def).
enum : uint16_t {
#define SUPER(name, id, n, pattern) kSuper_##name = id,
#include "vm/superinstructions.def"
#undef SUPER
  kSuperPushBinop = 0x70,
  kSuperCmpBranch = 0x90,
  kSuperPushCmpBranch = 0xA0,
  kSuperLocalBinop = 0xB0,
  kSuperLocalPushBinop = 0x120,
  kSuperMemBinop = 0x140,
  kSuperBinopStore = 0x160,
  kSuperLocalPushCmpBranch = 0x180,
  kSuperLocalLocalCmpBranch = 0x190,
  kSuperLocalCmpBranch = 0x1A0,
  kSuperMemPushCmpBranch = 0x1B0,
  kSuperTableSize = 0x200,  // the dispatch table: every opcode byte and every id above
};

}  // namespace pxos::vm
