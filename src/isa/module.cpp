// module.cpp: PXBC serialisation; the parser checks every count against the bytes left.
#include "isa/module.hpp"

#include "common/printable.hpp"

#include <algorithm>
#include <cstring>

namespace pxos::isa {

std::optional<uint32_t> Module::line_at(uint32_t pc) const {
  auto it = std::upper_bound(lines.begin(), lines.end(), pc, [](uint32_t p, const LineEntry& e) { return p < e.pc; });
  if (it == lines.begin()) return std::nullopt;
  return std::prev(it)->line;
}

std::optional<uint32_t> Module::find(std::string_view s) const {
  for (const auto& sym : symbols)
    if (sym.name == s) return sym.offset;
  return std::nullopt;
}

Result<Bytes> serialize(const Module& m) {
  if (m.code.size() > kMaxCodeBytes)
    return failf(Errc::ModuleInvalid, "{}: code is {} bytes, over the limit of {}", printable(m.source), m.code.size(), kMaxCodeBytes);
  if (m.source.size() > kMaxSourceNameBytes)
    return failf(Errc::ModuleInvalid, "source name is {} bytes, over the limit of {}", m.source.size(), kMaxSourceNameBytes);
  for (const auto& s : m.symbols)
    if (s.name.size() > kMaxNameBytes)
      return failf(Errc::ModuleInvalid, "{}: symbol name of {} bytes is over the limit of {}", printable(m.source), s.name.size(), kMaxNameBytes);
  for (const auto& r : m.relocs)
    if (r.target.size() > kMaxNameBytes)
      return failf(Errc::ModuleInvalid, "{}: relocation target of {} bytes is over the limit of {}", printable(m.source), r.target.size(), kMaxNameBytes);
  Bytes out;
  ByteWriter w(out);
  w.str("PXBC");
  w.u16(kModuleVersion);
  w.u16(0);
  w.u32(uint32_t(m.code.size()));
  w.u32(uint32_t(m.symbols.size()));
  w.u32(uint32_t(m.lines.size()));
  w.u32(uint32_t(m.relocs.size()));
  w.u32(uint32_t(m.source.size()));
  w.bytes(m.code);
  for (const auto& s : m.symbols) { w.u32(s.offset); w.u16(uint16_t(s.name.size())); w.str(s.name); }
  for (const auto& l : m.lines) { w.u32(l.pc); w.u32(l.line); }
  for (const auto& r : m.relocs) { w.u32(r.at); w.u16(uint16_t(r.target.size())); w.str(r.target); }
  w.str(m.source);
  // The parser is the format's definition: whatever it would refuse (an offset past the code,
  // unsorted lines) is refused before it reaches a file.
  if (auto back = parse_module(out, m.source); !back) return std::unexpected(back.error());
  return out;
}

Result<Module> parse_module(ByteView data, std::string_view name) {
  ByteReader r(data);
  if (data.size() < 28 || std::memcmp(data.data(), "PXBC", 4) != 0)
    return failf(Errc::ModuleInvalid, "{}: offset 0: not a bytecode module (no PXBC header)", name);
  r.take(4);
  uint16_t ver = r.u16();
  uint16_t flags = r.u16();
  if (ver != kModuleVersion) return failf(Errc::ModuleInvalid, "{}: offset 4: module version {} not supported", name, ver);
  if (flags != 0) return failf(Errc::ModuleInvalid, "{}: offset 6: unknown module flags {:#x}", name, flags);
  uint32_t code_len = r.u32(), nsym = r.u32(), nlines = r.u32(), nrel = r.u32(), srclen = r.u32();
  if (code_len > kMaxCodeBytes) return failf(Errc::ModuleInvalid, "{}: offset 8: code size {} over the limit", name, code_len);
  Module m;
  ByteView code = r.take(code_len);
  if (!r.ok()) return failf(Errc::ModuleInvalid, "{}: code truncated ({} bytes declared)", name, code_len);
  m.code.assign(code.begin(), code.end());
  // Each record is at least 6 bytes: a count larger than what remains is a lie, refuse it early.
  if (nsym > r.remaining() / 6 || nlines > r.remaining() / 8 || nrel > r.remaining() / 6)
    return failf(Errc::ModuleInvalid, "{}: offset {}: table counts exceed the module size", name, r.pos());
  for (uint32_t i = 0; i < nsym; ++i) {
    Symbol s;
    s.offset = r.u32();
    uint16_t nlen = r.u16();
    if (nlen > kMaxNameBytes) return failf(Errc::ModuleInvalid, "{}: offset {}: symbol name of {} bytes is over the limit of {}", name, r.pos() - 2, nlen, kMaxNameBytes);
    s.name = printable(r.str(nlen));  // names are printed too: escaped like the source
    if (!r.ok()) return failf(Errc::ModuleInvalid, "{}: symbol table truncated at entry {}", name, i);
    if (s.offset > code_len) return failf(Errc::ModuleInvalid, "{}: symbol '{}' points past the code", name, s.name);
    m.symbols.push_back(std::move(s));
  }
  for (uint32_t i = 0; i < nlines; ++i) {
    LineEntry l{r.u32(), r.u32()};
    if (!r.ok()) return failf(Errc::ModuleInvalid, "{}: line table truncated at entry {}", name, i);
    if (!m.lines.empty() && l.pc < m.lines.back().pc)
      return failf(Errc::ModuleInvalid, "{}: line table not sorted at entry {}", name, i);
    m.lines.push_back(l);
  }
  for (uint32_t i = 0; i < nrel; ++i) {
    Reloc rl;
    rl.at = r.u32();
    uint16_t tlen = r.u16();
    if (tlen > kMaxNameBytes) return failf(Errc::ModuleInvalid, "{}: offset {}: relocation target of {} bytes is over the limit of {}", name, r.pos() - 2, tlen, kMaxNameBytes);
    rl.target = printable(r.str(tlen));
    if (!r.ok()) return failf(Errc::ModuleInvalid, "{}: relocation table truncated at entry {}", name, i);
    if (uint64_t(rl.at) + 4 > code_len)
      return failf(Errc::ModuleInvalid, "{}: relocation {} points past the code", name, i);
    m.relocs.push_back(std::move(rl));
  }
  // The name is printed in every diagnostic and trap: a control byte in it could forge
  // output lines or drive the terminal, so it is escaped once, here.
  if (srclen > kMaxSourceNameBytes) return failf(Errc::ModuleInvalid, "{}: offset 24: source name of {} bytes is over the limit of {}", name, srclen, kMaxSourceNameBytes);
  m.source = printable(r.str(srclen));
  if (!r.ok()) return failf(Errc::ModuleInvalid, "{}: source name truncated", name);
  if (!r.at_end()) return failf(Errc::ModuleInvalid, "{}: offset {}: {} trailing bytes", name, r.pos(), r.remaining());
  return m;
}

std::vector<Section> module_layout(ByteView data) {
  // Walks the same fields as parse_module, by their stored lengths (names are not re-escaped).
  ByteReader r(data);
  r.take(8);
  uint32_t code_len = r.u32(), nsym = r.u32(), nlines = r.u32(), nrel = r.u32(), srclen = r.u32();
  std::vector<Section> out;
  auto mark = [&](std::string_view name, size_t from) { out.push_back({name, uint32_t(from), uint32_t(r.pos())}); };
  mark("header", 0);
  size_t at = r.pos();
  r.take(code_len);
  mark("code", at);
  at = r.pos();
  for (uint32_t i = 0; i < nsym && r.ok(); ++i) { r.u32(); r.take(r.u16()); }
  mark("symbols", at);
  at = r.pos();
  r.take(size_t(nlines) * 8);
  mark("line map", at);
  at = r.pos();
  for (uint32_t i = 0; i < nrel && r.ok(); ++i) { r.u32(); r.take(r.u16()); }
  mark("relocations", at);
  at = r.pos();
  r.take(srclen);
  mark("source name", at);
  return out;
}

}  // namespace pxos::isa
