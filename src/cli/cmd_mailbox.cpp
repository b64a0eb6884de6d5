// cmd_mailbox.cpp: `pxos mailboxd`, the host runtime that serves the mailbox in a file (QEMU's
// ivshmem-plain BAR2) or POSIX shared memory, with the cpu, webgpu or cuda backend; and
// `pxos mailbox status`, which reads a served area's header, ring indices and counters.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/boot_modules.hpp"
#include "cli/command.hpp"
#include "common/fs.hpp"
#include "common/os.hpp"
#include "mailbox/backends.hpp"
#include "mailbox/serve.hpp"
#include "mailbox/tsc.hpp"
#include "vm/hostcalls.hpp"
#include "vm/limits.hpp"

namespace pxos::cli {
// The hook lives here, with its one user; boot_modules.cpp fills it when its row is built.
ModuleSourceFactory& module_source_factory() {
  static ModuleSourceFactory f;
  return f;
}
}  // namespace pxos::cli

namespace {
using namespace pxos;
using namespace pxos::mailbox;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

struct Opts {
  std::string file, shm, backend = "cpu", uart, uart_in, mmio = "0xFEB00000:0x1000";
  size_t size = c::MIN_SIZE;
  uint32_t spin_us = LoopOptions{}.spin_us, max_sleep_us = LoopOptions{}.max_sleep_us;  // serve.hpp's defaults
  double stats_every = 0;
  int cpu = -1;
  bool quiet = false, force = false;
  // boot modules (MODULE): specs in order, and the defaults for modules without a manifest
  std::vector<std::string> modules, grant;
  uint64_t seed = 0, max_steps = 0, max_output = 0;
  uint32_t memory_words = 0;
};

Result<std::pair<uint32_t, uint32_t>> parse_window(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos) return failf(Errc::Usage, "--mmio-window '{}': want BASE:SIZE", s);
  try {
    size_t used = 0;
    unsigned long long b = std::stoull(s.substr(0, colon), &used, 0);
    if (used != colon) throw std::invalid_argument("base");
    std::string rest = s.substr(colon + 1);
    unsigned long long z = std::stoull(rest, &used, 0);
    if (used != rest.size()) throw std::invalid_argument("size");
    if (b % 4 || z % 4 || z < 8 || z > (1u << 20) || b + z > (1ull << 32))
      return failf(Errc::Usage, "--mmio-window '{}': base and size 4-byte aligned, size 8 B .. 1 MiB, below 4 GiB", s);
    return std::pair{uint32_t(b), uint32_t(z)};
  } catch (const std::exception&) {
    return failf(Errc::Usage, "--mmio-window '{}': want BASE:SIZE (numbers, 0x allowed)", s);
  }
}

void run(const Opts& o) {
  if (o.file.empty() == o.shm.empty()) throw Failure({Errc::Usage, "mailboxd: give exactly one of --file PATH or --shm NAME"});
  // Locked for as long as `area` lives: a second mailboxd on the same file exits (InUse).
  ServeOptions so{o.size, o.force};
  Area area = must(o.file.empty() ? Area::serve_shm(o.shm, so) : Area::serve_file(o.file, so));
  auto [mb, ms] = must(parse_window(o.mmio));
  ServerConfig cfg;
  cfg.mmio_base = mb;
  cfg.mmio_size = ms;
  int out_fd = 1, in_fd = 0;
  if (!o.uart.empty()) {
    out_fd = ::open(o.uart.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) throw Failure({Errc::Io, fmt::format("--uart {}: {}", o.uart, errno_text(errno))});
  }
  if (!o.uart_in.empty()) {
    in_fd = ::open(o.uart_in.c_str(), O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) throw Failure({Errc::Io, fmt::format("--uart-in {}: {}", o.uart_in, errno_text(errno))});
  }
  cfg.uart_out = out_fd;
  cfg.uart_in = in_fd;
  if (!o.modules.empty()) {
    if (!cli::module_source_factory())
      throw Failure({Errc::Unsupported, "mailboxd --module: this pxos was built without the module loader (hv, asm)"});
    cli::BootDefaults d;
    d.caps = vm::kDefaultCaps |
             must(vm::parse_caps(o.grant, "--grant"));  // pxos run's defaults, plus what is granted
    d.seed = o.seed;
    d.max_steps = o.max_steps;
    d.max_output = o.max_output;
    d.memory_words = o.memory_words;
    if (d.memory_words > vm::kMaxMemoryWords)
      throw Failure({Errc::Usage, fmt::format("--memory-words {}: must be 1..{}", d.memory_words, vm::kMaxMemoryWords)});
    cfg.modules = cli::module_source_factory()(o.modules, d);
  }
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
      throw Failure({Errc::Usage, fmt::format("--cpu {}: cannot pin there", o.cpu)});
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: a futex sleep returns and the loop sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed UART reader is an IO_FAILED reply, not a death

  LoopOptions lo;
  lo.spin_us = o.spin_us;
  lo.max_sleep_us = std::max<uint32_t>(o.max_sleep_us, 1);
  lo.min_sleep_us = std::min<uint32_t>(50, lo.max_sleep_us);
  lo.stats_every_s = o.stats_every;
  lo.check = [&area] { return area.check_size(); };
  BackendRun br{area, cfg, lo, g_stop, o.quiet ? nullptr : stderr};
  std::string what = o.file.empty() ? "shm /" + o.shm : o.file;
  auto announce = [&](Server& s) {
    if (!o.quiet)
      std::fprintf(stderr, "mailboxd: serving %s (size %zu, protocol v%u, backend %s, epoch %u)\n", what.c_str(),
                   area.size(), c::VERSION, o.backend.c_str(), s.epoch());
  };
  must(run_backend(o.backend, br, announce));
  if (out_fd != 1) ::close(out_fd);
}
}  // namespace

namespace {
// `pxos mailbox status`: a snapshot of the header page (read-only use of a client's attach:
// nothing is written, the lock is only queried), as text or JSON.
struct StatusOpts {
  std::string file, shm;
  bool json = false;
};

std::string status_bits(uint32_t v) {
  if (v == 0) return "0 (not started)";
  std::string s;
  auto add = [&](const char* n) { s += s.empty() ? n : std::string("|") + n; };
  if (v & st::ERROR) {
    add("ERROR");
    s += fmt::format(" {}", err_name(v & st::CODE_MASK));
  }
  if (v & st::READY) add("READY");
  if (v & st::BUSY) add("BUSY");
  if (v & st::COMPLETE) add("COMPLETE");
  return fmt::format("0x{:08x} {}", v, s);
}

void status(const StatusOpts& o) {
  if (o.file.empty() == o.shm.empty()) throw Failure({Errc::Usage, "mailbox status: give FILE or --shm NAME"});
  long holder = 0;
  Area area = must(o.file.empty() ? Area::attach_shm(o.shm, &holder) : Area::attach_file(o.file, &holder));
  Header h{};
  {
    os::SigbusTrap trap;  // the file may shrink between the checks and the copy
    if (!os::guard_mapped(area.base(), area.size(), [&] {
          const Header& src = area.header();
#define MB_REG(name, offset, field, writer, doc) h.field = ld_acq(src.field);
#include "mailbox/protocol.def"
        }))
      throw Failure({Errc::MailboxError, fmt::format("{}: the file shrank while being read (SIGBUS)", area.name())});
  }
  uint32_t sq_pending = h.sq_tail - h.sq_head, cq_pending = h.cq_tail - h.cq_head;
  std::string served_by = holder > 0 ? fmt::format("pid {}", holder) : holder < 0 ? "a lock without a pid" : "none";
  if (o.json) {
    nlohmann::ordered_json j;
    j["area"] = area.name();
    j["size"] = area.size();
    j["served_by"] = holder > 0 ? nlohmann::ordered_json(holder) : nlohmann::ordered_json(nullptr);
    nlohmann::ordered_json regs;
#define MB_REG(name, offset, field, writer, doc) regs[#name] = h.field;
#include "mailbox/protocol.def"
    j["registers"] = regs;
    j["status"] = status_bits(h.status);
    j["last_fault"] = std::string(err_name(h.last_fault));
    j["rings"] = {{"sq_pending", sq_pending}, {"cq_pending", cq_pending},
                  {"sq_corrupt", sq_pending > c::RING_ENTRIES}, {"cq_corrupt", cq_pending > c::RING_ENTRIES},
                  {"need_wakeup", (h.ring_flags & flag::NEED_WAKEUP) != 0}};
    std::string t = j.dump(2) + "\n";
    std::fwrite(t.data(), 1, t.size(), stdout);
    return;
  }
  fmt::print("mailbox {}: {} bytes ({} in the data area), protocol v{}, epoch {}, served by {}\n", area.name(),
             area.size(), h.data_size, h.version, h.epoch, served_by);
  fmt::print("status     {}\n", status_bits(h.status));
  fmt::print("v1 slot    CMD 0x{:08x} ({})  ARG0 0x{:08x}  ARG1 0x{:08x}  RESP 0x{:08x}  RESP1 0x{:08x}  DOORBELL {}\n", h.cmd,
             op_name(cmd_opcode(h.cmd)), h.arg0, h.arg1, h.resp, h.resp1, h.doorbell);
  fmt::print("rings      SQ head {} tail {} ({} pending{})  CQ head {} tail {} ({} pending{})  flags 0x{:x}{}  wake {}\n",
             h.sq_head, h.sq_tail, sq_pending, sq_pending > c::RING_ENTRIES ? ", CORRUPT" : "", h.cq_head, h.cq_tail,
             cq_pending, cq_pending > c::RING_ENTRIES ? ", CORRUPT" : "", h.ring_flags,
             h.ring_flags & flag::NEED_WAKEUP ? " (NEED_WAKEUP)" : "", h.wake);
  fmt::print("counters   served {}  faults {}  last fault {} ({})  heartbeat {}\n", h.served, h.faults, h.last_fault,
             err_name(h.last_fault), h.heartbeat);
}
}  // namespace

static pxos::cli::Register reg_status(71, {"mailbox"}, [](CLI::App& app) {
  auto o = std::make_shared<StatusOpts>();
  auto* m = app.add_subcommand("mailbox", "inspect a mailbox area that pxos mailboxd serves");
  m->require_subcommand(1);
  auto* s = m->add_subcommand("status", "print the header, ring indices and counters of a mailbox file (or --shm NAME)");
  s->add_option("file", o->file, "the mailbox file (pxos mailboxd --file FILE)");
  s->add_option("--shm", o->shm, "a POSIX shared memory object instead (pxos mailboxd --shm NAME)");
  s->add_flag("--json", o->json, "one JSON object: every register by its protocol.def name, and the ring state");
  s->callback([o] { status(*o); });
});

static pxos::cli::Register reg(70, {"mailboxd"}, [](CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* s = app.add_subcommand("mailboxd", "serve the mailbox (file for QEMU ivshmem, or POSIX shm): UART, GPU_EXECUTE, MMIO, ALLOC ...");
  s->add_option("--file", o->file, "file to serve (created at --size if missing); QEMU maps it as ivshmem-plain BAR2");
  s->add_option("--shm", o->shm, "POSIX shared memory object name (without '/')");
  s->add_option("--size", o->size, "bytes when creating (default 1048576 = 1 MiB, the minimum)");
  s->add_option("--backend", o->backend, "cpu (default) | webgpu | cuda")->check(CLI::IsMember({"cpu", "webgpu", "cuda"}));
  s->add_option("--uart", o->uart, "UART_WRITE output file (appended; default stdout)");
  s->add_option("--uart-in", o->uart_in, "UART_READ input file (default stdin)");
  s->add_option("--spin-us", o->spin_us, "busy-poll this many µs after the last command before backing off (default 50)");
  s->add_option("--max-sleep-us", o->max_sleep_us, "longest back-off sleep in µs (default 4000)");
  s->add_option("--stats-every", o->stats_every, "print per-opcode counters to stderr every SEC seconds (0: at exit only)")
      ->check(pxos::cli::at_least("--stats-every"));
  s->add_option("--mmio-window", o->mmio, "device window BASE:SIZE for MMIO_READ/WRITE (default 0xFEB00000:0x1000)");
  s->add_option("--cpu", o->cpu, "pin the serving thread to this CPU");
  s->add_flag("--quiet", o->quiet, "no start-up line and no exit statistics");
  s->add_option("--module", o->modules, "boot module for the kernel's MODULE requests, in order: FILE.pxi, FILE.pxasm, a god-pixel key PNG, or ARCHIVE.pxa:ENTRY (repeatable)");
  s->add_option("--grant", o->grant, fmt::format("capability for boot modules without a manifest ({} are granted)", vm::cap_list(vm::kDefaultCaps)));
  s->add_option("--seed", o->seed, "seed of the boot modules' random host calls (default: pxos run's)");
  s->add_option("--max-steps", o->max_steps, "fuel of each boot module without a manifest (0: unlimited)");
  s->add_option("--max-output", o->max_output, "output bytes of each boot module without a manifest (0: unlimited)");
  s->add_option("--memory-words", o->memory_words, "data memory words of each boot module without a manifest (default 1024)");
  s->add_flag("--force", o->force, "serve an existing non-empty file that has no mailbox MAGIC (its bytes are overwritten)");
  s->callback([o] { run(*o); });
});
