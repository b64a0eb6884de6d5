// debug_test.cpp: the VM's step hook (stop, detach, the state it shows), the symboliser, the
// debugger's command parser (every commands.def row, every bad form) and sessions driven with
// scripted lines, and the REPL's carried state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <fstream>

#include "asm/assembler.hpp"
#include "debug/debugger.hpp"
#include "debug/repl.hpp"
#include "isa/symbols.hpp"
#include "vm/trace.hpp"

using namespace pxos;

namespace {

const char* kProg = R"(main:
    PUSH 3
    CALL square
    PRINT
    PUSH 7
    STORE 2
    HALT
square:
    LOCALS 1
    LTEE 0
    LGET 0
    MUL
    RET
)";

vm::Program load(const std::string& src) {
  auto m = assembler::assemble(src, "t.pxasm");
  EXPECT_TRUE(m) << (m ? "" : m.error().detail);
  auto p = vm::Program::load(std::move(*m));
  EXPECT_TRUE(p) << (p ? "" : p.error().detail);
  return std::move(*p);
}

struct Transcript {
  std::string text;
  size_t failed = 0;
};

Transcript session(const std::string& src, std::deque<std::string> cmds) {
  vm::Program p = load(src);
  vm::HostEnv env;
  env.input = nullptr;
  Transcript t;
  debug::Session s(p, env, {}, [&](std::string_view v) { t.text += v; return true; }, src);
  t.failed = s.run([&]() -> std::optional<std::string> {
    if (cmds.empty()) return std::nullopt;
    std::string c = cmds.front();
    cmds.pop_front();
    t.text += "> " + c + "\n";
    return c;
  }, "t.cmds");
  return t;
}

}  // namespace

TEST(StepHook, SeesEachInstructionWithItsState) {
  vm::Program p = load(kProg);
  vm::HostEnv env;
  vm::Machine m(p, env);
  vm::RunOptions ro;
  std::string out;
  ro.output = [&](std::string_view s) { out += s; };
  std::vector<uint32_t> pcs;
  size_t max_depth = 0;
  bool saw_local = false;
  ro.on_step = [&](const vm::Machine& mm) {
    pcs.push_back(mm.pc());
    max_depth = std::max(max_depth, mm.call_depth());
    if (mm.pc() == *p.module().find("square") + 4) {  // LGET 0, after LTEE 0 stored 3
      saw_local = mm.locals().size() == 1 && mm.locals()[0] == 3;
      EXPECT_EQ(mm.call_site(0), 5u);  // the CALL
    }
    if (mm.pc() == 0x0a) EXPECT_EQ(out, "");     // PRINT has not run yet
    if (mm.pc() == 0x0b) EXPECT_EQ(out, "9\n");  // its output is flushed before the next step
    return vm::StepAction::go;
  };
  vm::RunResult r = m.run(ro);
  EXPECT_TRUE(r.halted);
  EXPECT_EQ(pcs.size(), r.steps);
  EXPECT_EQ(pcs.front(), 0u);
  EXPECT_EQ(max_depth, 1u);
  EXPECT_TRUE(saw_local);
  EXPECT_EQ(m.memory()[2], 7);
}

TEST(StepHook, StopEndsTheRunWithTrapStopped) {
  vm::Program p = load(kProg);
  vm::HostEnv env;
  vm::Machine m(p, env);
  vm::RunOptions ro;
  int n = 0;
  ro.on_step = [&](const vm::Machine&) { return ++n == 3 ? vm::StepAction::stop : vm::StepAction::go; };
  vm::RunResult r = m.run(ro);
  EXPECT_FALSE(r.halted);
  EXPECT_EQ(r.trap.kind, vm::TrapKind::stopped);
  EXPECT_EQ(r.steps, 2u);  // the stopped instruction did not run
  EXPECT_EQ(r.trap.pc, *p.module().find("square"));
}

TEST(StepHook, DetachRunsOnToTheEnd) {
  vm::Program p = load("PUSH 100000\nloop: DEC\nDUP\nJNZ loop\nHALT\n");
  vm::HostEnv env;
  vm::Machine m(p, env);
  vm::RunOptions ro;
  int calls = 0;
  ro.on_step = [&](const vm::Machine&) { return ++calls == 10 ? vm::StepAction::detach : vm::StepAction::go; };
  vm::RunResult r = m.run(ro);
  EXPECT_TRUE(r.halted);
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(r.steps, 1u + 3u * 100000u + 1u);
}

TEST(StepHook, StartStateIsCarried) {
  vm::Program p = load("ADD\nLOAD 1\nADD\nHALT\n");
  vm::HostEnv env;
  vm::Machine m(p, env);
  vm::RunOptions ro;
  std::vector<int32_t> st = {2, 3}, mem = {0, 10};
  ro.start_stack = st;
  ro.start_memory = mem;
  vm::RunResult r = m.run(ro);
  ASSERT_TRUE(r.halted) << r.trap.detail;
  ASSERT_EQ(m.stack().size(), 1u);
  EXPECT_EQ(m.stack()[0], 15);
}

TEST(Symbolizer, NamesOffsetsAndOperands) {
  vm::Program p = load("PUSH 1\nfizz:\nJZ fizz\nbuzz: JMP 5\nHALT\n");
  isa::Symbolizer s(p.module());
  EXPECT_EQ(s.where(0), "0x0");
  EXPECT_EQ(s.where(5), "fizz");
  EXPECT_EQ(s.where(10), "buzz");
  EXPECT_EQ(s.where(15), "buzz+0x5");
  EXPECT_EQ(s.insn_at(5), "JZ fizz");
  EXPECT_EQ(s.insn_at(10), "JMP fizz");  // a target with a label is named
  EXPECT_EQ(s.insn_at(100), "?");        // past the code
}

TEST(Tracer, TextAndJsonLines) {
  vm::Program p = load(kProg);
  vm::HostEnv env;
  vm::Machine m(p, env);
  vm::Tracer t(p, stderr);
  std::vector<std::string> text, json;
  vm::RunOptions ro;
  ro.output = [](std::string_view) {};
  ro.on_step = [&](const vm::Machine& mm) {
    text.push_back(t.text_line(mm));
    json.push_back(t.json_line(mm));
    return vm::StepAction::go;
  };
  ASSERT_TRUE(m.run(ro).halted);
  EXPECT_EQ(text[1], "0x0005  main+0x5               3  d0  CALL square                [3]");
  EXPECT_EQ(json[1],
            R"({"pc":5,"at":"main+0x5","line":3,"depth":0,"op":"CALL","insn":"CALL square","target":20,"stack":[3]})");
  EXPECT_TRUE(text[2].starts_with("0x0014  square ")) << text[2];
  EXPECT_NE(text[2].find("  d1  LOCALS 1 "), std::string::npos) << text[2];
}

TEST(DebugParser, EveryRowParsesByNameAliasAndPrefix) {
  for (const auto& c : debug::commands()) {
    std::string args = c.id == debug::Cmd::break_ ? " main"
                       : c.id == debug::Cmd::x || c.id == debug::Cmd::watch ? " 4"
                       : c.id == debug::Cmd::info ? " break"
                       : c.id == debug::Cmd::print ? " stack" : "";
    auto r = debug::parse_command(std::string(c.name) + args);
    ASSERT_TRUE(r && *r) << c.name << ": " << (r ? "empty" : r.error().detail);
    EXPECT_EQ((*r)->cmd, c.id) << c.name;
    std::string_view al = c.aliases;
    while (!al.empty()) {
      size_t sp = al.find(' ');
      std::string a(al.substr(0, sp));
      al = sp == std::string_view::npos ? "" : al.substr(sp + 1);
      auto ra = debug::parse_command(a + args);
      ASSERT_TRUE(ra && *ra) << a;
      EXPECT_EQ((*ra)->cmd, c.id) << a;
    }
  }
  EXPECT_EQ((*debug::parse_command("cont"))->cmd, debug::Cmd::cont);
  EXPECT_EQ((*debug::parse_command("back"))->cmd, debug::Cmd::backtrace);  // a unique prefix
  EXPECT_FALSE(*debug::parse_command("   "));
  EXPECT_FALSE(*debug::parse_command("# a comment"));
}

TEST(DebugParser, Locations) {
  auto loc = [](const char* s) { return (*debug::parse_command(std::string("b ") + s))->loc; };
  EXPECT_EQ(loc("12").kind, debug::Location::at_line);
  EXPECT_EQ(loc("12").value, 12);
  EXPECT_EQ(loc("*0x1c").kind, debug::Location::at_offset);
  EXPECT_EQ(loc("*0x1c").value, 0x1c);
  EXPECT_EQ(loc("0x1c").kind, debug::Location::at_offset);
  EXPECT_EQ(loc("f.pxasm:7").kind, debug::Location::at_line);
  EXPECT_EQ(loc("f.pxasm:7").name, "f.pxasm");
  EXPECT_EQ(loc("fizz+4").name, "fizz");
  EXPECT_EQ(loc("fizz+4").value, 4);
  auto x = *debug::parse_command("x/3 0x10");
  EXPECT_EQ(*x->a, 16);
  EXPECT_EQ(*x->b, 3);
}

TEST(DebugParser, BadFormsAreOneLineUsageErrors) {
  for (const char* bad : {"frob", "s", "b", "b a b", "b *", "b *-1", "b 1+", "b x:y", "b fizz+q", "b 9bad", "x", "x q",
                          "x 1 0", "x 1 99999", "x/0 1", "watch", "watch q", "step 0", "next -2", "step 1 2", "delete q",
                          "info", "info q", "print", "print a!", "quit now", "s/3", "run x"}) {
    if (std::string_view(bad) == "s") continue;  // a bare `s` is step
    auto r = debug::parse_command(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::Usage) << bad;
    EXPECT_EQ(r.error().detail.find('\n'), std::string::npos) << bad;
  }
}

TEST(DebugSession, BreakStepFinishAndInspect) {
  auto t = session(kProg, {"break square", "run", "bt", "step 2", "info locals", "finish", "next", "p 2", "c", "x 0 4",
                           "p stack", "quit"});
  EXPECT_EQ(t.failed, 0u) << t.text;
  EXPECT_NE(t.text.find("Breakpoint 1 at 0x0014 square (t.pxasm:9): LOCALS 1"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("#1  0x0005 main+0x5 (t.pxasm:3): CALL square\n     3 |     CALL square"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("$0 = 3"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("Returned to depth 0\n=> 0x000a main+0xa (t.pxasm:4): PRINT  [9]"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("> next\n9\n=> 0x000b"), std::string::npos) << t.text;  // output before the stop, in order
  EXPECT_NE(t.text.find("m[0x2] = 0"), std::string::npos) << t.text;          // STORE 2 not yet run
  EXPECT_NE(t.text.find("Program halted after 11 instructions (stack [])."), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("0x0000: 0 0 7 0"), std::string::npos) << t.text;  // post-mortem memory
}

TEST(DebugSession, QuitAndRestartInsideARun) {
  auto t = session(kProg, {"b *0x0", "run", "run", "quit"});
  EXPECT_EQ(t.failed, 0u);
  size_t first = t.text.find("Breakpoint 1, 0x0000 main");
  ASSERT_NE(first, std::string::npos) << t.text;
  EXPECT_NE(t.text.find("Breakpoint 1, 0x0000 main", first + 1), std::string::npos) << t.text;  // restarted
  EXPECT_EQ(t.text.find("Program halted"), std::string::npos) << t.text;                       // quit mid-run
}

TEST(DebugSession, WatchShowsOldNewAndTheWriter) {
  auto t = session(kProg, {"watch 2", "c", "c"});
  EXPECT_NE(t.text.find("Watchpoint 1: m[0x2] changed: old = 0, new = 7 (by 0x0010 main+0x10 (t.pxasm:6): STORE 2)"),
            std::string::npos) << t.text;
  EXPECT_NE(t.text.find("Program halted"), std::string::npos) << t.text;
}

TEST(DebugSession, TrapIsLocated) {
  auto t = session("PUSH 1\nPUSH 0\nf: DIV\nHALT\n", {"run", "bt", "c"});
  EXPECT_NE(t.text.find("Program trapped: division by zero\n  at 0x000a f (t.pxasm:3): DIV\n     3 | f: DIV"),
            std::string::npos) << t.text;
  EXPECT_EQ(t.failed, 1u);  // `c` after the end
  EXPECT_NE(t.text.find("t.cmds:3: error: the program is not running"), std::string::npos) << t.text;
}

TEST(DebugSession, BadCommandsCountAndTheSessionGoesOn) {
  auto t = session(kProg, {"bogus", "b nowhere", "b *0x1", "b 99", "x 5", "watch 5000", "finish", "run", "quit"});
  EXPECT_EQ(t.failed, 7u) << t.text;
  EXPECT_NE(t.text.find("t.cmds:1: error: unknown command 'bogus'"), std::string::npos);
  EXPECT_NE(t.text.find("t.cmds:4: error: break 99: no code at or after line 99"), std::string::npos) << t.text;
  EXPECT_NE(t.text.find("Program halted"), std::string::npos);  // `run` still ran
}

TEST(Repl, StackMemoryAndLabelsPersist) {
  vm::HostEnv env;
  debug::Repl r(env, {});
  for (const char* l : {"PUSH 5", "twice: DUP", "ADD", "STORE 3", "LOAD 3", "PUSH 2"}) {
    auto rep = r.feed(l);
    ASSERT_TRUE(rep.ok) << l << ": " << rep.error;
  }
  EXPECT_EQ(r.stack_text(), "[10 2]");
  EXPECT_EQ(r.memory()[3], 10);
  ASSERT_TRUE(r.feed("PRINT").ok);
  EXPECT_EQ(r.stack_text(), "[10]");
  auto out = r.feed("PRINT");
  EXPECT_EQ(out.output, "10\n");
  EXPECT_EQ(r.stack_text(), "[]");
  // a jump back to a kept label runs the kept lines from there again, then this one
  debug::Repl c(env, {});
  for (const char* l : {"PUSH 3", "top: DEC", "DUP", "DUP", "PRINTN"}) ASSERT_TRUE(c.feed(l).ok) << l;
  EXPECT_EQ(c.stack_text(), "[2 2]");
  auto loop = c.feed("JNZ top");  // DEC DUP DUP PRINTN again, down to 0
  ASSERT_TRUE(loop.ok) << loop.error;
  EXPECT_EQ(loop.output, "10");
  EXPECT_EQ(c.stack_text(), "[0]");
}

TEST(Repl, FailuresLeaveTheStateAlone) {
  vm::HostEnv env;
  debug::Repl r(env, {});
  ASSERT_TRUE(r.feed("PUSH 1").ok);
  ASSERT_TRUE(r.feed("PUSH 0").ok);
  auto d = r.feed("DIV");
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.code, Errc::Trap);
  EXPECT_EQ(d.error, "DIV: division by zero (at 0xa)");
  EXPECT_EQ(r.stack_text(), "[1 0]");
  auto a = r.feed("NOSUCH");
  EXPECT_EQ(a.error, "col 1: unknown mnemonic 'NOSUCH'");
  EXPECT_EQ(r.feed("loop: JMP loop").code, Errc::StepLimit);  // an endless line stops at the step limit
  EXPECT_EQ(r.stack_text(), "[1 0]");
  EXPECT_TRUE(r.feed("ADD").ok);
  EXPECT_EQ(r.stack_text(), "[1]");
  EXPECT_FALSE(r.command(":mem 1 0").ok);
  EXPECT_EQ(r.command(":mem 0 2").output, "0x0000: 0 0\n");
  EXPECT_TRUE(r.command(":reset").ok);
  EXPECT_EQ(r.stack_text(), "[]");
  r.command(":q");
  EXPECT_TRUE(r.quit());
}

// docs/debugging.md's command table is commands.def's: every row's name, aliases, arguments and
// help appear on one table line.
TEST(DebugDocs, CommandTableMatchesTheRows) {
  const char* src = std::getenv("PXOS_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "PXOS_SOURCE_DIR is not set";
  std::ifstream f(std::string(src) + "/docs/debugging.md");
  ASSERT_TRUE(f) << "docs/debugging.md";
  std::vector<std::string> rows;
  for (std::string l; std::getline(f, l);)
    if (l.starts_with("| `")) rows.push_back(l);
  EXPECT_EQ(rows.size(), debug::commands().size());
  for (const auto& c : debug::commands()) {
    std::string want = "| `" + std::string(c.name) + "` |";
    auto it = std::find_if(rows.begin(), rows.end(), [&](const std::string& r) { return r.starts_with(want); });
    ASSERT_NE(it, rows.end()) << c.name;
    EXPECT_NE(it->find(std::string(c.help)), std::string::npos) << c.name;
    if (!c.args.empty()) EXPECT_NE(it->find("`" + std::string(c.args) + "`"), std::string::npos) << c.name;
    std::string_view al = c.aliases;
    while (!al.empty()) {
      size_t sp = al.find(' ');
      EXPECT_NE(it->find("`" + std::string(al.substr(0, sp)) + "`"), std::string::npos) << c.name;
      al = sp == std::string_view::npos ? "" : al.substr(sp + 1);
    }
  }
}

// A transcript nobody can read ends the session, and an endless program with it.
TEST(DebugSession, RefusedOutputEndsTheSession) {
  vm::Program p = load("top: PUSH 1\nPRINT\nJMP top\n");
  vm::HostEnv env;
  size_t writes = 0, reads = 0;
  debug::Session s(p, env, {}, [&](std::string_view) { return ++writes < 5; });
  s.run([&]() -> std::optional<std::string> { return ++reads == 1 ? std::optional<std::string>("run") : std::nullopt; });
  EXPECT_EQ(reads, 1u);
  EXPECT_LT(writes, 20u);
}
