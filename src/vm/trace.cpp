// trace.cpp: trace lines, text and JSON, from the machine's state before each instruction.
#include "vm/trace.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace pxos::vm {

Tracer::Tracer(const Program& p, std::FILE* out, TraceFormat f, uint64_t limit)
    : prog_(p), sym_(p.module()), out_(out), fmt_(f), limit_(limit) {}

std::string Tracer::text_line(const Machine& m) const {
  uint32_t pc = m.pc();
  auto line = prog_.module().line_at(pc);
  std::string st;
  auto s = m.stack();
  size_t from = s.size() > kTraceStackValues ? s.size() - kTraceStackValues : 0;
  if (from) st += "… ";
  for (size_t i = from; i < s.size(); ++i) st += fmt::format("{}{}", i > from ? " " : "", s[i]);
  std::string at = prog_.module().symbols.empty() || sym_.where(pc).starts_with("0x") ? "-" : sym_.where(pc);
  return fmt::format("{:#06x}  {:<18} {:>5}  d{:<2} {:<26} [{}]", pc, at,
                     line ? fmt::format("{}", *line) : std::string("-"), m.call_depth(), sym_.insn_at(pc), st);
}

std::string Tracer::json_line(const Machine& m) const {
  uint32_t pc = m.pc();
  nlohmann::ordered_json j;  // keys in the order a reader expects
  j["pc"] = pc;
  j["at"] = sym_.where(pc);
  if (auto line = prog_.module().line_at(pc)) j["line"] = *line;
  else j["line"] = nullptr;
  j["depth"] = m.call_depth();
  auto in = isa::decode(prog_.module().code, pc);
  j["op"] = in ? std::string(in->info->name) : "?";
  j["insn"] = in ? sym_.insn(*in) : "?";
  if (in && in->info->fmt == isa::Fmt::ADDR) j["target"] = in->operand;
  auto s = m.stack();
  j["stack"] = std::vector<int32_t>(s.begin(), s.end());
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

StepAction Tracer::operator()(const Machine& m) {
  if (limit_ && lines_ == limit_) {
    if (fmt_ == TraceFormat::json)
      std::fprintf(out_, "{\"trace_limit\":%llu}\n", (unsigned long long)limit_);
    else
      std::fprintf(out_, "trace: limit of %llu lines reached; the run goes on untraced\n", (unsigned long long)limit_);
    std::fflush(out_);
    return StepAction::detach;
  }
  ++lines_;
  std::string l = fmt_ == TraceFormat::json ? json_line(m) : text_line(m);
  l += '\n';
  std::fwrite(l.data(), 1, l.size(), out_);
  return StepAction::go;
}

}  // namespace pxos::vm
