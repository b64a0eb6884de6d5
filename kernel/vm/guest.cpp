// guest.cpp: the ring-3 PixelVM task of the microkernel. The kernel copies module N's PXBC
// bytes into the user page and enters here; this parses, verifies and runs them with the same
// src/isa + src/vm sources as `pxos run` (built freestanding), and reports one verdict line.
#include <string>
#include <string_view>

#include "guest.hpp"
#include "isa/module.hpp"
#include "vm/machine.hpp"
#include "vm/program.hpp"

namespace pxos::guest {
namespace {
// Module names come from the module (printable() escapes them at parse): bounded for the line.
constexpr size_t kReportMax = 480;  // the kernel prints at most 512 bytes of a REPORT

void say(std::string s) {
  if (s.size() > kReportMax) s.resize(kReportMax);
  report(s);
}

// Test hook (guest.def PROBE): the runtime itself does what a module escaping the VM would try.
void probe(uint64_t what) {
  if (what == 1) {
    uint8_t v;
    asm volatile("inb %%dx, %0" : "=a"(v) : "d"(uint16_t(0x3F8)));  // I/O port: #GP in ring 3
  } else if (what == 2) {
    volatile uint8_t* k = reinterpret_cast<volatile uint8_t*>(uintptr_t(0x100000));  // KERNEL_BASE
    (void)*k;                                                   // supervisor page: #PF
  }
}

uint64_t g_samples[1024];  // host-call round trips of this module, for the p50/p99 figure
size_t g_nsamples = 0;

void report_hostcalls() {
  if (g_nsamples < 16) return;  // a module that calls little gives no figure
  // insertion sort: at most 1024 entries, once per module
  for (size_t i = 1; i < g_nsamples; ++i)
    for (size_t j = i; j > 0 && g_samples[j - 1] > g_samples[j]; --j) std::swap(g_samples[j - 1], g_samples[j]);
  auto ns = [](uint64_t c) { return (unsigned long long)(c * 1000000000ull / tsc_hz); };
  say(fmt::format("stat guest_hostcall_p50_ns={}", ns(g_samples[g_nsamples / 2])));
  say(fmt::format("stat guest_hostcall_p99_ns={}", ns(g_samples[g_nsamples * 99 / 100])));
  say(fmt::format("stat guest_hostcall_max_ns={}", ns(g_samples[g_nsamples - 1])));
  say(fmt::format("stat guest_hostcall_samples={}", g_nsamples));
}
}  // namespace

void note_hostcall_cycles(uint64_t c) {
  if (g_nsamples < std::size(g_samples)) g_samples[g_nsamples++] = c;
}

// linker.ld: the guest's static constructors, run at every entry (each module starts afresh).
extern "C" void (*guest_init_start[])();
extern "C" void (*guest_init_end[])();

long main(const Args& a) {
  for (auto* f = guest_init_start; f != guest_init_end; ++f) (*f)();
  tsc_hz = a[TSC_HZ] ? a[TSC_HZ] : 1000000000;
  arena_init(uintptr_t(a[ARENA]), uintptr_t(a[ARENA_END]));
  g_nsamples = 0;
  probe(a[PROBE]);
  ByteView bytes(reinterpret_cast<const uint8_t*>(a[MODULE]), size_t(a[MODULE_LEN]));
  auto m = isa::parse_module(bytes, fmt::format("module {}", a[INDEX]));
  if (!m) {
    say("rejected: " + m.error().to_string());
    return EXIT_REJECTED;
  }
  std::string name = m->source.empty() ? fmt::format("module {}", a[INDEX]) : m->source;
  vm::VerifyOptions vo;
  vo.memory_words = uint32_t(a[MEMORY_WORDS]);
  auto p = vm::Program::load(std::move(*m), vo);  // the kernel's own check: the host copy is not trusted
  if (!p) {
    say("rejected by the verifier: " + p.error().to_string());
    return EXIT_REJECTED;
  }
  vm::HostEnv env;
  env.granted = vm::CapSet(a[CAPS]);
  env.seed = a[SEED];
  env.input = nullptr;
  vm::RunOptions ro;
  ro.limits.max_steps = a[MAX_STEPS];
  ro.limits.max_output_bytes = a[MAX_OUTPUT];
  ro.limits.memory_words = uint32_t(a[MEMORY_WORDS]);
  ro.entry = uint32_t(a[ENTRY]);
  bool refused = false;
  ro.output = [&](std::string_view s) { refused = !write(s) || refused; };
  vm::Machine mach(*p, env);
  syscall(SYS_MARK);  // the module's first instruction is next (boot-to-first-instruction figure)
  vm::RunResult r = mach.run(ro);
  report_hostcalls();
  uint64_t ns = uint64_t(r.seconds * 1e9);  // the guest clock (RDTSC at the kernel's rate)
  say(fmt::format("stat guest_steps={}", r.steps));
  say(fmt::format("stat guest_run_ns={}", ns));
  if (ns) say(fmt::format("stat guest_instr_per_s={}", uint64_t(double(r.steps) / r.seconds)));
  if (r.halted) {
    say(fmt::format("halted: {}: {} instructions, {} output bytes{}", name, r.steps, r.output_bytes,
                    refused ? " (the kernel refused some output)" : ""));
    return EXIT_HALTED;
  }
  say(fmt::format("trap: {} ({} instructions)", r.trap.detail, r.steps));
  return r.trap.code == Errc::GpuError ? EXIT_GPU_BAD : EXIT_TRAP;
}

}  // namespace pxos::guest

// Called by guest_entry (kernel/user.asm) on a 16-byte aligned user stack.
extern "C" long pxos_guest_main(const pxos::guest::Args* a) { return pxos::guest::main(*a); }
