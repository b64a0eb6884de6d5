// fuzz_vm.cpp: any bytes as code: the verifier must reject or the interpreter must finish
// (halt or trap) inside its fuel, with the exact step count in range. Input stream is closed.
#include <cstdint>
#include <cstdlib>

#include "vm/machine.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pxos::isa::Module m;
  m.source = "fuzz";
  m.code.assign(data, data + size);
  pxos::vm::VerifyOptions vo;
  vo.memory_words = 256;
  auto prog = pxos::vm::Program::load(m, vo);
  if (!prog) return 0;
  pxos::vm::HostEnv env;
  env.granted = pxos::vm::cap_bit(pxos::vm::Cap::random);  // no clock (nondeterministic), no input
  env.input = nullptr;
  pxos::vm::Machine vm(*prog, env);
  pxos::vm::RunOptions ro;
  ro.limits.max_steps = 20000;
  ro.limits.memory_words = 256;
  ro.limits.stack_words = 64;
  ro.limits.max_frames = 64;
  ro.limits.local_words = 512;
  ro.limits.max_output_bytes = 4096;
  ro.output = [](std::string_view) {};
  auto r = vm.run(ro);
  if (r.steps > 20000) std::abort();
  if (!r.halted && r.trap.detail.empty()) std::abort();
  return 0;
}
