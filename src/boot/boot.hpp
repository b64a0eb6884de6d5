// boot.hpp: `pxos boot`: runs the NASM microkernel (kernel/) in QEMU next to a mailboxd that
// serves the ivshmem file, streams the serial console, and reads the kernel's verdict and figures.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pxos::boot {

// isa-debug-exit values the kernel writes, one per row of src/boot/exits.def (the kernel's
// EXIT_* symbols are generated from the same rows).
enum class KernelExit : uint8_t {
#define X(name, value, sym, errc, doc) name = value,
#include "boot/exits.def"
#undef X
};
// The text for a debug-exit value; empty when the value is not in the table.
std::string_view kernel_exit_text(unsigned value);
// The error kind (hence `pxos boot`'s exit status) of a debug-exit value; BootError when unknown.
Errc kernel_exit_errc(unsigned value);
// kernel_exits.inc for the NASM kernel: "EXIT_PASS equ 0x10 ; ..." per row of exits.def.
std::string exits_nasm_include();

struct Options {
  bool iso = false;                  // GRUB ISO (multiboot 2) instead of -kernel (multiboot 1)
  std::string machine = "q35";       // q35 | pc | microvm
  double timeout_s = 30;             // whole run; everything started is killed after it
  bool keep = false;                 // keep the shared file and a transcript beside it
  std::string kernel;                // kernel ELF / ISO; empty: next to the pxos binary
  std::string qemu = "qemu-system-x86_64";
  std::string append;                // kernel command line (e.g. "mbtimeout=100")
  // The fast path (docs/BENCHMARKS.md "Boot"): qboot instead of SeaBIOS, no default devices,
  // the host's TSC rate on the command line. Each part can be switched back to measure it.
  std::string firmware = "auto";     // auto (qboot; QEMU's own for --iso) | qboot | qemu (the machine's default: SeaBIOS on q35/pc)
  bool qemu_defaults = false;        // keep QEMU's default devices (VGA, ...) instead of -nodefaults
  std::string tsc = "auto";          // auto (TCG: the host's TSC rate as tsc_khz=; KVM: -cpu host,+invtsc,+vmware-cpuid-freq,
                                     // the rate in CPUID 0x40000010) | pit (the kernel calibrates)
  std::string accel = "tcg";         // tcg | kvm | auto (kvm when /dev/kvm is usable). TCG by
                                     // default: the ring-3 SYSCALL test fails under KVM (see
                                     // docs/microkernel.md, "Known issues")
  // test hooks (bad cases): no host runtime, no mailbox device, another server program
  bool no_mailboxd = false;
  bool no_ivshmem = false;
  std::vector<std::string> mailboxd_cmd;  // argv; "{file}" is replaced by the shared file
  bool quiet = false;                // do not stream serial / mailboxd output
  // Boot modules (docs/microkernel.md, "Modules"): mailboxd serves them (MODULE), the kernel
  // runs each in its ring-3 PixelVM. Their output streams as source "guest".
  std::vector<std::string> modules;  // FILE.pxi | FILE.pxasm | KEY.png | ARCHIVE.pxa:ENTRY
  std::vector<std::string> grant;    // capabilities for modules without a manifest
  uint64_t seed = 0, max_steps = 0, max_output = 0;
  uint32_t memory_words = 0;
  std::string backend;               // mailboxd --backend (cpu | webgpu | cuda); empty: cpu
  std::string probe;                 // (test) "1" | "2": the guest runtime touches a port / kernel memory
};

struct Report {
  int qemu_status = -1;         // QEMU's exit status (-1: killed / signalled)
  int kernel_exit = -1;         // the debug-exit value, when QEMU exited through it
  bool passed = false;
  bool timed_out = false;
  std::map<std::string, uint64_t> stats;  // "stat name=value" lines of the kernel
  std::string serial;           // the serial transcript
  std::string mailboxd_out;     // what mailboxd printed (UART_WRITE goes to its stdout, except with modules)
  std::string guest_out;        // the modules' output (UART_WRITE through mailboxd), with modules
  // One line per module that failed, in boot order: "module N (SPEC): what happened", with
  // mailboxd's own line for what it refused (missing, tampered, too large).
  std::vector<std::string> module_failures;
  double hello_ms = -1;         // QEMU start → mailboxd printed "Hello from GPU OS!"
  double total_ms = 0;          // QEMU start → QEMU exit
  double prelaunch_ms = 0;      // boot::run's start → QEMU start (shared file, mailboxd spawned, host TSC window)
  uint64_t host_tsc_khz = 0;    // what was passed as tsc_khz= (0: none)
  std::string host_tsc_source;  // where pxos got it: "cpuid-0x15", "cpuid-0x40000010", "measured"
  double first_module_ms = -1;  // QEMU start → the kernel said the first module instruction is next
  std::string shared_file;      // the ivshmem file (kept only with keep)
  std::string verdict() const;  // one line
};

// Where output lines go while the run streams: (source, line) with source "serial",
// "mailboxd" or "guest"; the default writes guest lines to stdout and, with modules, the rest to
// stderr (so that `pxos boot --module X` prints on stdout what `pxos run X` does).
using Sink = std::function<void(std::string_view source, std::string_view line)>;

// Runs one boot. Errors: Unsupported when QEMU is missing (the message says what to install),
// NotFound when the kernel image is missing, Io for process/pipe failures. A kernel that
// reports FAIL is not an error here: see Report::passed.
Result<Report> run(const Options& opt, const Sink& sink = {});

// "stat name=value" lines → map (unparsable lines are ignored; values saturate).
std::map<std::string, uint64_t> parse_stats(std::string_view transcript);

// The host's TSC rate in kHz, from CPUID (leaf 0x15, then the hypervisor leaf 0x40000010) or
// measured between `since` (a host_tsc_sample taken earlier) and now against CLOCK_MONOTONIC_RAW,
// waiting until the window is at least kHostTscWindowNs; 0 off x86-64 or when the TSC is not
// invariant. Under TCG the guest's RDTSC is the host's, so the kernel can skip its calibration.
struct TscSample {
  uint64_t tsc = 0;
  int64_t ns = 0;
};
TscSample host_tsc_sample();
uint64_t host_tsc_khz(const TscSample& since, std::string* source = nullptr);

// The kernel image next to the pxos binary (or the build tree); empty when none is found.
std::string default_kernel(bool iso);

}  // namespace pxos::boot
