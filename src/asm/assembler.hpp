// assembler.hpp: .pxasm text -> a PXBC module (code, symbols, line map, cross-module relocs).
// Two passes; every error carries file:line:col and all of them are reported in one go.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "isa/module.hpp"

namespace pxos::assembler {

inline constexpr size_t kMaxDiagnostics = 50;  // stop collecting after this many errors

struct Diagnostic {
  std::string file;
  uint32_t line = 0, col = 0;
  std::string message;
  std::string to_string() const;  // "file:line:col: error: message"
};

// On failure: Errc::AsmError whose detail holds one diagnostic per line.
Result<isa::Module> assemble(std::string_view source, std::string_view filename,
                             std::vector<Diagnostic>* diagnostics = nullptr);

}  // namespace pxos::assembler
