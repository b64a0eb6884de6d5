// vm_test.cpp: PixelVM semantics, every trap, exact fuel accounting and the verifier.
#include <gtest/gtest.h>

#include <unistd.h>

#include <climits>
#include <set>
#include <cstdio>

#include "asm/assembler.hpp"
#include "isa/isa.hpp"
#include "vm/machine.hpp"

using namespace pxos;

namespace {

struct Outcome {
  vm::RunResult r;
  std::string out;
  std::vector<int32_t> stack;
};

isa::Module asm_ok(const std::string& src) {
  auto m = assembler::assemble(src, "t.pxasm");
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().detail);
  return m ? *m : isa::Module{};
}

Outcome run(const std::string& src, vm::Limits lim = {}, vm::CapSet caps = ~0u, uint64_t seed = 1) {
  auto prog = vm::Program::load(asm_ok(src), {lim.memory_words, true});
  EXPECT_TRUE(prog.has_value()) << (prog ? "" : prog.error().detail);
  Outcome o;
  if (!prog) return o;
  vm::HostEnv env;
  env.granted = caps;
  env.seed = seed;
  env.input = nullptr;
  vm::Machine m(*prog, env);
  vm::RunOptions ro;
  ro.limits = lim;
  ro.output = [&](std::string_view s) { o.out += s; };
  o.r = m.run(ro);
  o.stack.assign(m.stack().begin(), m.stack().end());
  return o;
}

int32_t eval(const std::string& body) {  // leaves one value; returns it
  auto o = run(body + "\nHALT\n");
  EXPECT_TRUE(o.r.halted) << o.r.trap.detail;
  EXPECT_EQ(o.stack.size(), 1u);
  return o.stack.empty() ? 0 : o.stack.back();
}

}  // namespace

TEST(VmArith, WrapsAndDefinesEdgeCases) {
  EXPECT_EQ(eval("PUSH 2147483647\nPUSH 1\nADD"), INT32_MIN);
  EXPECT_EQ(eval("PUSH -2147483648\nPUSH 1\nSUB"), INT32_MAX);
  EXPECT_EQ(eval("PUSH 65536\nPUSH 65536\nMUL"), 0);
  EXPECT_EQ(eval("PUSH -2147483648\nPUSH -1\nDIV"), INT32_MIN);
  EXPECT_EQ(eval("PUSH -2147483648\nPUSH -1\nMOD"), 0);
  EXPECT_EQ(eval("PUSH -2147483648\nNEG"), INT32_MIN);
  EXPECT_EQ(eval("PUSH -7\nPUSH 2\nDIV"), -3);
  EXPECT_EQ(eval("PUSH -7\nPUSH 2\nMOD"), -1);
  EXPECT_EQ(eval("PUSH 7\nPUSH -2\nMOD"), 1);
  EXPECT_EQ(eval("PUSH 0xFFFFFFFF"), -1);
  EXPECT_EQ(eval("PUSH 1\nPUSH 33\nSHL"), 2);  // shift count mod 32
  EXPECT_EQ(eval("PUSH -16\nPUSH 2\nSAR"), -4);
  EXPECT_EQ(eval("PUSH -16\nPUSH 28\nSHR"), 15);
  EXPECT_EQ(eval("PUSH 6\nPUSH 3\nXOR\nNOT"), ~5);
  EXPECT_EQ(eval("PUSH 1\nPUSH 2\nPUSH 3\nROT\nPOP\nPOP"), 2);
  EXPECT_EQ(eval("PUSH 3\nPUSH 4\nOVER\nSUB\nSWAP\nPOP"), 1);
  EXPECT_EQ(eval("PUSH 3\nPUSH 3\nLE\nPUSH 3\nPUSH 4\nGE\nADD\nPUSH 1\nPUSH 2\nNE\nADD"), 2);
}

TEST(VmControl, RecursionWithLocals) {
  auto o = run(R"(
    PUSH 10
    CALL fact
    PRINT
    HALT
fact:
    LOCALS 1
    LTEE 0
    JZ base
    LGET 0
    LGET 0
    DEC
    CALL fact
    MUL
    RET
base:
    PUSH 1
    RET
)");
  ASSERT_TRUE(o.r.halted) << o.r.trap.detail;
  EXPECT_EQ(o.out, "3628800\n");
}

TEST(VmControl, TopLevelRetHalts) {
  auto o = run("PUSH 5\nPRINT\nRET\n");
  EXPECT_TRUE(o.r.halted);
  EXPECT_EQ(o.out, "5\n");
}

struct TrapCase { const char* src; const char* needle; pxos::Errc code; vm::TrapKind kind; };

class VmTraps : public ::testing::TestWithParam<TrapCase> {};

TEST_P(VmTraps, TrapsWithLocationAndReason) {
  const auto& c = GetParam();
  vm::Limits lim;
  lim.stack_words = 64;
  lim.max_frames = 32;
  auto o = run(c.src, lim, vm::cap_bit(vm::Cap::clock));
  ASSERT_FALSE(o.r.halted);
  EXPECT_EQ(o.r.trap.code, c.code);
  EXPECT_EQ(o.r.trap.kind, c.kind) << vm::trap_name(o.r.trap.kind);
  EXPECT_NE(o.r.trap.detail.find(c.needle), std::string::npos) << o.r.trap.detail;
  EXPECT_TRUE(o.r.trap.at_instruction);
  EXPECT_EQ(o.r.trap.pc, o.r.trap_pc);
  EXPECT_TRUE(o.r.trap.line.has_value());
  EXPECT_TRUE(o.r.trap.detail.ends_with(": " + o.r.trap.message)) << o.r.trap.detail;
  EXPECT_NE(o.r.trap.detail.find("t.pxasm:"), std::string::npos) << "no source line: " << o.r.trap.detail;
  EXPECT_NE(o.r.trap.detail.find("offset 0x"), std::string::npos) << o.r.trap.detail;
}

INSTANTIATE_TEST_SUITE_P(
    All, VmTraps,
    ::testing::Values(TrapCase{"PUSH 1\nPUSH 0\nDIV\nHALT", "DIV: division by zero", Errc::Trap, vm::TrapKind::div_zero},
                      TrapCase{"PUSH 1\nPUSH 0\nMOD\nHALT", "division by zero", Errc::Trap, vm::TrapKind::mod_zero},
                      TrapCase{"ADD\nHALT", "stack underflow", Errc::Trap, vm::TrapKind::stack_underflow},
                      TrapCase{"loop:\nPUSH 1\nJMP loop", "stack overflow", Errc::Trap, vm::TrapKind::stack_overflow},
                      TrapCase{"PUSH 1024\nLOADI\nHALT", "memory address out of range", Errc::Trap, vm::TrapKind::memory_range},
                      TrapCase{"PUSH -1\nPUSH 0\nSWAP\nSTOREI\nHALT", "memory address out of range", Errc::Trap,
                               vm::TrapKind::memory_range},
                      TrapCase{"f:\nCALL f\nHALT", "call depth", Errc::Trap, vm::TrapKind::call_depth},
                      TrapCase{"LGET 0\nHALT", "local slot not allocated", Errc::Trap, vm::TrapKind::local_unallocated},
                      TrapCase{"HOST_CALL 2\nHALT", "capability 'random'", Errc::CapabilityDenied, vm::TrapKind::host_denied},
                      TrapCase{"HOST_CALL 6\nHALT", "capability 'mailbox'", Errc::CapabilityDenied, vm::TrapKind::host_denied},
                      TrapCase{"l:\nLOCALS 255\nJMP l", "local slots exhausted", Errc::Trap,
                               vm::TrapKind::locals_exhausted}));

// HOST_CALL checks its per-call stack effect by hand; a host call's own error kind wins.
TEST(VmTraps, HostCallKinds) {
  auto o = run("HOST_CALL 3\nHALT");
  EXPECT_EQ(o.r.trap.kind, vm::TrapKind::host_underflow);
  EXPECT_EQ(o.r.trap.message, "stack underflow: host call 'random_below' needs 1 values");
  o = run("PUSH 0\nHOST_CALL 3\nHALT");
  EXPECT_EQ(o.r.trap.kind, vm::TrapKind::host_failed);
  EXPECT_EQ(o.r.trap.code, Errc::Trap);
  EXPECT_EQ(o.r.trap.message, "host call 'random_below': bound 0 must be positive");
  o = run("PUSH 1\nHOST_CALL 6\nHALT");  // the mailbox is not connected
  EXPECT_EQ(o.r.trap.kind, vm::TrapKind::host_failed);
  EXPECT_EQ(o.r.trap.code, Errc::MailboxError);
}

// The run limits and the entry offset stop a run with their own kinds too.
TEST(VmTraps, LimitsAndEntryHaveKinds) {
  vm::Limits lim;
  lim.max_steps = 3;
  auto o = run("l:\nJMP l", lim);
  EXPECT_EQ(o.r.trap.kind, vm::TrapKind::step_limit);
  EXPECT_EQ(o.r.trap.message, "step limit of 3 instructions reached");
  lim = {};
  lim.max_output_bytes = 1;
  o = run("PUSH 10\nPRINT\nHALT", lim);
  EXPECT_EQ(o.r.trap.kind, vm::TrapKind::output_limit);
  EXPECT_EQ(o.r.trap.code, Errc::OutputLimit);

  auto prog = vm::Program::load(asm_ok("PUSH 1\nHALT"));
  ASSERT_TRUE(prog);
  vm::HostEnv env;
  vm::Machine m(*prog, env);
  vm::RunOptions ro;
  ro.entry = 2;  // inside PUSH
  auto r = m.run(ro);
  EXPECT_EQ(r.trap.kind, vm::TrapKind::bad_entry);
  EXPECT_FALSE(r.trap.at_instruction);
  EXPECT_EQ(r.trap.detail, "t.pxasm: entry offset 0x0002 is not an instruction");
}

// traps.def is the one table: every row has a name, an error kind with an exit status, and a
// message that formats with any context (its field names are checked when traps.cpp compiles).
TEST(VmTraps, EveryKindFormats) {
  for (int k = 1; vm::trap_name(vm::TrapKind(k)) != "none"; ++k) {  // past the last row: "none"
    auto kind = vm::TrapKind(k);
    EXPECT_FALSE(vm::trap_format(kind).empty()) << vm::trap_name(kind);
    EXPECT_NE(errc_exit_status(vm::trap_errc(kind)), 0) << vm::trap_name(kind);
    EXPECT_NO_THROW((void)vm::trap_message(kind, {})) << vm::trap_name(kind);
  }
  EXPECT_EQ(vm::trap_message(vm::TrapKind::stack_overflow, {.depth = 3, .stack = 4}),
            "stack overflow (3 values on a 4-word stack)");
}

TEST(VmTraps, TrapNamesSourceLine) {
  auto o = run("PUSH 1\nPUSH 2\n\nPUSH 0\nDIV\nHALT\n");
  ASSERT_FALSE(o.r.halted);
  EXPECT_NE(o.r.trap.detail.find("t.pxasm:5: offset 0x000f: DIV"), std::string::npos) << o.r.trap.detail;
  EXPECT_EQ(o.r.trap_pc, 15u);
}

TEST(VmFuel, StepLimitIsExactAndDeterministic) {
  const char* loop = "PUSH 0\nl:\nINC\nDUP\nPUSH 1000000\nLT\nJNZ l\nHALT\n";
  auto full = run(loop);
  ASSERT_TRUE(full.r.halted);
  EXPECT_EQ(full.r.steps, 1u + 5u * 1000000u + 1u);
  for (uint64_t limit : {1ull, 2ull, 7ull, 12345ull, 4999999ull}) {
    vm::Limits lim;
    lim.max_steps = limit;
    auto a = run(loop, lim), b = run(loop, lim);
    ASSERT_FALSE(a.r.halted);
    EXPECT_EQ(a.r.trap.code, Errc::StepLimit);
    EXPECT_EQ(a.r.steps, limit);
    EXPECT_EQ(a.r.trap_pc, b.r.trap_pc);
    EXPECT_EQ(a.stack, b.stack);
  }
  vm::Limits exact;
  exact.max_steps = full.r.steps;  // exactly enough
  EXPECT_TRUE(run(loop, exact).r.halted);
}

TEST(VmFuel, StepsCountedExactlyOnTrap) {
  auto o = run("PUSH 1\nPUSH 0\nDIV\nPUSH 5\nPUSH 6\nHALT");
  ASSERT_FALSE(o.r.halted);
  EXPECT_EQ(o.r.steps, 3u);
}

TEST(VmLimits, OutputLimitDeliversPrefixThenTraps) {
  vm::Limits lim;
  lim.max_output_bytes = 10;
  auto o = run("l:\nPUSH 12345\nPRINT\nJMP l", lim);
  ASSERT_FALSE(o.r.halted);
  EXPECT_EQ(o.r.trap.code, Errc::OutputLimit);
  EXPECT_EQ(o.out, "12345\n1234");
}

TEST(VmLimits, WallClockTimeout) {
  vm::Limits lim;
  lim.timeout_ms = 50;
  auto o = run("l:\nJMP l", lim);
  ASSERT_FALSE(o.r.halted);
  EXPECT_EQ(o.r.trap.code, Errc::TimeLimit);
}

TEST(VmHost, RandomIsSeeded) {
  const char* p = "HOST_CALL 2\nHOST_CALL 2\nPUSH 10\nHOST_CALL 3\nHALT";
  auto a = run(p, {}, ~0u, 42), b = run(p, {}, ~0u, 42), c = run(p, {}, ~0u, 43);
  EXPECT_EQ(a.stack, b.stack);
  EXPECT_NE(a.stack, c.stack);
  ASSERT_EQ(a.stack.size(), 3u);
  EXPECT_GE(a.stack[2], 0);
  EXPECT_LT(a.stack[2], 10);
  auto bad = run("PUSH 0\nHOST_CALL 3\nHALT");
  EXPECT_FALSE(bad.r.halted);
}

TEST(VmHost, MailboxUnconnectedTraps) {
  auto o = run("PUSH 1\nHOST_CALL 6\nHALT");
  ASSERT_FALSE(o.r.halted);
  EXPECT_NE(o.r.trap.detail.find("mailbox not connected"), std::string::npos);
}

TEST(VmIsolation, MachinesShareNothing) {
  auto prog = vm::Program::load(asm_ok("LOAD 0\nINC\nDUP\nSTORE 0\nPRINT\nHALT"));
  ASSERT_TRUE(prog);
  vm::HostEnv e1, e2;
  vm::Machine a(*prog, e1), b(*prog, e2);
  std::string oa, ob;
  vm::RunOptions ra, rb;
  ra.output = [&](std::string_view s) { oa += s; };
  rb.output = [&](std::string_view s) { ob += s; };
  a.run(ra);
  b.run(rb);
  a.run(ra);  // a fresh run starts from zeroed memory
  EXPECT_EQ(oa, "1\n1\n");
  EXPECT_EQ(ob, "1\n");
}

static isa::Module raw(std::initializer_list<uint8_t> code) {
  isa::Module m;
  m.source = "raw";
  m.code.assign(code);
  return m;
}

TEST(Verifier, RejectsMalformedBytecodeWithOffset) {
  struct C { isa::Module m; const char* needle; };
  std::vector<C> cases = {
      {raw({}), "empty program"},
      {raw({0x01, 0x01, 0x02}), "offset 0x0000: PUSH operand truncated"},
      {raw({0x01, 0, 0, 0, 0, 0x99, 0xFF}), "offset 0x0005: unknown opcode 0x99"},
      {raw({0x30, 2, 0, 0, 0, 0xFF}), "inside an instruction"},
      {raw({0x30, 100, 0, 0, 0}), "outside the code"},
      {raw({0x01, 1, 0, 0, 0, 0x10}), "fall off the end"},
      {raw({0x40, 0x00, 0x04, 0xFF}), "outside memory"},
      {raw({0x50, 200, 0xFF}), "unknown host call id 200"},
      {raw({0x13, 0xff, 0xff, 0xff, 0x7f, 'a', 0xFF}), "operand truncated"},
  };
  for (auto& c : cases) {
    auto st = vm::verify(c.m);
    ASSERT_FALSE(st.has_value()) << c.needle;
    EXPECT_NE(st.error().detail.find(c.needle), std::string::npos) << st.error().detail;
  }
  auto m = asm_ok("CALL util:f\nHALT");
  auto st = vm::verify(m);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::LinkError);
}

// ---- issue 19: the timeout holds in every mode ----
// Each run below would go on for hours if the deadline were missed; the generous ctest timeout
// is the hang guard, the assertions check only the kind of stop, never a duration.
namespace {
vm::RunResult run_for(const isa::Module& mod, vm::RunOptions ro, vm::HostEnv& env) {
  auto prog = vm::Program::load(mod);
  EXPECT_TRUE(prog.has_value()) << (prog ? "" : prog.error().detail);
  if (!prog) return {};
  vm::Machine m(*prog, env);
  if (!ro.output) ro.output = [](std::string_view) {};
  return m.run(ro);
}
}  // namespace

// The dispatch checks each row's pops/pushes before the handler runs, so a handler must move the
// stack by exactly pushes - pops: run every fixed-effect instruction on `pops` values and count
// what is left, in the fast interpreter (with superinstructions) and the exact one (plain handlers).
TEST(VmIsa, EveryHandlerMovesTheStackAsItsRowSays) {
  int tested = 0;
  for (const auto& oi : isa::table()) {
    if (!oi.valid()) continue;
    auto op = isa::Op(oi.byte);
    if (!isa::fixed_effect(op)) continue;  // HOST_CALL: per call, checked by hand
    isa::Flow f = isa::flow_of(op);
    if (f != isa::Flow::NEXT && f != isa::Flow::BRANCH) {  // they leave the stack alone
      EXPECT_EQ(oi.pops, 0) << oi.name;
      EXPECT_EQ(oi.pushes, 0) << oi.name;
      continue;
    }
    std::string src = "LOCALS 1\n";
    for (int i = 0; i < oi.pops; ++i) src += "PUSH 1\n";  // 1: a divisor, an address, a shift
    src += std::string(oi.name);
    switch (oi.fmt) {
      case isa::Fmt::NONE: break;
      case isa::Fmt::I32: src += " 7"; break;
      case isa::Fmt::U8:
      case isa::Fmt::U16: src += " 0"; break;
      case isa::Fmt::ADDR: src += " next"; break;  // taken or not, the same place
      case isa::Fmt::STR: src += " \"s\""; break;
    }
    src += "\nnext:\nHALT\n";
    for (bool exact : {false, true}) {
      vm::HostEnv env;
      vm::RunOptions ro;
      ro.trace = exact;
      ro.trace_out = std::fopen("/dev/null", "w");
      auto prog = vm::Program::load(asm_ok(src));
      ASSERT_TRUE(prog) << src;
      vm::Machine m(*prog, env);
      ro.output = [](std::string_view) {};
      auto r = m.run(ro);
      std::fclose(ro.trace_out);
      EXPECT_TRUE(r.halted) << oi.name << ": " << r.trap.detail;
      EXPECT_EQ(m.stack().size(), size_t(oi.pushes)) << oi.name << (exact ? " (exact)" : " (fast)");
    }
    ++tested;
  }
  EXPECT_GT(tested, 40);
}

TEST(Timeout, HoldsUnderTrace) {
  vm::HostEnv env;
  vm::RunOptions ro;
  ro.limits.timeout_ms = 200;
  ro.trace = true;
  ro.trace_out = std::fopen("/dev/null", "w");
  ASSERT_NE(ro.trace_out, nullptr);
  auto r = run_for(asm_ok("L:\n  JMP L\n"), ro, env);
  std::fclose(ro.trace_out);
  EXPECT_EQ(r.trap.code, Errc::TimeLimit) << r.trap.detail;
  EXPECT_NE(r.trap.detail.find("time limit of 200 ms"), std::string::npos) << r.trap.detail;
}

TEST(Timeout, HoldsWhenEachInstructionIsExpensive) {
  // PRINT_STR of 8 MiB, then JMP back: a few hundred steps take seconds, far below a fuel slice.
  isa::Module m;
  m.source = "big.pxasm";
  uint32_t n = 8u << 20;
  m.code = {uint8_t(isa::Op::PRINT_STR), uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16), uint8_t(n >> 24)};
  m.code.resize(5 + n, 'x');
  for (uint8_t b : {uint8_t(isa::Op::JMP), uint8_t(0), uint8_t(0), uint8_t(0), uint8_t(0)}) m.code.push_back(b);
  vm::HostEnv env;
  vm::RunOptions ro;
  ro.limits.timeout_ms = 200;
  uint64_t seen = 0;
  ro.output = [&](std::string_view s) { seen += s.size(); };
  auto r = run_for(m, ro, env);
  EXPECT_EQ(r.trap.code, Errc::TimeLimit) << r.trap.detail;
  EXPECT_GT(seen, 0u);
}

TEST(Timeout, HoldsWhileAHostCallWaitsForInput) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // the write end stays open and silent: a read would block forever
  std::FILE* in = ::fdopen(fds[0], "r");
  ASSERT_NE(in, nullptr);
  vm::HostEnv env;
  env.granted = vm::cap_bit(vm::Cap::input);
  env.input = in;
  vm::RunOptions ro;
  ro.limits.timeout_ms = 200;
  auto r = run_for(asm_ok("HOST_CALL 4\nHALT\n"), ro, env);
  std::fclose(in);
  ::close(fds[1]);
  EXPECT_EQ(r.trap.code, Errc::TimeLimit) << r.trap.detail;
  EXPECT_NE(r.trap.detail.find("waiting for input"), std::string::npos) << r.trap.detail;
}

TEST(Module, SourceNameControlBytesAreEscapedInTraps) {
  isa::Module m = asm_ok("POP\nHALT\n");
  m.source = "evil\x1b[2J\r\nok: all passed\x07";
  auto back = isa::parse_module(isa::serialize(m).value(), "evil.pxi");
  ASSERT_TRUE(back) << back.error().detail;
  vm::HostEnv env;
  auto r = run_for(*back, {}, env);
  ASSERT_FALSE(r.halted);
  for (char c : r.trap.detail) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << r.trap.detail;
  EXPECT_NE(r.trap.detail.find("evil\\x1b[2J\\x0d\\x0aok"), std::string::npos) << r.trap.detail;
}

// RunOptions::counts (run --heatmap): one count per cell, exact per instruction, summing to the
// steps, and kept for what ran before a trap.
TEST(VmCounts, PerInstructionCountsSumToSteps) {
  for (bool trap : {false, true}) {
    std::string src = "PUSH 7\nloop:\nDEC\nDUP\nJNZ loop\n" + std::string(trap ? "PUSH 0\nDIV\n" : "") + "HALT\n";
    auto prog = vm::Program::load(asm_ok(src));
    ASSERT_TRUE(prog.has_value());
    vm::HostEnv env;
    vm::Machine m(*prog, env);
    vm::RunOptions ro;
    std::vector<uint64_t> counts;
    ro.counts = &counts;
    auto r = m.run(ro);
    EXPECT_EQ(r.halted, !trap);
    ASSERT_EQ(counts.size(), prog->cells().size());
    uint64_t sum = 0;
    for (uint64_t c : counts) sum += c;
    EXPECT_EQ(sum, r.steps);
    EXPECT_EQ(counts[0], 1u);                       // PUSH 7
    EXPECT_EQ(counts[1], 7u);                       // DEC, each time round
    EXPECT_EQ(counts[3], 7u);                       // JNZ
    EXPECT_EQ(counts.back(), trap ? 0u : 1u);       // HALT: not reached after the trap
  }
}

// ---- superinstructions: every fusion against the plain handlers ----
// Each pattern of superinstructions.def runs after preludes that make it succeed, take either
// branch, or trap in each way one of its instructions can (empty or full stack, unallocated
// slot, exhausted locals, address out of range, zero divisor), at top level and inside a call.
// The fast interpreter (fused cells) must end exactly as the exact one (plain handlers): same
// halt or trap kind and pc, steps, output, stack and memory. And every id the table defines
// must be formed by some pattern, so a new superinstruction cannot go untested.
namespace {
struct Seen {
  vm::RunResult r;
  std::string out;
  std::vector<int32_t> stack, mem;
};
Seen run_mode(const vm::Program& prog, const vm::Limits& lim, bool exact) {
  vm::HostEnv env;
  vm::Machine m(prog, env);
  vm::RunOptions ro;
  ro.limits = lim;
  std::vector<uint64_t> counts;  // counting runs the exact loop with plain handlers
  if (exact) ro.counts = &counts;
  Seen s;
  ro.output = [&](std::string_view t) { s.out += t; };
  s.r = m.run(ro);
  s.stack.assign(m.stack().begin(), m.stack().end());
  s.mem.assign(m.memory().begin(), m.memory().end());
  return s;
}
std::vector<std::string> expand(const std::string& t) {
  std::vector<std::string> out{t};
  auto subst = [&](const std::string& key, const std::vector<std::string>& vals) {
    std::vector<std::string> next;
    for (const auto& s : out) {
      size_t at = s.find(key);
      if (at == std::string::npos) { next.push_back(s); continue; }
      for (const auto& v : vals) next.push_back(s.substr(0, at) + v + s.substr(at + key.size()));
    }
    out = next;
  };
  std::vector<std::string> binops, cmps;
#define X(name) binops.push_back(#name);
  PXOS_SUPER_BINOPS(X)
#undef X
#define X(name) cmps.push_back(#name);
  PXOS_SUPER_CMPS(X)
#undef X
  subst("{B}", binops);
  subst("{C}", cmps);
  subst("{J}", {"JZ", "JNZ"});
  return out;
}
}  // namespace

TEST(VmSuper, EveryFusionEndsAsThePlainHandlersDo) {
  const std::vector<std::string> patterns = {
      "LGET 0\nLGET 1", "LGET 0\nINC\nLSET 0", "LGET 0\nINC\nLTEE 0", "LGET 0\nDEC\nLSET 0",
      "LGET 0\nLOADI", "LGET 0\nPUSH 3\nSWAP", "LGET 0\nADD\nLSET 0", "LGET 0\nADD\nLOADI",
      "PUSH 2\nADD\nLOADI", "PUSH 3\n{B}", "LGET 0\n{B}", "{C}\n{J} t", "PUSH 3\n{C}\n{J} t",
      "LOCALS 2\nLSET 1", "LOCALS 2\nLTEE 4", "LOCALS 2\nLTEE 1", "LGET 0\nRET", "ADD\nRET",
      "LGET 0\nINC", "LGET 0\nDEC", "LGET 0\nSTOREI", "PUSH 5\nLGET 0\nSTOREI",
      "LGET 0\nLGET 1\nADD\nLSET 2", "LGET 0\nLOADI\nLSET 1", "LOAD 1\nLOAD 2", "LOAD 1\nINC\nSTORE 1",
      "LOAD 1\nINC\nDUP\nSTORE 1", "LOAD 1\nDEC\nSTORE 1", "LOAD 1\nADD\nSTORE 1", "DUP\nSTORE 3",
      "LGET 0\nPUSH 3\n{B}", "LGET 0\nPUSH 0\n{B}", "LOAD 1\n{B}", "{B}\nSTORE 2",
      "LGET 0\nPUSH 3\n{C}\n{J} t", "LGET 0\nLGET 1\n{C}\n{J} t", "LGET 0\n{C}\n{J} t",
      "LOAD 1\nPUSH 3\n{C}\n{J} t", "LOAD 2\nPUSH 3\n{C}\n{J} t", "LOCALS 1\nLSET 3\nLSET 0",
      "LOCALS 1\nLSET 0\nLSET 4", "LOCALS 2\nLSET 4\nLSET 1\nLSET 0", "LOCALS 1\nLSET 0\nLSET 2\nLSET 3",
      "LSET 0\nLSET 1", "LSET 1\nLSET 2", "LGET 0\nCALL t", "LGET 1\nLGET 0\nCALL t"};
  // locals 0 and 1, memory word 1, and the values left on the stack
  struct Prelude { int l0, l1, m1, pushes; bool locals; };
  const std::vector<Prelude> preludes = {
      {1, 2, 4, 2, true}, {7, 2, 3, 2, true}, {3, 3, 3, 2, true}, {-5, 9, -1, 2, true},  // both branches
      {0, 0, 0, 2, true},                                                                 // zero divisors
      {2, 1, 4, 0, true}, {2, 1, 4, 1, true},                                             // too few values
      {2, 1, 4, 3, true}, {2, 1, 4, 4, true},                                             // one, no room left
      {2, 1, 4, 2, false}, {1, 2, 4, 0, false},                                           // no slots
      {100, 1, 4, 2, true}};                                                              // a wild address
  std::set<int> formed;
  int compared = 0;
  for (const auto& t : patterns)
    for (const auto& body : expand(t))
      for (const auto& p : preludes)
        for (bool in_call : {false, true})
          for (uint32_t memory_words : {8u, 2u}) {  // 2: LOAD 2, STORE 2 and 3 leave memory, tighter limits
            std::string src = in_call ? "CALL f\nPRINT\nHALT\nf:\n" : "";
            if (p.locals)
              src += "LOCALS 3\nPUSH " + std::to_string(p.l0) + "\nLSET 0\nPUSH " + std::to_string(p.l1) + "\nLSET 1\n";
            src += "PUSH " + std::to_string(p.m1) + "\nSTORE 1\n";
            for (int i = 0; i < p.pushes; ++i) src += "PUSH " + std::to_string(i + 2) + "\n";
            src += body + "\nPRINT\nt:\nHALT\n";
            auto prog = vm::Program::load(asm_ok(src), {8, true});
            ASSERT_TRUE(prog) << src;
            for (uint16_t id : prog->supers()) if (id) formed.insert(id);
            vm::Limits lim;
            lim.memory_words = memory_words;
            lim.stack_words = 4;
            lim.local_words = memory_words == 8 ? 8 : 4;  // 4: LOCALS 3 then LOCALS 2 exhausts them
            lim.max_frames = memory_words == 8 ? 4 : 1;   // 1: a CALL inside the call traps
            Seen fast = run_mode(*prog, lim, false), exact = run_mode(*prog, lim, true);
            std::string what = src + (in_call ? "(in a call)" : "") + " memory " + std::to_string(memory_words);
            EXPECT_EQ(fast.r.halted, exact.r.halted) << what;
            EXPECT_EQ(fast.r.trap.kind, exact.r.trap.kind) << what << fast.r.trap.detail << " / " << exact.r.trap.detail;
            EXPECT_EQ(fast.r.trap_pc, exact.r.trap_pc) << what;
            EXPECT_EQ(fast.r.steps, exact.r.steps) << what;
            EXPECT_EQ(fast.out, exact.out) << what;
            EXPECT_EQ(fast.stack, exact.stack) << what;
            EXPECT_EQ(fast.mem, exact.mem) << what;
            ++compared;
          }
  std::set<int> defined;
#define SUPER(name, id, n, pattern) defined.insert(id);
#include "vm/superinstructions.def"
#undef SUPER
  int nb = 0, nc = 0;
#define X(name) ++nb;
  PXOS_SUPER_BINOPS(X)
#undef X
#define X(name) ++nc;
  PXOS_SUPER_CMPS(X)
#undef X
  for (int base : {vm::kSuperPushBinop, vm::kSuperLocalBinop, vm::kSuperLocalPushBinop, vm::kSuperMemBinop, vm::kSuperBinopStore})
    for (int k = 0; k < nb; ++k) defined.insert(base + k);
  for (int base : {vm::kSuperCmpBranch, vm::kSuperPushCmpBranch, vm::kSuperLocalPushCmpBranch, vm::kSuperLocalLocalCmpBranch,
                   vm::kSuperLocalCmpBranch, vm::kSuperMemPushCmpBranch})
    for (int k = 0; k < 2 * nc; ++k) defined.insert(base + k);
  for (int id : defined) EXPECT_TRUE(formed.count(id)) << "superinstruction id " << id << " is formed by no pattern here";
  EXPECT_GT(compared, 5000);
}
