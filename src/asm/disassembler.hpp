// disassembler.hpp: a PXBC module -> labelled .pxasm text that reassembles to identical code.
#pragma once
#include <string>

#include "common/error.hpp"
#include "isa/module.hpp"

namespace pxos::assembler {

Result<std::string> disassemble(const isa::Module& m, bool with_offsets = false);

}  // namespace pxos::assembler
