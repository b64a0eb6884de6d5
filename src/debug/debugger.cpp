// debugger.cpp: command parsing (by commands.def) and the session: every stop is decided in
// the VM's step hook, and the command loop runs inside it, so the program never leaves its loop.
#include "debug/debugger.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

namespace pxos::debug {

const std::vector<CmdInfo>& commands() {
  static const std::vector<CmdInfo> t = {
#define CMD(id, name, aliases, args, help) {Cmd::id, name, aliases, args, help},
#include "debug/commands.def"
#undef CMD
  };
  return t;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> w;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) w.push_back(s.substr(i, j - i));
    i = j;
  }
  return w;
}

// A decimal or 0x-hex number, optionally negative; nullopt when it is not one.
std::optional<int64_t> number(std::string_view s) {
  bool neg = s.starts_with('-');
  if (neg) s.remove_prefix(1);
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2), base = 16;
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || v > uint64_t(INT64_MAX)) return std::nullopt;
  return neg ? -int64_t(v) : int64_t(v);
}

bool is_label(std::string_view s) {  // the assembler's label syntax
  if (s.empty() || !(std::isalpha(uint8_t(s[0])) || s[0] == '_' || s[0] == '.')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(uint8_t(c)) || c == '_' || c == '.'; });
}

const CmdInfo* find_command(std::string_view w) {
  for (const auto& c : commands()) {
    if (c.name == w) return &c;
    for (auto a : words(c.aliases))
      if (a == w) return &c;
  }
  const CmdInfo* hit = nullptr;  // a unique prefix of a name
  for (const auto& c : commands())
    if (c.name.starts_with(w)) {
      if (hit) return nullptr;
      hit = &c;
    }
  return hit;
}

Result<int64_t> want_number(std::string_view cmd, std::string_view w) {
  if (auto n = number(w)) return *n;
  return failf(Errc::Usage, "{}: '{}' is not a number", cmd, w);
}

Result<Location> parse_location(std::string_view w) {
  Location l;
  if (w.starts_with('*')) {
    auto n = number(w.substr(1));
    if (!n || *n < 0) return failf(Errc::Usage, "break: '{}' is not an offset (*0x1c or *28)", w);
    l.kind = Location::at_offset, l.value = *n;
    return l;
  }
  if (auto n = number(w)) {
    if (*n < 0) return failf(Errc::Usage, "break: '{}' is neither a line nor an offset", w);
    // a hex number is an offset (gdb writes *0x1c; both work), a decimal one a source line
    l.kind = w.starts_with("0x") || w.starts_with("0X") ? Location::at_offset : Location::at_line;
    l.value = *n;
    return l;
  }
  if (size_t colon = w.rfind(':'); colon != std::string_view::npos) {
    auto n = number(w.substr(colon + 1));
    if (!n || *n <= 0) return failf(Errc::Usage, "break: '{}': the line after ':' must be a number from 1", w);
    l.kind = Location::at_line, l.value = *n, l.name = std::string(w.substr(0, colon));
    return l;
  }
  std::string_view name = w;
  if (size_t plus = w.find('+'); plus != std::string_view::npos) {
    auto n = number(w.substr(plus + 1));
    if (!n || *n < 0) return failf(Errc::Usage, "break: '{}': the offset after '+' must be a number", w);
    l.value = *n;
    name = w.substr(0, plus);
  }
  if (!is_label(name)) return failf(Errc::Usage, "break: '{}' is not a label, line or *offset", w);
  l.kind = Location::at_label, l.name = std::string(name);
  return l;
}

}  // namespace

Result<std::optional<Command>> parse_command(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.starts_with('#')) return std::optional<Command>{};
  auto w = words(line);
  std::string_view head = w[0];
  std::string_view slash;  // x/8
  if (size_t s = head.find('/'); s != std::string_view::npos) slash = head.substr(s + 1), head = head.substr(0, s);
  const CmdInfo* ci = find_command(head);
  if (!ci) return failf(Errc::Usage, "unknown command '{}' ('help' lists them)", head);
  Command c;
  c.cmd = ci->id;
  auto args = std::span(w).subspan(1);
  auto too_many = [&](size_t most) -> Status {
    if (args.size() > most) return failf(Errc::Usage, "{}: too many arguments (usage: {} {})", ci->name, ci->name, ci->args);
    return {};
  };
  if (!slash.empty() && c.cmd != Cmd::x) return failf(Errc::Usage, "{}: '/{}' only goes with x (x/8 ADDR)", ci->name, slash);
  switch (c.cmd) {
    case Cmd::break_:
      if (args.size() != 1) return failf(Errc::Usage, "break: expects one LOCATION (a label, label+N, LINE, FILE:LINE or *OFFSET)");
      {
        auto l = parse_location(args[0]);
        if (!l) return std::unexpected(l.error());
        c.loc = *l;
      }
      break;
    case Cmd::delete_:
    case Cmd::list:
      if (auto st = too_many(1); !st) return std::unexpected(st.error());
      if (!args.empty()) {
        auto n = want_number(ci->name, args[0]);
        if (!n) return std::unexpected(n.error());
        if (*n < 0) return failf(Errc::Usage, "{}: '{}' must not be negative", ci->name, args[0]);
        c.a = *n;
      }
      break;
    case Cmd::step:
    case Cmd::next:
      if (auto st = too_many(1); !st) return std::unexpected(st.error());
      c.a = 1;
      if (!args.empty()) {
        auto n = want_number(ci->name, args[0]);
        if (!n) return std::unexpected(n.error());
        if (*n < 1) return failf(Errc::Usage, "{}: the count must be at least 1", ci->name);
        c.a = *n;
      }
      break;
    case Cmd::info:
    case Cmd::print:
      if (args.size() != 1)
        return failf(Errc::Usage, "{}: expects one of: {}", ci->name,
                     c.cmd == Cmd::info ? "break, stack, locals, labels, program" : "stack, locals, ADDR, LABEL");
      c.word = std::string(args[0]);
      if (c.cmd == Cmd::print) {
        if (auto n = number(args[0])) c.a = *n;
        else if (c.word != "stack" && c.word != "locals" && !is_label(c.word))
          return failf(Errc::Usage, "print: '{}' is not stack, locals, an address or a label", c.word);
      } else {
        static const std::vector<std::pair<std::string_view, std::string_view>> kinds = {
            {"break", "break"}, {"b", "break"}, {"breakpoints", "break"}, {"watch", "break"}, {"watchpoints", "break"},
            {"stack", "stack"}, {"s", "stack"}, {"locals", "locals"}, {"labels", "labels"}, {"program", "program"}};
        auto it = std::find_if(kinds.begin(), kinds.end(), [&](auto& k) { return k.first == c.word; });
        if (it == kinds.end()) return failf(Errc::Usage, "info: '{}' is not one of break, stack, locals, labels, program", c.word);
        c.word = std::string(it->second);
      }
      break;
    case Cmd::x: {
      if (args.empty()) return failf(Errc::Usage, "x: expects ADDR [N]");
      if (auto st = too_many(slash.empty() ? 2 : 1); !st) return std::unexpected(st.error());
      auto a = want_number("x", args[0]);
      if (!a) return std::unexpected(a.error());
      c.a = *a;
      int64_t n = kDefaultExamineWords;
      std::string_view cnt = !slash.empty() ? slash : args.size() > 1 ? args[1] : std::string_view{};
      if (!cnt.empty()) {
        auto v = want_number("x", cnt);
        if (!v) return std::unexpected(v.error());
        n = *v;
      }
      if (n < 1 || n > kMaxExamineWords) return failf(Errc::Usage, "x: the count must be 1..{}", kMaxExamineWords);
      c.b = n;
      break;
    }
    case Cmd::watch: {
      if (args.size() != 1) return failf(Errc::Usage, "watch: expects one memory ADDR");
      auto a = want_number("watch", args[0]);
      if (!a) return std::unexpected(a.error());
      c.a = *a;
      break;
    }
    case Cmd::run:
    case Cmd::finish:
    case Cmd::cont:
    case Cmd::backtrace:
    case Cmd::help:
    case Cmd::quit:
      if (auto st = too_many(0); !st) return std::unexpected(st.error());
      break;
  }
  return std::optional<Command>(std::move(c));
}

// ---- the session ----

Session::Session(const vm::Program& p, vm::HostEnv& env, const vm::Limits& lim, Sink out, std::string source)
    : prog_(p), env_(env), limits_(lim), out_(std::move(out)), sym_(p.module()) {
  std::string_view s = source;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    lines_.emplace_back(s.substr(0, nl));
    if (!lines_.back().empty() && lines_.back().back() == '\r') lines_.back().pop_back();
    s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
  }
}

std::string Session::describe(uint32_t pc) const {
  std::string s = fmt::format("{:#06x} {}", pc, sym_.where(pc));
  if (auto line = prog_.module().line_at(pc))
    s += fmt::format(" ({}:{})", prog_.module().source.empty() ? "<module>" : prog_.module().source, *line);
  return s;
}

std::string Session::source_line(uint32_t line) const {
  if (line == 0 || line > lines_.size()) return {};
  return fmt::format("{:>6} | {}\n", line, lines_[line - 1]);
}

Result<uint32_t> Session::resolve(const Location& l) const {
  const isa::Module& m = prog_.module();
  int64_t pc = 0;
  switch (l.kind) {
    case Location::at_offset: pc = l.value; break;
    case Location::at_label: {
      auto at = m.find(l.name);
      if (!at) return failf(Errc::NotFound, "break {}: no label '{}' ('info labels' lists them)", l.name, l.name);
      pc = int64_t(*at) + l.value;
      break;
    }
    case Location::at_line: {
      if (!l.name.empty()) {  // FILE:LINE names this program's source
        std::string_view src = m.source, base = src.substr(src.rfind('/') == std::string_view::npos ? 0 : src.rfind('/') + 1);
        if (l.name != src && l.name != base)
          return failf(Errc::NotFound, "break {}:{}: this program's source is '{}'", l.name, l.value, src);
      }
      if (m.lines.empty()) return failf(Errc::NotFound, "break {}: the module has no line map", l.value);
      // the first instruction of the line, or of the next line that has code (as gdb does)
      const isa::LineEntry* best = nullptr;
      uint32_t last = 0;
      for (const auto& e : m.lines) {
        last = std::max(last, e.line);
        if (e.line >= l.value && (!best || e.line < best->line || (e.line == best->line && e.pc < best->pc))) best = &e;
      }
      if (!best) return failf(Errc::NotFound, "break {}: no code at or after line {} (the last is line {})", l.value, l.value, last);
      pc = best->pc;
      break;
    }
  }
  if (pc < 0 || pc >= int64_t(m.code.size()))
    return failf(Errc::NotFound, "break: offset {:#x} is outside the code (0x0..{:#x})", pc, m.code.size() - 1);
  if (prog_.cell_at(uint32_t(pc)) < 0)
    return failf(Errc::NotFound, "break: offset {:#x} ({}) is not the start of an instruction", pc, sym_.where(uint32_t(pc)));
  return uint32_t(pc);
}

Result<uint32_t> Session::memory_address(int64_t a) const {
  uint32_t words = std::min(limits_.memory_words, vm::kMaxMemoryWords);
  if (a < 0 || a >= int64_t(words)) return failf(Errc::Usage, "address {} is outside memory (0..{:#x})", a, words - 1);
  return uint32_t(a);
}

Status Session::need_machine(std::string_view what) const {
  if (state_ == State::idle) return failf(Errc::Usage, "{}: the program is not running ('run' or 'step' starts it)", what);
  return {};
}

size_t Session::run(const Reader& next, std::string origin) {
  reader_ = &next;
  origin_ = std::move(origin);
  print(fmt::format("pxos debug: {} ({} bytes of code, {} labels); 'help' lists the commands\n",
                    prog_.module().source.empty() ? "<module>" : prog_.module().source, prog_.module().code.size(),
                    prog_.module().symbols.size()));
  Pending p = command_loop();
  while (!p.quit) p = start(p);
  reader_ = nullptr;
  return errors_;
}

Session::Pending Session::command_loop() {
  for (;;) {
    if (!out_ok_) return Pending{.quit = true};  // nobody can read the answers
    auto line = (*reader_)();
    if (!line) return Pending{.quit = true};  // end of input ends the session
    ++lineno_;
    auto c = parse_command(*line);
    Result<std::optional<Pending>> r = std::optional<Pending>{};
    if (!c) r = std::unexpected(c.error());
    else if (*c) r = execute(**c);
    if (!r) {
      ++errors_;
      print(origin_.empty() ? fmt::format("error: {}\n", r.error().detail)
                            : fmt::format("{}:{}: error: {}\n", origin_, lineno_, r.error().detail));
      continue;
    }
    if (*r) return **r;
  }
}

void Session::arm(const Pending& p, const vm::Machine* m) {
  mode_ = p.mode;
  remaining_ = p.count;
  depth_ = m ? m->call_depth() : 0;
}

Session::Pending Session::start(Pending p) {
  vm::Machine m(prog_, env_);
  machine_ = &m;
  quit_ = restart_ = have_prev_ = false;
  for (auto& pt : points_)
    if (pt.watch) pt.old = 0;  // memory starts zeroed
  arm(p, nullptr);
  if (interrupt_) *interrupt_ = 0;
  state_ = State::stopped;
  vm::RunOptions ro;
  ro.limits = limits_;
  ro.output = [this](std::string_view s) { print(s); };
  ro.on_step = [this](const vm::Machine& mm) { return on_step(mm); };
  vm::RunResult r = m.run(ro);
  if (quit_) return Pending{.quit = true};
  if (restart_) return Pending{.restart = true};
  state_ = State::exited;
  if (r.halted) {
    print(fmt::format("Program halted after {} instructions (stack [{}]).\n", r.steps, fmt::join(m.stack(), " ")));
  } else {
    uint32_t pc = r.trap.pc;
    print(fmt::format("Program trapped: {}\n  at {}: {}\n", r.trap.message, describe(pc), sym_.insn_at(pc)));
    if (auto line = prog_.module().line_at(pc)) print(source_line(*line));
  }
  list_next_ = 0;
  Pending next = command_loop();
  machine_ = nullptr;
  state_ = State::idle;
  return next;
}

void Session::show_stop(const vm::Machine& m, const std::string& why) {
  uint32_t pc = m.pc();
  std::string s = why.empty() ? "" : why + "\n";
  s += fmt::format("=> {}: {}  [{}]\n", describe(pc), sym_.insn_at(pc), fmt::join(m.stack(), " "));
  if (auto line = prog_.module().line_at(pc)) s += source_line(*line);
  print(s);
  list_next_ = 0;
}

vm::StepAction Session::on_step(const vm::Machine& m) {
  if (!out_ok_) return quit_ = true, vm::StepAction::stop;  // the program's output has nowhere to go
  uint32_t pc = m.pc();
  size_t depth = m.call_depth();
  std::string why;
  bool stop = false;
  for (auto& pt : points_) {
    if (pt.watch) {
      int32_t now = m.memory()[pt.at];
      if (now != pt.old) {
        why += fmt::format("{}Watchpoint {}: m[{:#x}] changed: old = {}, new = {}", why.empty() ? "" : "\n", pt.id, pt.at,
                           pt.old, now);
        if (have_prev_) why += fmt::format(" (by {}: {})", describe(prev_pc_), sym_.insn_at(prev_pc_));
        pt.old = now;
        stop = true;
      }
    } else if (pt.at == pc) {
      why += fmt::format("{}Breakpoint {}, {}", why.empty() ? "" : "\n", pt.id, describe(pc));
      stop = true;
    }
  }
  if (interrupt_ && *interrupt_) {
    *interrupt_ = 0;
    why += fmt::format("{}Interrupted", why.empty() ? "" : "\n");
    stop = true;
  }
  switch (mode_) {
    case Mode::run: break;
    case Mode::step:
      if (--remaining_ <= 0) stop = true;
      break;
    case Mode::next:
      if (depth <= depth_ && --remaining_ <= 0) stop = true;
      break;
    case Mode::finish:
      if (depth < depth_) {
        stop = true;
        why += fmt::format("{}Returned to depth {}", why.empty() ? "" : "\n", depth);
      }
      break;
  }
  prev_pc_ = pc;
  have_prev_ = true;
  if (!stop) return vm::StepAction::go;
  show_stop(m, why);
  Pending p = command_loop();
  if (p.quit) return quit_ = true, vm::StepAction::stop;
  if (p.restart) return restart_ = true, vm::StepAction::stop;
  arm(p, &m);
  if (interrupt_) *interrupt_ = 0;  // an interrupt at the prompt is not one for the resumed run
  return vm::StepAction::go;
}

auto Session::execute(const Command& c) -> Result<std::optional<Pending>> {
  using R = std::optional<Pending>;
  const isa::Module& mod = prog_.module();
  auto resume = [&](Mode mode, int64_t count) -> Result<R> {
    if (state_ == State::exited)
      return failf(Errc::Usage, "the program is not running (it ended; 'run' starts it again)");
    return R(Pending{.mode = mode, .count = count});
  };
  switch (c.cmd) {
    case Cmd::break_: {
      auto pc = resolve(c.loc);
      if (!pc) return std::unexpected(pc.error());
      Point p{next_id_++, false, *pc};
      points_.push_back(p);
      print(fmt::format("Breakpoint {} at {}: {}\n", p.id, describe(*pc), sym_.insn_at(*pc)));
      return R{};
    }
    case Cmd::delete_: {
      if (!c.a) {
        print(fmt::format("Deleted {} breakpoints and watchpoints.\n", points_.size()));
        points_.clear();
        return R{};
      }
      auto it = std::find_if(points_.begin(), points_.end(), [&](const Point& p) { return p.id == *c.a; });
      if (it == points_.end()) return failf(Errc::NotFound, "delete: no breakpoint or watchpoint {}", *c.a);
      points_.erase(it);
      print(fmt::format("Deleted {}.\n", *c.a));
      return R{};
    }
    case Cmd::info: {
      if (c.word == "break") {
        if (points_.empty()) print("No breakpoints or watchpoints.\n");
        else print("Num  Type        Where\n");
        for (const auto& p : points_)
          print(p.watch ? fmt::format("{:<4} watchpoint  m[{:#x}] (last seen {})\n", p.id, p.at, p.old)
                        : fmt::format("{:<4} breakpoint  {}: {}\n", p.id, describe(p.at), sym_.insn_at(p.at)));
        return R{};
      }
      if (c.word == "labels") {
        if (mod.symbols.empty()) print("No labels.\n");
        for (const auto& s : mod.symbols) print(fmt::format("{:#06x}  {}\n", s.offset, s.name));
        return R{};
      }
      if (c.word == "program") {
        std::string st = state_ == State::idle ? "not started" : state_ == State::exited ? "ended" : "stopped";
        print(fmt::format("{}: {} bytes of code, {} instructions, {} labels; {}{}\n", mod.source, mod.code.size(),
                          prog_.cells().size(), mod.symbols.size(), st,
                          state_ == State::idle ? "" : " at " + describe(machine_->pc())));
        return R{};
      }
      Command p = c;
      p.cmd = Cmd::print;
      return execute(p);
    }
    case Cmd::print: {
      if (c.word == "stack") {
        if (auto st = need_machine("print stack"); !st) return std::unexpected(st.error());
        auto s = machine_->stack();
        print(fmt::format("stack ({} values, top last): [{}]\n", s.size(), fmt::join(s, " ")));
        return R{};
      }
      if (c.word == "locals") {
        if (auto st = need_machine("print locals"); !st) return std::unexpected(st.error());
        auto l = machine_->locals();
        size_t depth = machine_->call_depth();
        std::string s = fmt::format("locals of frame #0 (depth {}, {}): {} slots", depth,
                                    depth ? sym_.where(machine_->pc()) : "top level", l.size());
        for (size_t i = 0; i < l.size(); ++i) s += fmt::format("{}${} = {}", i ? ", " : ": ", i, l[i]);
        print(s + "\n");
        return R{};
      }
      if (c.a) {
        if (auto st = need_machine("print"); !st) return std::unexpected(st.error());
        auto a = memory_address(*c.a);
        if (!a) return failf(Errc::Usage, "print: {}", a.error().detail);
        print(fmt::format("m[{:#x}] = {}\n", *a, machine_->memory()[*a]));
        return R{};
      }
      auto at = mod.find(c.word);
      if (!at) return failf(Errc::NotFound, "print: no label '{}' ('info labels' lists them)", c.word);
      print(fmt::format("{} = {:#06x} (code offset): {}\n", c.word, *at, sym_.insn_at(*at)));
      return R{};
    }
    case Cmd::x: {
      if (auto st = need_machine("x"); !st) return std::unexpected(st.error());
      auto a = memory_address(*c.a);
      if (!a) return failf(Errc::Usage, "x: {}", a.error().detail);
      auto mem = machine_->memory();
      uint64_t end = std::min<uint64_t>(uint64_t(*a) + uint64_t(*c.b), mem.size());
      std::string s;
      for (uint64_t i = *a; i < end; i += 8) {
        s += fmt::format("{:#06x}:", i);
        for (uint64_t j = i; j < std::min(end, i + 8); ++j) s += fmt::format(" {}", mem[j]);
        s += "\n";
      }
      if (end - *a < uint64_t(*c.b)) s += fmt::format("(memory ends at {:#x})\n", mem.size() - 1);
      print(s);
      return R{};
    }
    case Cmd::backtrace: {
      if (auto st = need_machine("backtrace"); !st) return std::unexpected(st.error());
      size_t depth = machine_->call_depth();
      auto frame = [&](size_t n, uint32_t pc) {
        std::string s = fmt::format("#{:<2} {}: {}\n", n, describe(pc), sym_.insn_at(pc));
        if (auto line = mod.line_at(pc)) s += source_line(*line);
        print(s);
      };
      frame(0, machine_->pc());
      for (size_t i = depth; i-- > 0;) frame(depth - i, machine_->call_site(i));
      return R{};
    }
    case Cmd::watch: {
      auto a = memory_address(*c.a);
      if (!a) return failf(Errc::Usage, "watch: {}", a.error().detail);
      Point p{next_id_++, true, *a, state_ == State::stopped ? machine_->memory()[*a] : 0};
      points_.push_back(p);
      print(fmt::format("Watchpoint {}: m[{:#x}] (now {})\n", p.id, p.at, p.old));
      return R{};
    }
    case Cmd::list: {
      if (lines_.empty()) return failf(Errc::NotFound, "list: no source text for '{}'", mod.source);
      int64_t centre;
      if (c.a) centre = *c.a;
      else if (list_next_) centre = list_next_ + kListContext;
      else if (state_ != State::idle) centre = mod.line_at(machine_->pc()).value_or(1);
      else centre = 1 + kListContext;
      if (centre < 1 || centre > int64_t(lines_.size()))
        return failf(Errc::Usage, "list: line {} is outside {} (1..{})", centre, mod.source, lines_.size());
      int64_t from = std::max<int64_t>(1, centre - kListContext);
      int64_t to = std::min<int64_t>(int64_t(lines_.size()), centre + kListContext);
      for (int64_t l = from; l <= to; ++l) print(source_line(uint32_t(l)));
      list_next_ = uint32_t(to + 1);
      return R{};
    }
    case Cmd::help: {
      std::string s = "Commands (any unique prefix works):\n";
      for (const auto& ci : commands())
        s += fmt::format("  {:<24} {}\n",
                         fmt::format("{}{}{} {}", ci.name, ci.aliases.empty() ? "" : ", ", ci.aliases, ci.args), ci.help);
      print(s);
      return R{};
    }
    case Cmd::quit: return R(Pending{.quit = true});
    case Cmd::run:
      if (state_ == State::stopped) return R(Pending{.restart = true});
      return R(Pending{.mode = Mode::run});
    case Cmd::cont: return resume(Mode::run, 1);
    case Cmd::step:
      if (state_ == State::idle) return R(Pending{.mode = Mode::step, .count = 1});  // stop at the first instruction
      return resume(Mode::step, *c.a);
    case Cmd::next:
      if (state_ == State::idle) return R(Pending{.mode = Mode::step, .count = 1});
      return resume(Mode::next, *c.a);
    case Cmd::finish:
      if (state_ == State::idle) return failf(Errc::Usage, "finish: the program is not running");
      if (state_ == State::stopped && machine_->call_depth() == 0)
        return failf(Errc::Usage, "finish: not in a called frame (depth 0); 'continue' runs to the end");
      return resume(Mode::finish, 1);
  }
  return R{};
}

}  // namespace pxos::debug
