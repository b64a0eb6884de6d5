// fuzz_vm.cpp: any bytes as code. The verifier rejects, or the program finishes (halt or trap)
// inside its fuel. Differential: the fast interpreter (run-charged fuel, superinstructions) and
// the exact one (per-step fuel, plain handlers, used for --trace) must agree on everything:
// halt or trap, steps, output, stack and data memory.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "vm/machine.hpp"

namespace {
struct Seen {
  pxos::vm::RunResult r;
  std::string out;
  std::vector<int32_t> stack, mem;
};
Seen run_once(const pxos::vm::Program& prog, bool exact) {
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  pxos::vm::HostEnv env;
  env.granted = pxos::vm::cap_bit(pxos::vm::Cap::random);  // no clock (nondeterministic), no input
  env.input = nullptr;
  pxos::vm::Machine vm(prog, env);
  pxos::vm::RunOptions ro;
  ro.limits.max_steps = 20000;
  ro.limits.memory_words = 256;
  ro.limits.stack_words = 64;
  ro.limits.max_frames = 64;
  ro.limits.local_words = 512;
  ro.limits.max_output_bytes = 4096;
  ro.trace = exact;
  ro.trace_out = devnull;
  Seen s;
  ro.output = [&](std::string_view t) { s.out += t; };
  s.r = vm.run(ro);
  s.stack.assign(vm.stack().begin(), vm.stack().end());
  s.mem.assign(vm.memory().begin(), vm.memory().end());
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pxos::isa::Module m;
  m.source = "fuzz";
  m.code.assign(data, data + size);
  pxos::vm::VerifyOptions vo;
  vo.memory_words = 256;
  auto prog = pxos::vm::Program::load(m, vo);
  if (!prog) return 0;
  Seen fast = run_once(*prog, false), exact = run_once(*prog, true);
  if (fast.r.steps > 20000) std::abort();
  if (!fast.r.halted && fast.r.trap.detail.empty()) std::abort();
  if (fast.r.halted != exact.r.halted || fast.r.steps != exact.r.steps || fast.out != exact.out ||
      fast.stack != exact.stack || fast.mem != exact.mem || fast.r.trap.code != exact.r.trap.code || fast.r.trap_pc != exact.r.trap_pc) {
    std::fprintf(stderr, "fast/exact disagree: halted %d/%d steps %llu/%llu trap '%s' / '%s'\n", fast.r.halted,
                 exact.r.halted, (unsigned long long)fast.r.steps, (unsigned long long)exact.r.steps,
                 fast.r.trap.detail.c_str(), exact.r.trap.detail.c_str());
    std::abort();
  }
  return 0;
}
