// repl.cpp: assemble kept lines + the new line + HALT, run from the new line's first byte.
#include "debug/repl.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <utility>

#include "asm/assembler.hpp"
#include "isa/symbols.hpp"
#include "vm/program.hpp"

namespace pxos::debug {

Repl::Repl(vm::HostEnv& env, vm::Limits lim) : env_(env), lim_(lim), mem_(std::min(lim.memory_words, vm::kMaxMemoryWords), 0) {
  if (!lim_.max_steps) lim_.max_steps = kReplMaxSteps;
}

std::string Repl::stack_text() const { return fmt::format("[{}]", fmt::join(stack_, " ")); }

ReplReply Repl::feed(std::string_view line) {
  ReplReply r;
  std::string text = source_ + std::string(line) + "\n";
  std::vector<assembler::Diagnostic> diags;
  auto m = assembler::assemble(text + "HALT\n", kReplSource, &diags);
  if (!m) {
    r.ok = false;
    r.code = m.error().code;
    // the new line is the only one that can be wrong (the kept ones assembled before): column only
    for (const auto& d : diags) r.error += fmt::format("{}col {}: {}", r.error.empty() ? "" : "; ", d.col, d.message);
    if (r.error.empty()) r.error = m.error().detail;
    return r;
  }
  uint32_t end = uint32_t(m->code.size() - 1);  // the HALT added after the line
  vm::VerifyOptions vo;
  vo.memory_words = uint32_t(mem_.size());
  auto prog = vm::Program::load(std::move(*m), vo);
  if (!prog) {
    r.ok = false, r.code = prog.error().code, r.error = prog.error().detail;
    return r;
  }
  if (end == code_end_) {  // a label or a comment: nothing to run, kept for later lines
    source_ = std::move(text);
    return r;
  }
  vm::Machine mach(*prog, env_);
  vm::RunOptions ro;
  ro.limits = lim_;
  ro.limits.memory_words = uint32_t(mem_.size());
  ro.entry = code_end_;
  ro.start_stack = stack_;
  ro.start_memory = mem_;
  ro.output = [&r](std::string_view s) { r.output += s; };
  vm::RunResult res = mach.run(ro);
  if (!res.halted) {
    isa::Symbolizer sym(prog->module());
    r.ok = false, r.code = res.trap.code;
    r.error = fmt::format("{}: {} (at {})", sym.insn_at(res.trap.pc), res.trap.message, sym.where(res.trap.pc));
    return r;
  }
  auto st = mach.stack();
  stack_.assign(st.begin(), st.end());
  auto mem = std::as_const(mach).memory();
  mem_.assign(mem.begin(), mem.end());
  source_ = std::move(text);
  code_end_ = end;
  return r;
}

ReplReply Repl::command(std::string_view line) {
  ReplReply r;
  auto bad = [&](std::string msg) {
    r.ok = false, r.code = Errc::Usage, r.error = std::move(msg);
    return r;
  };
  std::vector<std::string_view> w;
  for (size_t i = 0; i < line.size();) {
    size_t j = line.find_first_of(" \t", i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) w.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  if (w.empty()) return r;
  auto num = [](std::string_view s, int64_t& v) {
    int base = 10;
    if (s.starts_with("0x")) s.remove_prefix(2), base = 16;
    auto e = std::from_chars(s.data(), s.data() + s.size(), v, base);
    return !s.empty() && e.ec == std::errc{} && e.ptr == s.data() + s.size();
  };
  std::string_view c = w[0];
  if (c == ":q" || c == ":quit") {
    quit_ = true;
  } else if (c == ":help" || c == ":h") {
    r.output =
        "Type instructions (assembler syntax, labels too); each line runs and the stack is shown.\n"
        "  :stack          the whole stack\n"
        "  :mem ADDR [N]   N memory words from ADDR (default 8)\n"
        "  :list           the lines kept so far\n"
        "  :reset          forget lines, stack and memory\n"
        "  :quit           leave (end of input too)\n";
  } else if (c == ":stack") {
    r.output = fmt::format("stack ({} values, top last): {}\n", stack_.size(), stack_text());
  } else if (c == ":list") {
    r.output = source_;
  } else if (c == ":reset") {
    source_.clear(), stack_.clear(), code_end_ = 0;
    std::fill(mem_.begin(), mem_.end(), 0);
    r.output = "reset\n";
  } else if (c == ":mem") {
    int64_t a = 0, n = 8;
    if (w.size() < 2 || w.size() > 3 || !num(w[1], a) || (w.size() == 3 && !num(w[2], n)))
      return bad(":mem: expects ADDR [N] (numbers)");
    if (a < 0 || a >= int64_t(mem_.size())) return bad(fmt::format(":mem: address {} is outside memory (0..{:#x})", a, mem_.size() - 1));
    if (n < 1 || n > 4096) return bad(":mem: the count must be 1..4096");
    int64_t end = std::min<int64_t>(a + n, int64_t(mem_.size()));
    for (int64_t i = a; i < end; i += 8) {
      r.output += fmt::format("{:#06x}:", i);
      for (int64_t j = i; j < std::min(end, i + 8); ++j) r.output += fmt::format(" {}", mem_[size_t(j)]);
      r.output += "\n";
    }
  } else {
    return bad(fmt::format("unknown command '{}' (:help lists them)", c));
  }
  return r;
}

}  // namespace pxos::debug
