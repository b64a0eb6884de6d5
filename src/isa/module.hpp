// module.hpp: a PixelVM bytecode module (the payload of a bytecode .pxi): code plus its
// symbols, source-line map and cross-module relocations, in one little-endian container.
//
//  0      4        6       8          12         16        20        24         28
// +------+--------+-------+----------+----------+---------+---------+----------+------------
// |'PXBC'| ver u16|flags  | code_len | nsymbols | nlines  | nrelocs | srcname  | code ...
// +------+--------+-------+----------+----------+---------+---------+----------+------------
//  then symbols {u32 offset, u16 len, name}, lines {u32 pc, u32 line} (pc ascending),
//  relocs {u32 operand offset, u16 len, "module:label"}, then the source name bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::isa {

inline constexpr uint16_t kModuleVersion = 1;
inline constexpr uint32_t kMaxCodeBytes = 1u << 24;  // 16 MiB: offsets fit the VM's 24-bit pc field
inline constexpr uint32_t kMaxNameBytes = 1024;       // a symbol or "module:label" (u16 length field)
inline constexpr uint32_t kMaxSourceNameBytes = 4096; // the source file name (PATH_MAX)

struct Symbol { std::string name; uint32_t offset = 0; bool operator==(const Symbol&) const = default; };
struct LineEntry { uint32_t pc = 0; uint32_t line = 0; bool operator==(const LineEntry&) const = default; };
struct Reloc { uint32_t at = 0; std::string target; bool operator==(const Reloc&) const = default; };  // ADDR operand at `at` names "module:label"

struct Module {
  std::string source;  // source file name, for diagnostics
  Bytes code;
  std::vector<Symbol> symbols;
  std::vector<LineEntry> lines;
  std::vector<Reloc> relocs;

  std::optional<uint32_t> line_at(uint32_t pc) const;   // source line of the instruction at pc
  std::optional<uint32_t> find(std::string_view symbol) const;
  bool operator==(const Module&) const = default;
};

// Refuses (Errc::ModuleInvalid) a module that parse_module would refuse: every limit of the
// format is enforced here, where the file is written, never discovered by the next reader.
Result<Bytes> serialize(const Module& m);
Result<Module> parse_module(ByteView data, std::string_view name);

// The byte ranges of a serialized module, in file order (header, code, symbols, lines, relocs,
// source name; empty ones included), for views that outline them. `data` must parse.
struct Section { std::string_view name; uint32_t begin = 0, end = 0; };
std::vector<Section> module_layout(ByteView data);

}  // namespace pxos::isa
