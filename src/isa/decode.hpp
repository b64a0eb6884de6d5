// decode.hpp: decoding one instruction by its operand format (clox debug.c style: decoding
// returns the next offset). The verifier, disassembler and tracer all go through here.
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "isa/isa.hpp"

namespace pxos::isa {

struct Insn {
  uint32_t pc = 0;     // offset of the opcode byte
  uint32_t next = 0;   // offset of the following instruction
  Op op = Op::NOP;
  const OpInfo* info = nullptr;
  int64_t operand = 0;      // I32 (sign-extended), U8, U16, ADDR, or STR length
  std::string_view text;    // STR bytes (points into the code)
};

// Error (ModuleInvalid/VerifyError) naming the offset on an unknown opcode or truncated operand.
Result<Insn> decode(ByteView code, uint32_t pc);

// Quotes bytes as an assembler string literal: \n \t \r \" \\ \0 and \xHH for the rest.
std::string quote(std::string_view bytes);

// "PUSH 42", "JMP loop", "PRINT_STR \"hi\"". `target_name` names ADDR operands (else a number).
std::string format(const Insn& in, const std::function<std::string(const Insn&)>& target_name = {});

}  // namespace pxos::isa
