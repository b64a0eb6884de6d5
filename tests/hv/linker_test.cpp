// linker_test.cpp: linking modules: relocation of local targets, cross-module calls, unresolved
// targets, import cycles, per-module source names in diagnostics.
#include <gtest/gtest.h>

#include "helpers.hpp"
#include "hv/linker.hpp"
#include "vm/machine.hpp"

namespace pxos::hv::test {
namespace {

#define EXPECT_HAS(hay, needle) EXPECT_NE(std::string(hay).find(needle), std::string::npos) << (hay)

const char* kMain = R"(; main
start:
    PUSH 3
    CALL util:twice
    PRINT
    PUSH 4
    CALL util:count
    HALT
)";
const char* kUtil = R"(; util: local jumps and calls must be shifted by the module's base
twice:
    DUP
    ADD
    RET
count:              ; ( n -- ) prints n..1
    DUP
    PRINT
    DEC
    DUP
    JNZ count
    POP
    CALL done
    RET
done:
    PRINT_STR "done"
    RET
)";

std::string run_linked(const Linked& L, uint32_t entry, vm::RunResult* res = nullptr) {
  auto prog = vm::Program::load(L.module);
  EXPECT_TRUE(prog) << (prog ? "" : prog.error().detail);
  if (!prog) return "";
  vm::HostEnv env;
  vm::Machine m(*prog, env);
  std::string out;
  vm::RunOptions ro;
  ro.entry = entry;
  ro.limits.max_steps = 100000;
  ro.output = [&](std::string_view s) { out += s; };
  auto r = m.run(ro);
  if (res) *res = r;
  EXPECT_TRUE(r.halted) << r.trap.detail;
  return out;
}

TEST(Linker, CrossModuleCallsAndLocalTargetsAreRelocated) {
  isa::Module main = assemble(kMain, "main.pxasm"), util = assemble(kUtil, "util.pxasm");
  ASSERT_EQ(main.relocs.size(), 2u);
  std::vector<LinkInput> in{{"main", &main}, {"util", &util}};
  auto L = link(in, "t.pxa");
  ASSERT_TRUE(L) << L.error().detail;
  EXPECT_TRUE(L->module.relocs.empty());
  ASSERT_EQ(L->segments.size(), 2u);
  EXPECT_EQ(L->segments[1].base, main.code.size());
  EXPECT_EQ(L->segments[0].imports, std::vector<std::string>{"util"});
  EXPECT_EQ(run_linked(*L, 0), "6\n4\n3\n2\n1\ndone\n");
  // util's own entry works too, at its base.
  auto off = L->resolve("util", "count");
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, L->segments[1].base + *util.find("count"));
  EXPECT_FALSE(L->resolve("util", "nope"));
  EXPECT_FALSE(L->resolve("nope", "count"));
}

TEST(Linker, LinkOrderDoesNotChangeBehaviour) {
  isa::Module main = assemble(kMain, "main.pxasm"), util = assemble(kUtil, "util.pxasm");
  std::vector<LinkInput> in{{"util", &util}, {"main", &main}};
  auto L = link(in, "t.pxa");
  ASSERT_TRUE(L) << L.error().detail;
  EXPECT_EQ(run_linked(*L, *L->resolve("main", "start")), "6\n4\n3\n2\n1\ndone\n");
}

TEST(Linker, UnresolvedModuleNamesTheCallSite) {
  isa::Module main = assemble("start:\n  CALL utl:twice\n  HALT\n", "main.pxasm"), util = assemble(kUtil, "util.pxasm");
  std::vector<LinkInput> in{{"main", &main}, {"util", &util}};
  auto L = link(in, "t.pxa");
  ASSERT_FALSE(L);
  EXPECT_EQ(L.error().code, Errc::LinkError);
  EXPECT_HAS(L.error().detail, "main.pxasm:2: offset 0x0000: CALL utl:twice: unresolved cross-module call: no module 'utl'");
  EXPECT_HAS(L.error().detail, "(modules: main, util)");
}

TEST(Linker, UnresolvedLabelSuggestsOne) {
  isa::Module main = assemble("start:\n  PUSH 1\n  CALL util:twcie\n  HALT\n", "main.pxasm"), util = assemble(kUtil, "util.pxasm");
  std::vector<LinkInput> in{{"main", &main}, {"util", &util}};
  auto L = link(in, "t.pxa");
  ASSERT_FALSE(L);
  EXPECT_HAS(L.error().detail, "main.pxasm:3:");
  EXPECT_HAS(L.error().detail, "module 'util' has no label 'twcie' (did you mean 'twice'?)");
}

TEST(Linker, LabelAtTheEndOfAModuleIsNotATarget) {
  isa::Module main = assemble("start:\n  CALL util:end\n  HALT\n", "main.pxasm");
  isa::Module util = assemble("f:\n  RET\nend:\n", "util.pxasm");
  std::vector<LinkInput> in{{"main", &main}, {"util", &util}};
  auto L = link(in, "t.pxa");
  ASSERT_FALSE(L);
  EXPECT_HAS(L.error().detail, "label 'end' is not on an instruction of 'util'");
}

TEST(Linker, ImportCyclesAreErrorsThatPrintTheCycle) {
  isa::Module a = assemble("fa:\n  CALL b:fb\n  RET\n", "a.pxasm");
  isa::Module b = assemble("fb:\n  CALL c:fc\n  RET\n", "b.pxasm");
  isa::Module c = assemble("fc:\n  CALL a:fa\n  RET\n", "c.pxasm");
  std::vector<LinkInput> in{{"a", &a}, {"b", &b}, {"c", &c}};
  auto L = link(in, "t.pxa");
  ASSERT_FALSE(L);
  EXPECT_EQ(L.error().code, Errc::LinkError);
  EXPECT_HAS(L.error().detail, "import cycle a -> b -> c -> a");
  EXPECT_HAS(L.error().detail, "c.pxasm:2: offset 0x0000: CALL a:fa");
  // Two modules calling each other.
  isa::Module x = assemble("f:\n  CALL y:g\n  RET\n", "x.pxasm"), y = assemble("g:\n  CALL x:f\n  RET\n", "y.pxasm");
  std::vector<LinkInput> in2{{"x", &x}, {"y", &y}};
  auto L2 = link(in2, "t.pxa");
  ASSERT_FALSE(L2);
  EXPECT_HAS(L2.error().detail, "import cycle x -> y -> x");
}

TEST(Linker, RecursionInsideOneModuleIsFine) {
  // fib calls itself, and also through its own qualified name: neither is a cycle between modules.
  isa::Module m = assemble(R"(start:
    PUSH 10
    CALL fib
    PRINT
    PUSH 5
    CALL m:fib
    PRINT
    HALT
fib:
    LOCALS 1
    LTEE 0
    PUSH 2
    LT
    JZ rec
    LGET 0
    RET
rec:
    LGET 0
    DEC
    CALL m:fib
    LGET 0
    PUSH 2
    SUB
    CALL fib
    ADD
    RET
)", "m.pxasm");
  std::vector<LinkInput> in{{"m", &m}};
  auto L = link(in, "t.pxa");
  ASSERT_TRUE(L) << L.error().detail;
  EXPECT_TRUE(L->segments[0].imports.empty());
  EXPECT_EQ(run_linked(*L, 0), "55\n5\n");
}

TEST(Linker, WhereNamesEachModulesOwnSourceAndLine) {
  isa::Module main = assemble(kMain, "main.pxasm"), util = assemble(kUtil, "util.pxasm");
  std::vector<LinkInput> in{{"main", &main}, {"util", &util}};
  auto L = link(in, "t.pxa");
  ASSERT_TRUE(L);
  uint32_t done = *L->resolve("util", "done");
  EXPECT_EQ(L->where(done), fmt::format("util.pxasm:16: util+{:#06x}: PRINT_STR", *util.find("done")));
  EXPECT_EQ(L->where(0), "main.pxasm:3: main+0x0000: PUSH");
  ASSERT_NE(L->segment_at(done), nullptr);
  EXPECT_EQ(L->segment_at(done)->module, "util");
}

TEST(Linker, VerifyModuleChecksEachModuleAlone) {
  isa::Module bad = assemble("f:\n  PUSH 1\n", "bad.pxasm");  // falls off the end
  auto s = verify_module(bad, "bad", 1024);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::VerifyError);
  EXPECT_HAS(s.error().detail, "bad.pxasm");
  isa::Module mem = assemble("f:\n  LOAD 2000\n  HALT\n", "mem.pxasm");
  EXPECT_FALSE(verify_module(mem, "mem", 1024));
  EXPECT_TRUE(verify_module(mem, "mem", 4096));
  // A module with a cross-module call verifies on its own (the operand is resolved later).
  isa::Module main = assemble(kMain, "main.pxasm");
  EXPECT_TRUE(verify_module(main, "main", 1024));
}

TEST(Linker, RelocationsMustSitOnCallOperands) {
  isa::Module m = assemble("f:\n  PUSH 7\n  HALT\n", "m.pxasm");
  m.relocs.push_back({1, "u:g"});  // on PUSH's operand
  auto s = verify_module(m, "m", 1024);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::LinkError);
  EXPECT_HAS(s.error().detail, "does not sit on a CALL operand");
  std::vector<LinkInput> in{{"m", &m}};
  EXPECT_FALSE(link(in, "t"));
}

}  // namespace
}  // namespace pxos::hv::test
