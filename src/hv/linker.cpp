// linker.cpp: verify each module alone, resolve cross-module calls, refuse import cycles, then
// concatenate the code with every ADDR operand relocated.
#include "hv/linker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "hv/suggest.hpp"
#include "isa/decode.hpp"
#include "vm/hostcalls.hpp"
#include "vm/program.hpp"

namespace pxos::hv {
namespace {

std::string src_of(const isa::Module& m, std::string_view name) {
  return m.source.empty() ? fmt::format("<{}>", name) : m.source;
}

// Instruction starts of a module's code (size+1 entries), or the decoder's error.
Result<std::vector<uint8_t>> starts_of(const isa::Module& m, std::string_view name) {
  std::vector<uint8_t> start(m.code.size() + 1, 0);
  for (uint32_t pc = 0; pc < m.code.size();) {
    auto in = isa::decode(m.code, pc);
    if (!in) return failf(Errc::VerifyError, "{}: {}", src_of(m, name), in.error().detail);
    start[pc] = 1;
    pc = in->next;
  }
  return start;
}

std::string call_site(const isa::Module& m, std::string_view name, uint32_t op_pc, std::string_view target) {
  std::string s = src_of(m, name);
  if (auto line = m.line_at(op_pc)) s += fmt::format(":{}", *line);
  return s + fmt::format(": offset {:#06x}: CALL {}", op_pc, target);
}

}  // namespace

const Segment* Linked::segment_at(uint32_t pc) const {
  for (const auto& s : segments)
    if (pc >= s.base && pc < s.base + s.size) return &s;
  return nullptr;
}

const Segment* Linked::segment(std::string_view m) const {
  for (const auto& s : segments)
    if (s.module == m) return &s;
  return nullptr;
}

Result<uint32_t> Linked::resolve(std::string_view mod, std::string_view label) const {
  const Segment* s = segment(mod);
  if (!s) {
    std::string names;
    for (const auto& g : segments) names += fmt::format("{}{}", names.empty() ? "" : ", ", g.module);
    return failf(Errc::NotFound, "no module '{}' in the archive (modules: {})", mod, names);
  }
  auto off = module.find(fmt::format("{}:{}", mod, label));
  if (!off) return failf(Errc::NotFound, "module '{}' has no label '{}'", mod, label);
  if (*off >= s->base + s->size) return failf(Errc::NotFound, "label '{}:{}' is at the end of the module, not on an instruction", mod, label);
  return *off;
}

std::string Linked::where(uint32_t pc) const {
  const Segment* s = segment_at(pc);
  const auto& oi = isa::info(pc < module.code.size() ? module.code[pc] : 0);
  std::string_view mnem = oi.valid() ? oi.name : "?";
  if (!s) return fmt::format("{}: offset {:#06x}: {}", module.source, pc, mnem);
  std::string out = s->source;
  auto it = std::upper_bound(module.lines.begin(), module.lines.end(), pc,
                             [](uint32_t p, const isa::LineEntry& e) { return p < e.pc; });
  if (it != module.lines.begin() && std::prev(it)->pc >= s->base) out += fmt::format(":{}", std::prev(it)->line);
  return out + fmt::format(": {}+{:#06x}: {}", s->module, pc - s->base, mnem);
}

Status verify_module(const isa::Module& m, std::string_view name, uint32_t memory_words) {
  // One decoding pass with the verifier's rules (src/vm/program.cpp), without building an
  // instruction list: the linked program goes through vm::Program::load (the authoritative
  // verifier) anyway; this pass exists to name the module and its line when something is wrong.
  const std::string src = src_of(m, name);
  auto at = [&](uint32_t pc) {
    auto line = m.line_at(pc);
    return line ? fmt::format("{}:{}: offset {:#x}", src, *line, pc) : fmt::format("{}: offset {:#x}", src, pc);
  };
  if (m.code.empty()) return failf(Errc::VerifyError, "{}: empty module (no instructions)", src);
  std::vector<uint8_t> start(m.code.size() + 1, 0);
  std::vector<std::pair<uint32_t, uint32_t>> targets;  // (pc, ADDR operand)
  isa::Op last = isa::Op::NOP;
  uint32_t last_pc = 0;
  for (uint32_t pc = 0; pc < m.code.size();) {
    auto in = isa::decode(m.code, pc);
    if (!in) return failf(Errc::VerifyError, "{}: {}", src, in.error().detail);
    start[pc] = 1;
    switch (in->info->fmt) {
      case isa::Fmt::ADDR: targets.emplace_back(pc, uint32_t(in->operand)); break;
      case isa::Fmt::U16:
        if (uint32_t(in->operand) >= memory_words)
          return failf(Errc::VerifyError, "{}: {} address {} is outside memory (0..{})", at(pc), in->info->name, in->operand,
                       memory_words - 1);
        break;
      case isa::Fmt::U8:
        if (in->op == isa::Op::HOST_CALL && !vm::host_table()[size_t(in->operand)])
          return failf(Errc::VerifyError, "{}: unknown host call id {}", at(pc), in->operand);
        break;
      default: break;
    }
    last = in->op;
    last_pc = pc;
    pc = in->next;
  }
  std::vector<uint8_t> reloc_site(m.code.size(), 0);
  for (const auto& r : m.relocs) {
    uint32_t op = r.at - 1;
    if (r.at == 0 || uint64_t(r.at) + 4 > m.code.size() || !start[op] || isa::Op(m.code[op]) != isa::Op::CALL)
      return failf(Errc::LinkError, "{}: offset {:#06x}: relocation '{}' does not sit on a CALL operand", src, r.at, r.target);
    reloc_site[op] = 1;
  }
  for (auto [pc, t] : targets) {
    if (reloc_site[pc]) continue;  // resolved by the linker
    if (t >= m.code.size() || !start[t])
      return failf(Errc::VerifyError, "{}: {} target {:#x} is {}", at(pc), isa::info(m.code[pc]).name, t,
                   t >= m.code.size() ? "outside the module" : "inside an instruction");
  }
  if (last != isa::Op::JMP && last != isa::Op::RET && last != isa::Op::HALT)
    return failf(Errc::VerifyError, "{}: execution can fall off the end of the module after {} (end with HALT, RET or JMP)",
                 at(last_pc), isa::info(uint8_t(last)).name);
  return {};
}

Result<Linked> link(std::span<const LinkInput> mods, std::string_view output_name) {
  Linked L;
  std::map<std::string, size_t, std::less<>> index;
  uint64_t total = 0;
  std::vector<std::vector<uint8_t>> starts;
  for (size_t i = 0; i < mods.size(); ++i) {
    const auto& in = mods[i];
    if (!index.emplace(in.name, i).second) return failf(Errc::LinkError, "module '{}' given twice", in.name);
    auto st = starts_of(*in.module, in.name);
    if (!st) return std::unexpected(st.error());
    starts.push_back(std::move(*st));
    L.segments.push_back({in.name, src_of(*in.module, in.name), uint32_t(total), uint32_t(in.module->code.size()), {}});
    total += in.module->code.size();
    if (total > isa::kMaxCodeBytes)
      return failf(Errc::LinkError, "linked code of {}+ bytes is over the {}-byte limit", total, isa::kMaxCodeBytes);
  }
  std::string names;
  for (const auto& in : mods) names += fmt::format("{}{}", names.empty() ? "" : ", ", in.name);

  // Resolve every relocation: target module and label must exist, the label must start an instruction.
  struct Site { uint32_t at; uint32_t target; };
  std::vector<std::vector<Site>> sites(mods.size());
  std::vector<std::map<size_t, std::string>> edges(mods.size());  // importer -> imported, first call site
  for (size_t i = 0; i < mods.size(); ++i) {
    const isa::Module& m = *mods[i].module;
    for (const auto& r : m.relocs) {
      uint32_t op = r.at - 1;
      if (r.at == 0 || uint64_t(r.at) + 4 > m.code.size() || !starts[i][op] || isa::Op(m.code[op]) != isa::Op::CALL)
        return failf(Errc::LinkError, "{}: offset {:#06x}: relocation '{}' does not sit on a CALL operand", src_of(m, mods[i].name),
                     r.at, r.target);
      std::string where = call_site(m, mods[i].name, op, r.target);
      size_t colon = r.target.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == r.target.size())
        return failf(Errc::LinkError, "{}: unresolved: '{}' is not module:label", where, r.target);
      std::string tm = r.target.substr(0, colon), tl = r.target.substr(colon + 1);
      auto it = index.find(tm);
      if (it == index.end())
        return failf(Errc::LinkError, "{}: unresolved cross-module call: no module '{}' in the archive (modules: {})", where, tm, names);
      const isa::Module& tgt = *mods[it->second].module;
      auto off = tgt.find(tl);
      if (!off) {
        std::vector<std::string> labels;
        for (const auto& s : tgt.symbols) labels.push_back(s.name);
        std::string guess = closest(tl, labels);
        return failf(Errc::LinkError, "{}: unresolved cross-module call: module '{}' has no label '{}'{}", where, tm, tl,
                     guess.empty() ? "" : fmt::format(" (did you mean '{}'?)", guess));
      }
      if (*off >= tgt.code.size() || !starts[it->second][*off])
        return failf(Errc::LinkError, "{}: unresolved cross-module call: label '{}' is not on an instruction of '{}'", where, tl, tm);
      sites[i].push_back({r.at, L.segments[it->second].base + *off});
      if (it->second != i) edges[i].emplace(it->second, where);
    }
  }
  for (size_t i = 0; i < mods.size(); ++i)
    for (const auto& [j, w] : edges[i]) L.segments[i].imports.push_back(mods[j].name);
  for (auto& s : L.segments) std::sort(s.imports.begin(), s.imports.end());

  // Import cycles: depth-first search with colours; the first back edge found names the cycle.
  {
    std::vector<int> colour(mods.size(), 0);  // 0 new, 1 on the path, 2 done
    std::vector<size_t> path;
    std::string cycle;
    auto dfs = [&](auto& self, size_t u) -> bool {
      colour[u] = 1;
      path.push_back(u);
      for (const auto& [v, w] : edges[u]) {
        if (colour[v] == 1) {
          auto from = std::find(path.begin(), path.end(), v);
          std::string chain, sitesx;
          for (auto p = from; p != path.end(); ++p) {
            size_t next = (p + 1 == path.end()) ? v : *(p + 1);
            chain += mods[*p].name + " -> ";
            sitesx += fmt::format("; {}", edges[*p].at(next));
          }
          cycle = fmt::format("import cycle {}{}{}", chain, mods[v].name, sitesx);
          return true;
        }
        if (colour[v] == 0 && self(self, v)) return true;
      }
      path.pop_back();
      colour[u] = 2;
      return false;
    };
    for (size_t i = 0; i < mods.size(); ++i)
      if (colour[i] == 0 && dfs(dfs, i))
        return failf(Errc::LinkError, "{} (cross-module calls must form an acyclic module graph; recursion belongs inside one module)",
                     cycle);
  }

  // Emit: code with relocated ADDR operands, qualified symbols, shifted line map.
  L.module.source = std::string(output_name);
  L.module.code.reserve(size_t(total));
  for (size_t i = 0; i < mods.size(); ++i) {
    const isa::Module& m = *mods[i].module;
    uint32_t base = L.segments[i].base;
    size_t at0 = L.module.code.size();
    L.module.code.insert(L.module.code.end(), m.code.begin(), m.code.end());
    uint8_t* code = L.module.code.data() + at0;
    size_t next_site = 0;
    std::vector<Site> ss = sites[i];
    std::sort(ss.begin(), ss.end(), [](const Site& a, const Site& b) { return a.at < b.at; });
    for (uint32_t pc = 0; pc < m.code.size();) {
      auto in = isa::decode(m.code, pc);
      if (!in) return failf(Errc::VerifyError, "{}: {}", src_of(m, mods[i].name), in.error().detail);
      if (in->info->fmt == isa::Fmt::ADDR) {
        uint32_t opnd = pc + 1;
        while (next_site < ss.size() && ss[next_site].at < opnd) ++next_site;
        if (next_site < ss.size() && ss[next_site].at == opnd) put_u32le(code + opnd, ss[next_site].target);
        else put_u32le(code + opnd, uint32_t(in->operand) + base);
      }
      pc = in->next;
    }
    for (const auto& s : m.symbols) L.module.symbols.push_back({fmt::format("{}:{}", mods[i].name, s.name), base + s.offset});
    for (const auto& l : m.lines)  // entries past the code would break the merged map's order
      if (l.pc < m.code.size()) L.module.lines.push_back({base + l.pc, l.line});
  }
  return L;
}

}  // namespace pxos::hv
