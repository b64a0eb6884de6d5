// cmd_run.cpp: `pxos run`: load (assembling .pxasm on the fly), verify and run a program.
// Program output goes to stdout only; diagnostics, traces and stats go to stderr.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/loader.hpp"
#include "vm/machine.hpp"

namespace pxos::cli {
namespace {

struct RunArgs {
  std::string input;
  uint64_t max_steps = 0, max_output = 0, timeout_ms = 0, seed = 0;
  uint32_t memory_words = vm::kDefaultMemoryWords;
  bool trace = false, stats = false, seeded = false;
  std::vector<std::string> grant, deny;
};

Register reg(20, [](CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* s = app.add_subcommand("run", "Run a program (.pxi, .pxasm, legacy PixelFS, or god-pixel key)");
  s->add_option("input", a->input, "program")->required();
  s->add_option("--max-steps", a->max_steps, "stop with a trap after N instructions (default: no limit)")->check(at_least("--max-steps"));
  s->add_option("--max-output", a->max_output, "stop after N bytes of output (default: no limit)")->check(at_least("--max-output"));
  s->add_option("--timeout-ms", a->timeout_ms, "stop after this much wall time (default: none)")->check(at_least("--timeout-ms"));
  s->add_option("--memory-words", a->memory_words, "data memory size in words (default 1024, max 65536)");
  s->add_option("--seed", a->seed, "seed of the random host call (default: fixed)");
  s->add_option("--grant", a->grant, "grant a capability (clock, random and input are granted by default)");
  s->add_option("--deny", a->deny, "deny a capability");
  s->add_flag("--trace", a->trace, "print each executed instruction and the stack to stderr");
  s->add_flag("--stats", a->stats, "report instructions executed and time on stderr");
  s->callback([a] {
    if (a->memory_words == 0 || a->memory_words > vm::kMaxMemoryWords)
      throw Failure(Error{Errc::Usage, fmt::format("--memory-words {}: must be 1..{}", a->memory_words, vm::kMaxMemoryWords)});
    isa::Module m = must(load_module(a->input));
    vm::VerifyOptions vo;
    vo.memory_words = a->memory_words;
    vm::Program prog = must(vm::Program::load(std::move(m), vo));
    vm::HostEnv env;
    env.granted = vm::cap_bit(vm::Cap::clock) | vm::cap_bit(vm::Cap::random) | vm::cap_bit(vm::Cap::input);
    env.granted |= must(vm::parse_caps(a->grant, "--grant"));
    env.granted &= ~must(vm::parse_caps(a->deny, "--deny"));
    if (a->seed) env.seed = a->seed;
    vm::Machine machine(prog, env);
    vm::RunOptions ro;
    ro.limits.max_steps = a->max_steps;
    ro.limits.max_output_bytes = a->max_output;
    ro.limits.timeout_ms = a->timeout_ms;
    ro.limits.memory_words = a->memory_words;
    ro.trace = a->trace;
    vm::RunResult r = machine.run(ro);
    std::fflush(stdout);
    if (a->stats)
      std::fprintf(stderr, "stats: %llu instructions in %.6f s (%.1f M instructions/s), %llu output bytes\n",
                   (unsigned long long)r.steps, r.seconds, r.seconds > 0 ? double(r.steps) / r.seconds / 1e6 : 0.0,
                   (unsigned long long)r.output_bytes);
    if (!r.halted) throw Failure(r.trap.error());
  });
});

}  // namespace
}  // namespace pxos::cli
