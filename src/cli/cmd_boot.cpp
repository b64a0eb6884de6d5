// cmd_boot.cpp: `pxos boot`: the microkernel in QEMU with mailboxd; exits with its pass/fail.
#include <cstdio>

#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "boot/boot.hpp"
#include "cli/boot_kernel.hpp"
#include "cli/command.hpp"
#include "vm/hostcalls.hpp"

namespace pxos::cli {
// The hook lives with its one user; boot_kernel.cpp fills it when its row is built.
KernelExtractor& kernel_extractor() {
  static KernelExtractor x;
  return x;
}
}  // namespace pxos::cli

namespace {
struct Opts {
  pxos::boot::Options o;
  std::string mailboxd_cmd;
  bool json = false;
};

// --json: the whole report as one object on stdout (the modules' output is a field, so that
// stdout stays one parsable document); figures the run did not reach are null.
nlohmann::ordered_json report_json(const pxos::boot::Options& o, const pxos::boot::Report& r,
                                   const std::optional<pxos::cli::ExtractedKernel>& k) {
  auto ms = [](double v) { return v >= 0 ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
  nlohmann::ordered_json j = {{"passed", r.passed}, {"verdict", r.verdict()}, {"machine", o.machine}, {"accel", o.accel},
                              {"firmware", o.firmware}, {"qemu_defaults", o.qemu_defaults},
                              {"qemu_status", r.qemu_status}, {"kernel_exit", r.kernel_exit}, {"timed_out", r.timed_out}};
  if (k) j["kernel"] = {{"image", o.kernel}, {"key", k->key}, {"elf_bytes", k->bytes}, {"sha256", k->sha256}};
  j["figures"] = nlohmann::ordered_json::object();
  for (auto& [name, v] : r.stats) j["figures"][name] = v;
  j["host_tsc_khz"] = r.host_tsc_khz ? nlohmann::ordered_json(r.host_tsc_khz) : nlohmann::ordered_json(nullptr);
  j["host_tsc_source"] = r.host_tsc_source;
  j["wall_prelaunch_ms"] = r.prelaunch_ms;
  j["wall_hello_ms"] = ms(r.hello_ms);
  j["wall_first_module_ms"] = ms(r.first_module_ms);
  j["wall_total_ms"] = r.total_ms;
  j["modules"] = o.modules;
  j["module_failures"] = r.module_failures;
  if (!o.modules.empty()) j["output"] = r.guest_out;
  return j;
}

void run(const Opts& a) {
  using namespace pxos;
  boot::Options o = a.o;
  if (!a.mailboxd_cmd.empty()) {  // split on spaces: a test's own server program
    std::string cur;
    for (char c : a.mailboxd_cmd + " ") {
      if (c == ' ') {
        if (!cur.empty()) o.mailboxd_cmd.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
  }
  if (o.timeout_s <= 0) throw Failure(Error{Errc::Usage, "--timeout: must be positive"});
  // --kernel IMAGE.png: the kernel as a god pixel, extracted (verified) to a private temp file
  // that lives until the boot is over.
  std::optional<cli::ExtractedKernel> extracted;
  const std::string kernel_arg = o.kernel;
  if (a.json) o.quiet = true;  // nothing streams: stdout is the report
  if (!o.kernel.empty() && !o.iso) {
    if (!cli::kernel_extractor()) {
      if (o.kernel.ends_with(".png"))
        throw Failure(Error{Errc::Unsupported, "--kernel IMAGE.png: this pxos was built without the god-pixel module"});
    } else {
      extracted = must(cli::kernel_extractor()(o.kernel));
      if (extracted && !a.json) {
        std::fprintf(stderr, "kernel: %s: key %s, %llu B ELF, sha256 %s verified; booting it from %s\n", o.kernel.c_str(),
                     extracted->key.c_str(), (unsigned long long)extracted->bytes, extracted->sha256.c_str(),
                     extracted->path.c_str());
        o.kernel = extracted->path;
      }
    }
  }
  boot::Report r = must(boot::run(o));
  if (a.json) {
    boot::Options shown = o;
    shown.kernel = kernel_arg;
    std::printf("%s\n", report_json(shown, r, extracted).dump().c_str());
  }
  // With modules, stdout is the modules' output alone (as `pxos run` prints it): the rest goes to stderr.
  FILE* info = o.modules.empty() ? stdout : stderr;
  if (a.json) {
    // the report above says it all
  } else if (!o.quiet || o.modules.empty()) {
    std::fprintf(info, "\n%s\n", r.verdict().c_str());
    if (!r.stats.empty()) {
      std::fprintf(info, "figures (kernel TSC; wall clock from QEMU start):\n");
      for (auto& [k, v] : r.stats) std::fprintf(info, "  %-28s %llu\n", k.c_str(), (unsigned long long)v);
    }
    if (r.host_tsc_khz)
      std::fprintf(info, "  %-28s %llu (%s)\n", "host_tsc_khz", (unsigned long long)r.host_tsc_khz, r.host_tsc_source.c_str());
    if (r.hello_ms >= 0) std::fprintf(info, "  %-28s %.1f\n", "wall_hello_ms", r.hello_ms);
    if (r.first_module_ms >= 0) std::fprintf(info, "  %-28s %.1f\n", "wall_first_module_ms", r.first_module_ms);
    std::fprintf(info, "  %-28s %.1f\n", "wall_total_ms", r.total_ms);
    std::fprintf(info, "  %-28s %.1f\n", "wall_prelaunch_ms", r.prelaunch_ms);
    if (o.keep) std::fprintf(info, "kept: %s and %s.serial.txt\n", r.shared_file.c_str(), r.shared_file.c_str());
  } else {
    std::fwrite(r.guest_out.data(), 1, r.guest_out.size(), stdout);  // --quiet: the output, at the end
  }
  std::fflush(stdout);
  if (!r.passed) {
    // The exit status is the kernel's exit code's row (exits.def): one per kind of bad module.
    Errc code = r.kernel_exit >= 0 ? boot::kernel_exit_errc(unsigned(r.kernel_exit)) : Errc::BootError;
    if (code == Errc::Ok) code = Errc::BootError;
    std::string line = r.module_failures.empty() ? r.verdict() : "boot: " + r.module_failures.front();
    if (r.module_failures.size() > 1) line += fmt::format(" (and {} more failed)", r.module_failures.size() - 1);
    throw Failure(Error{code, line});
  }
}
}  // namespace

static pxos::cli::Register reg(80, {"boot"}, [](CLI::App& app) {
  auto a = std::make_shared<Opts>();
  auto* s = app.add_subcommand("boot", "boot the pxOS microkernel in QEMU, talking to mailboxd through ivshmem");
  s->add_flag("--iso", a->o.iso, "boot the GRUB ISO (multiboot 2) instead of -kernel (multiboot 1)");
  s->add_option("--machine", a->o.machine, "q35 (default) | pc | microvm")->check(CLI::IsMember({"q35", "pc", "microvm"}));
  s->add_option("--timeout", a->o.timeout_s, "seconds before QEMU and mailboxd are killed (default 30)");
  s->add_flag("--keep", a->o.keep, "keep the shared file and write the serial transcript beside it");
  s->add_option("--kernel", a->o.kernel, "kernel ELF, or its self-bootstrapping image (pxos god bootstrap KERNEL.elf -o "
                "kernel.png; verified, then booted), or ISO with --iso; default: the built one");
  s->add_option("--firmware", a->o.firmware, "auto (default: qboot, or SeaBIOS for --iso) | qboot | qemu (the machine's own: SeaBIOS on q35/pc)")
      ->check(CLI::IsMember({"auto", "qboot", "qemu"}));
  s->add_flag("--qemu-defaults", a->o.qemu_defaults, "keep QEMU's default devices (VGA, CD drive, ...) instead of -nodefaults");
  s->add_option("--tsc", a->o.tsc, "auto (default: under TCG, pass the host's TSC rate as tsc_khz=; under KVM, have it published in CPUID 0x40000010) | pit (the kernel calibrates, 5 ms)")
      ->check(CLI::IsMember({"auto", "pit"}));
  s->add_option("--accel", a->o.accel, "tcg (default) | kvm | auto (kvm when /dev/kvm is usable)")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  s->add_option("--append", a->o.append, "kernel command line (e.g. mbtimeout=100)");
  s->add_flag("--quiet", a->o.quiet, "do not stream the serial console and mailboxd output");
  s->add_flag("--json", a->json, "print the verdict, figures and module output as one JSON object on stdout (implies --quiet)");
  s->add_option("--module", a->o.modules, "boot module(s), run in order by the kernel's PixelVM in ring 3: FILE.pxi, FILE.pxasm, "
                "a god-pixel key / self-bootstrapping PNG, or ARCHIVE.pxa:ENTRY; stdout is then their output")
      ->expected(1, -1);
  s->add_option("--grant", a->o.grant, fmt::format("capability for modules without a manifest ({} are granted)", pxos::vm::cap_list(pxos::vm::kDefaultCaps)));
  s->add_option("--seed", a->o.seed, "seed of the modules' random host calls (default: pxos run's)");
  s->add_option("--max-steps", a->o.max_steps, "fuel of each module without a manifest (0: unlimited)");
  s->add_option("--max-output", a->o.max_output, "output bytes of each module without a manifest (0: unlimited)");
  s->add_option("--memory-words", a->o.memory_words, "data memory words of each module without a manifest (default 1024)");
  s->add_option("--backend", a->o.backend, "mailboxd's backend for the modules' host calls: cpu (default) | webgpu (the gpu host call) | cuda")
      ->check(CLI::IsMember({"cpu", "webgpu", "cuda"}));
  s->add_option("--guest-probe", a->o.probe, "(test) the guest runtime reads an I/O port (1) or kernel memory (2) before each module")
      ->check(CLI::IsMember({"1", "2"}));
  // test hooks for the bad cases
  s->add_flag("--no-mailboxd", a->o.no_mailboxd, "(test) start no mailboxd: the kernel must time out");
  s->add_flag("--no-ivshmem", a->o.no_ivshmem, "(test) give QEMU no mailbox device");
  s->add_option("--mailboxd-cmd", a->mailboxd_cmd, "(test) run this server instead of mailboxd; {file} = the shared file");
  s->callback([a] { run(*a); });
});
