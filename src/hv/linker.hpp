// linker.hpp: static linking of an archive's modules into one PXBC module. Modules are laid end
// to end in archive order; every ADDR operand is shifted by its module's base; each
// "module:label" relocation (CALL util:countdown) is resolved to an absolute offset.
//
//   linked code:  0                 base[1]              base[2]
//                +-----------------+--------------------+------------------+
//                | main (size m)   | sieve (size s)     | util (size u)    |
//                +-----------------+--------------------+------------------+
//   ADDR in sieve: local target t  -> base[1] + t;  CALL util:f -> base[2] + offset of f in util
//
// Rules (docs/hypervisor.md): a target must name a module of the archive and a label in it that
// starts an instruction; the module import graph (A imports B when A calls B:label, A != B) must
// be acyclic: a cycle (main -> util -> main) is a link error that prints the cycle. Recursion
// inside one module (and "main:label" from main itself) is normal.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "isa/module.hpp"

namespace pxos::hv {

struct LinkInput {
  std::string name;  // module name (archive entry name)
  const isa::Module* module = nullptr;
};

struct Segment {
  std::string module;  // module name
  std::string source;  // its source file name, for diagnostics
  uint32_t base = 0, size = 0;
  std::vector<std::string> imports;  // modules it calls into (sorted, no self)
};

struct Linked {
  isa::Module module;  // merged: code, qualified symbols "mod:label", shifted line map, no relocs
  std::vector<Segment> segments;

  const Segment* segment_at(uint32_t pc) const;
  const Segment* segment(std::string_view module) const;
  // Absolute offset of module:label, or an error naming what is missing.
  Result<uint32_t> resolve(std::string_view module, std::string_view label) const;
  // "util.pxasm:12: util+0x001c: DIV" (source and line of the module the pc lies in).
  std::string where(uint32_t pc) const;
};

// Checks one module on its own with the verifier's rules, in one decoding pass: opcodes and
// operands decode, jump/call targets lie inside the module on instruction starts (relocation
// operands excepted: the linker fills them), LOAD/STORE addresses < `memory_words`, host-call
// ids exist, relocations sit on CALL operands, and execution cannot fall off the module's end.
// Errors name the module's source file and line. (The linked program is verified again by
// vm::Program::load, the authoritative verifier.)
Status verify_module(const isa::Module& m, std::string_view name, uint32_t memory_words);

// Links the modules. Errors (Errc::LinkError) name the call site: "main.pxasm:4: CALL util:cnt: ...".
Result<Linked> link(std::span<const LinkInput> modules, std::string_view output_name);

}  // namespace pxos::hv
