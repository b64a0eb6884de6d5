// disassembler.cpp: decode by operand format, name every jump target, print symbols.
#include "asm/disassembler.hpp"

#include <fmt/format.h>

#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "isa/decode.hpp"

namespace pxos::assembler {

Result<std::string> disassemble(const isa::Module& m, bool with_offsets) {
  std::vector<isa::Insn> insns;
  for (uint32_t pc = 0; pc < m.code.size();) {
    auto in = isa::decode(m.code, pc);
    if (!in) return std::unexpected(in.error());
    insns.push_back(*in);
    pc = in->next;
  }
  std::set<uint32_t> starts;  // only instruction starts (and the end) can carry a label
  for (const auto& in : insns) starts.insert(in.pc);
  starts.insert(uint32_t(m.code.size()));
  std::multimap<uint32_t, std::string> labels;
  std::set<std::string> used;
  for (const auto& s : m.symbols)
    if (starts.count(s.offset)) { labels.emplace(s.offset, s.name); used.insert(s.name); }
  std::unordered_map<uint32_t, std::string> relocs;
  for (const auto& r : m.relocs) relocs[r.at] = r.target;
  for (const auto& in : insns) {
    if (in.info->fmt != isa::Fmt::ADDR || relocs.count(in.pc + 1)) continue;
    uint32_t t = uint32_t(in.operand);
    if (labels.count(t) || !starts.count(t)) continue;  // a wild target stays a number
    std::string name = fmt::format("L_{:04x}", t);
    while (used.count(name)) name += "_";
    used.insert(name);
    labels.emplace(t, name);
  }
  auto target_name = [&](const isa::Insn& in) -> std::string {
    if (auto it = relocs.find(in.pc + 1); it != relocs.end()) return it->second;
    auto it = labels.find(uint32_t(in.operand));
    return it != labels.end() ? it->second : fmt::format("{}", in.operand);
  };
  std::string out = fmt::format("; pxos disasm: {} ({} bytes of code)\n", m.source.empty() ? "?" : m.source, m.code.size());
  auto print_labels = [&](uint32_t pc) {
    auto [a, b] = labels.equal_range(pc);
    for (auto it = a; it != b; ++it) out += it->second + ":\n";
  };
  for (const auto& in : insns) {
    print_labels(in.pc);
    std::string text = isa::format(in, target_name);
    if (with_offsets) out += fmt::format("    {:<40} ; {:04x}\n", text, in.pc);
    else out += "    " + text + "\n";
  }
  print_labels(uint32_t(m.code.size()));
  return out;
}

}  // namespace pxos::assembler
