// program.cpp: verification and predecoding.
#include "vm/program.hpp"

#include <fmt/format.h>

#include "isa/decode.hpp"
#include "vm/hostcalls.hpp"

namespace pxos::vm {

using isa::Fmt;
using isa::Op;

Status verify(const isa::Module& m, const VerifyOptions& opt) {
  const std::string& src = m.source.empty() ? std::string("<module>") : m.source;
  // "file.pxasm:12" where the module knows the instruction's source line, as a trap names it.
  auto at = [&](uint32_t pc) {
    auto line = m.line_at(pc);
    return line ? fmt::format("{}:{}", src, *line) : src;
  };
  if (m.code.empty()) return failf(Errc::VerifyError, "{}: empty program (no instructions)", src);
  if (m.code.size() > isa::kMaxCodeBytes) return failf(Errc::VerifyError, "{}: code too large", src);
  // Pass 1 marks instruction starts; pass 2 checks operands against them. Decoding twice is
  // cheaper than keeping every decoded instruction (start-up time of large archives).
  std::vector<uint8_t> start(m.code.size() + 1, 0);
  isa::Insn last{};
  for (uint32_t pc = 0; pc < m.code.size();) {
    auto in = isa::decode(m.code, pc);
    if (!in) return failf(Errc::VerifyError, "{}: {}", at(pc), in.error().detail);
    start[pc] = 1;
    last = *in;
    pc = in->next;
  }
  for (const auto& r : m.relocs)
    return failf(Errc::LinkError, "{}: offset {:#06x}: unresolved cross-module call '{}' (run it through `pxos hv`)",
                 at(r.at - 1), r.at - 1, r.target);
  for (uint32_t pc = 0; pc < m.code.size();) {
    const isa::Insn in = *isa::decode(m.code, pc);  // cannot fail: pass 1 decoded it
    pc = in.next;
    switch (in.info->fmt) {
      case Fmt::ADDR:
        if (in.operand >= int64_t(m.code.size()) || !start[size_t(in.operand)])
          return failf(Errc::VerifyError, "{}: offset {:#06x}: {} target {:#06x} is {}", at(in.pc), in.pc, in.info->name,
                       in.operand, in.operand >= int64_t(m.code.size()) ? "outside the code" : "inside an instruction");
        break;
      case Fmt::U16:
        if (uint32_t(in.operand) >= opt.memory_words)
          return failf(Errc::VerifyError, "{}: offset {:#06x}: {} address {} is outside memory (0..{})", at(in.pc), in.pc,
                       in.info->name, in.operand, opt.memory_words - 1);
        break;
      case Fmt::U8:
        if (in.op == Op::HOST_CALL && opt.check_host_ids && !host_table()[size_t(in.operand)])
          return failf(Errc::VerifyError, "{}: offset {:#06x}: unknown host call id {}", at(in.pc), in.pc, in.operand);
        break;
      default: break;
    }
  }
  if (isa::falls_through(last.op))
    return failf(Errc::VerifyError, "{}: offset {:#06x}: execution can fall off the end of the code after {} (end with HALT, RET or JMP)",
                 at(last.pc), last.pc, last.info->name);
  return {};
}

namespace {
int binop_index(Op op) {
  int i = 0;
#define X(name) if (op == Op::name) return i; ++i;
  PXOS_SUPER_BINOPS(X)
#undef X
  return -1;
}
int cmp_index(Op op) {
  int i = 0;
#define X(name) if (op == Op::name) return i; ++i;
  PXOS_SUPER_CMPS(X)
#undef X
  return -1;
}

// Picks, for every cell, the longest superinstruction whose pattern starts there. Fusions may
// overlap: each cell keeps its own handler too, so any cell stays a valid jump target.
std::vector<uint8_t> fuse(const std::vector<Cell>& c) {
  size_t n = c.size();
  std::vector<uint8_t> s(n, 0);
  auto op = [&](size_t i) { return i < n ? Op(c[i].op()) : Op::NOP; };
  auto br = [&](size_t i) { return op(i) == Op::JZ ? 0 : op(i) == Op::JNZ ? 1 : -1; };
  for (size_t i = 0; i < n; ++i) {
    Op o = op(i);
    if (o == Op::PUSH && cmp_index(op(i + 1)) >= 0 && br(i + 2) >= 0)
      s[i] = uint8_t(kSuperPushCmpBranch + 2 * cmp_index(op(i + 1)) + br(i + 2));
    else if (o == Op::LGET && i + 2 < n && c[i + 2].a == c[i].a && op(i + 1) == Op::INC && op(i + 2) == Op::LSET)
      s[i] = kSuper_LINC;
    else if (o == Op::LGET && i + 2 < n && c[i + 2].a == c[i].a && op(i + 1) == Op::INC && op(i + 2) == Op::LTEE)
      s[i] = kSuper_LINC_TEE;
    else if (o == Op::LGET && i + 2 < n && c[i + 2].a == c[i].a && op(i + 1) == Op::DEC && op(i + 2) == Op::LSET)
      s[i] = kSuper_LDEC;
    else if (o == Op::LGET && i + 2 < n && c[i + 2].a == c[i].a && op(i + 1) == Op::ADD && op(i + 2) == Op::LSET)
      s[i] = kSuper_LACC;
    else if (o == Op::LGET && op(i + 1) == Op::ADD && op(i + 2) == Op::LOADI)
      s[i] = kSuper_LADD_LOADI;
    else if (o == Op::PUSH && op(i + 1) == Op::ADD && op(i + 2) == Op::LOADI)
      s[i] = kSuper_PADD_LOADI;
    else if (cmp_index(o) >= 0 && br(i + 1) >= 0)
      s[i] = uint8_t(kSuperCmpBranch + 2 * cmp_index(o) + br(i + 1));
    else if (o == Op::PUSH && binop_index(op(i + 1)) >= 0)
      s[i] = uint8_t(kSuperPushBinop + binop_index(op(i + 1)));
    else if (o == Op::LGET && binop_index(op(i + 1)) >= 0)
      s[i] = uint8_t(kSuperLocalBinop + binop_index(op(i + 1)));
    else if (o == Op::LGET && op(i + 1) == Op::LGET && binop_index(op(i + 2)) < 0)
      s[i] = kSuper_LGET2;  // (LGET a; LGET b; binop runs better as LGET a; [LGET b; binop])
    else if (o == Op::LGET && op(i + 1) == Op::LOADI)
      s[i] = kSuper_LGET_LOADI;
    else if (o == Op::LGET && op(i + 1) == Op::PUSH && binop_index(op(i + 2)) < 0 && cmp_index(op(i + 2)) < 0)
      s[i] = kSuper_LGET_PUSH;  // else PUSH c fuses with what follows
  }
  return s;
}
}  // namespace

Result<Program> Program::load(isa::Module m, const VerifyOptions& opt) {
  if (auto v = verify(m, opt); !v) return std::unexpected(v.error());
  Program p;
  // Pass 1 numbers the instructions (jump operands need the cell of any offset); pass 2 fills cells.
  p.pc_to_cell_.assign(m.code.size() + 1, -1);
  int32_t n = 0;
  for (uint32_t pc = 0; pc < m.code.size(); pc = isa::decode(m.code, pc)->next)  // cannot fail after verify
    p.pc_to_cell_[pc] = n++;
  p.cells_.resize(size_t(n));
  size_t i = 0;
  for (uint32_t pc = 0; pc < m.code.size(); ++i) {
    const isa::Insn in = *isa::decode(m.code, pc);
    pc = in.next;
    Cell& c = p.cells_[i];
    c.pc_op = in.pc | uint32_t(uint8_t(in.op)) << 24;
    switch (in.info->fmt) {
      case Fmt::ADDR: c.a = p.pc_to_cell_[size_t(in.operand)]; break;
      case Fmt::STR:
        c.a = int32_t(p.strings_.size());
        p.strings_.emplace_back(in.text);
        break;
      default: c.a = int32_t(in.operand); break;
    }
  }
  p.runlen_.resize(p.cells_.size());
  for (size_t k = p.cells_.size(); k-- > 0;) {
    bool ends = isa::ends_run(Op(p.cells_[k].op())) || k + 1 == p.cells_.size();
    p.runlen_[k] = ends ? 1 : 1 + p.runlen_[k + 1];
  }
  p.super_ = fuse(p.cells_);
  p.mod_ = std::move(m);
  return p;
}

int32_t Program::cell_at(uint32_t pc) const { return pc < pc_to_cell_.size() ? pc_to_cell_[pc] : -1; }

std::string Program::where(uint32_t pc) const {
  const auto& oi = isa::info(pc < mod_.code.size() ? mod_.code[pc] : 0);
  std::string s = mod_.source.empty() ? "<module>" : mod_.source;
  if (auto line = mod_.line_at(pc)) s += fmt::format(":{}", *line);
  return s + fmt::format(": offset {:#06x}: {}", pc, oi.valid() ? oi.name : "?");
}

}  // namespace pxos::vm
