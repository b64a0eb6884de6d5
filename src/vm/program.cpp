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
std::vector<uint16_t> fuse(const std::vector<Cell>& c) {
  size_t n = c.size();
  std::vector<uint16_t> s(n, 0);
  auto op = [&](size_t i) { return i < n ? Op(c[i].op()) : Op::NOP; };
  auto a = [&](size_t i) { return i < n ? c[i].a : -1; };
  auto br = [&](size_t i) { return op(i) == Op::JZ ? 0 : op(i) == Op::JNZ ? 1 : -1; };
  // <cmp>; Jcc at i: the offset of the pair in a compare-and-branch family, or -1
  auto cb = [&](size_t i) { return cmp_index(op(i)) >= 0 && br(i + 1) >= 0 ? 2 * cmp_index(op(i)) + br(i + 1) : -1; };
  auto bin = [&](size_t i) { return binop_index(op(i)); };
  auto u16 = [](int id) { return uint16_t(id); };
  for (size_t i = 0; i < n; ++i) {
    Op o = op(i), o1 = op(i + 1), o2 = op(i + 2), o3 = op(i + 3);
    // four instructions
    if (o == Op::LGET && o1 == Op::PUSH && cb(i + 2) >= 0) s[i] = u16(kSuperLocalPushCmpBranch + cb(i + 2));
    else if (o == Op::LGET && o1 == Op::LGET && cb(i + 2) >= 0) s[i] = u16(kSuperLocalLocalCmpBranch + cb(i + 2));
    else if (o == Op::LOAD && o1 == Op::PUSH && cb(i + 2) >= 0) s[i] = u16(kSuperMemPushCmpBranch + cb(i + 2));
    else if (o == Op::LGET && o1 == Op::LGET && o2 == Op::ADD && o3 == Op::LSET) s[i] = kSuper_LLADD_SET;
    else if (o == Op::LOAD && o1 == Op::INC && o2 == Op::DUP && o3 == Op::STORE && a(i + 3) == a(i)) s[i] = kSuper_MINC_TEE;
    else if (o == Op::LOCALS && o1 == Op::LSET && o2 == Op::LSET && o3 == Op::LSET) s[i] = kSuper_ENTER_SET3;
    // three
    else if (o == Op::PUSH && cb(i + 1) >= 0) s[i] = u16(kSuperPushCmpBranch + cb(i + 1));
    else if (o == Op::LOCALS && o1 == Op::LSET && o2 == Op::LSET) s[i] = kSuper_ENTER_SET2;
    else if (o == Op::LGET && o1 == Op::LGET && o2 == Op::CALL) s[i] = kSuper_LGET2_CALL;
    else if (o == Op::LGET && cb(i + 1) >= 0) s[i] = u16(kSuperLocalCmpBranch + cb(i + 1));
    else if (o == Op::LGET && a(i + 2) == a(i) && o1 == Op::INC && o2 == Op::LSET) s[i] = kSuper_LINC;
    else if (o == Op::LGET && a(i + 2) == a(i) && o1 == Op::INC && o2 == Op::LTEE) s[i] = kSuper_LINC_TEE;
    else if (o == Op::LGET && a(i + 2) == a(i) && o1 == Op::DEC && o2 == Op::LSET) s[i] = kSuper_LDEC;
    else if (o == Op::LGET && a(i + 2) == a(i) && o1 == Op::ADD && o2 == Op::LSET) s[i] = kSuper_LACC;
    else if (o == Op::LOAD && a(i + 2) == a(i) && o1 == Op::INC && o2 == Op::STORE) s[i] = kSuper_MINC;
    else if (o == Op::LOAD && a(i + 2) == a(i) && o1 == Op::DEC && o2 == Op::STORE) s[i] = kSuper_MDEC;
    else if (o == Op::LOAD && a(i + 2) == a(i) && o1 == Op::ADD && o2 == Op::STORE) s[i] = kSuper_MACC;
    else if (o == Op::LGET && o1 == Op::PUSH && bin(i + 2) >= 0) s[i] = u16(kSuperLocalPushBinop + bin(i + 2));
    else if (o == Op::PUSH && o1 == Op::LGET && o2 == Op::STOREI) s[i] = kSuper_PLSTOREI;
    else if (o == Op::LGET && o1 == Op::LOADI && o2 == Op::LSET) s[i] = kSuper_LOADI_SET;
    else if (o == Op::LGET && o1 == Op::ADD && o2 == Op::LOADI) s[i] = kSuper_LADD_LOADI;
    else if (o == Op::PUSH && o1 == Op::ADD && o2 == Op::LOADI) s[i] = kSuper_PADD_LOADI;
    // two
    else if (cb(i) >= 0) s[i] = u16(kSuperCmpBranch + cb(i));
    else if (o == Op::PUSH && bin(i + 1) >= 0) s[i] = u16(kSuperPushBinop + bin(i + 1));
    else if (o == Op::LGET && bin(i + 1) >= 0) s[i] = u16(kSuperLocalBinop + bin(i + 1));
    else if (o == Op::LOAD && bin(i + 1) >= 0) s[i] = u16(kSuperMemBinop + bin(i + 1));
    else if (bin(i) >= 0 && o1 == Op::STORE) s[i] = u16(kSuperBinopStore + bin(i));
    else if (o == Op::LGET && o1 == Op::LGET && bin(i + 2) < 0)
      s[i] = kSuper_LGET2;  // (LGET a; LGET b; binop runs better as LGET a; [LGET b; binop])
    else if (o == Op::LOAD && o1 == Op::LOAD && bin(i + 2) < 0) s[i] = kSuper_LOAD2;
    else if (o == Op::LGET && o1 == Op::LOADI) s[i] = kSuper_LGET_LOADI;
    else if (o == Op::LGET && o1 == Op::PUSH && bin(i + 2) < 0 && cmp_index(o2) < 0)
      s[i] = kSuper_LGET_PUSH;  // else PUSH c fuses with what follows
    else if (o == Op::LGET && o1 == Op::RET) s[i] = kSuper_LGET_RET;
    else if (o == Op::LGET && o1 == Op::INC) s[i] = kSuper_LGET_INC;
    else if (o == Op::LGET && o1 == Op::DEC) s[i] = kSuper_LGET_DEC;
    else if (o == Op::LGET && o1 == Op::STOREI) s[i] = kSuper_LSTOREI;
    else if (o == Op::ADD && o1 == Op::RET) s[i] = kSuper_ADD_RET;
    else if (o == Op::LOCALS && o1 == Op::LSET) s[i] = kSuper_ENTER_SET;
    else if (o == Op::LOCALS && o1 == Op::LTEE) s[i] = kSuper_ENTER_TEE;
    else if (o == Op::DUP && o1 == Op::STORE) s[i] = kSuper_DUP_STORE;
    else if (o == Op::LSET && o1 == Op::LSET) s[i] = kSuper_LSET2;
    else if (o == Op::LGET && o1 == Op::CALL) s[i] = kSuper_LGET_CALL;
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
