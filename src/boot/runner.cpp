// runner.cpp: one `pxos boot`: a fresh shared file, mailboxd on it, QEMU with the kernel and
// the ivshmem device, both outputs streamed line by line, everything stopped at the end (and on
// Ctrl-C or the timeout), the verdict read from QEMU's isa-debug-exit status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <map>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "boot/boot.hpp"
#include "common/fs.hpp"
#include "common/spawn.hpp"

namespace pxos::boot {
namespace {

// ---- tunables ---------------------------------------------------------------------------
constexpr size_t kSharedBytes = 1 << 20;        // the ivshmem file: the protocol's MIN_SIZE
constexpr int kMailboxdGraceMs = 1000;          // after QEMU exits: time to exit on its own
constexpr int kKillGraceMs = 500;               // SIGTERM → SIGKILL
constexpr size_t kMaxCapture = 4 << 20;         // transcript cap (a looping kernel is bounded)
constexpr std::string_view kHello = "Hello from GPU OS!";
constexpr std::string_view kQboot = "qboot.rom";  // -bios NAME: QEMU looks in its data folder

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Ctrl-C / SIGTERM while a boot runs: a self-pipe the poll loop watches.
int g_signal_pipe[2] = {-1, -1};
extern "C" void pxos_boot_on_signal(int) {
  char c = 1;
  if (g_signal_pipe[1] >= 0) (void)!::write(g_signal_pipe[1], &c, 1);
}

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout + stderr, merged
  bool exited = false;
  int status = 0;
};

// Dies with pxos (even a SIGKILLed one), output into one pipe, no stdin.
Result<Child> spawn(const std::vector<std::string>& argv) {
  os::SpawnOptions so;
  so.die_with_parent = true;
  auto c = os::spawn(argv, so);
  if (!c) return std::unexpected(c.error());
  return Child{c->pid, c->out};
}

bool reap(Child& c, bool block) {
  if (c.pid < 0 || c.exited) return true;
  int st = 0;
  pid_t r = ::waitpid(c.pid, &st, block ? 0 : WNOHANG);
  if (r == c.pid) {
    c.exited = true;
    c.status = st;
  }
  return c.exited;
}

// Wait up to ms for the child to exit.
bool wait_ms(Child& c, int ms) {
  auto t0 = Clock::now();
  while (!reap(c, false)) {
    if (ms_since(t0) >= ms) return false;
    ::usleep(2000);
  }
  return true;
}

void stop(Child& c) {
  if (c.pid < 0 || reap(c, false)) return;
  ::kill(c.pid, SIGTERM);
  if (!wait_ms(c, kKillGraceMs)) {
    ::kill(c.pid, SIGKILL);
    reap(c, true);
  }
}

// Splits a stream into lines ('\r' dropped) for the sink and the transcript.
struct LineBuf {
  std::string_view source;
  std::string* capture;
  const Sink* sink;
  std::string partial;
  std::function<void(std::string_view)> on_line;
  void feed(const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      char ch = p[i];
      if (ch == '\r') continue;
      if (ch == '\n') {
        flush();
        continue;
      }
      partial += ch;
      if (partial.size() > 4096) flush();  // no newline for 4 KiB: emit anyway
    }
  }
  void flush() {
    if (capture->size() < kMaxCapture) {
      *capture += partial;
      *capture += '\n';
    }
    if (*sink) (*sink)(source, partial);
    if (on_line) on_line(partial);
    partial.clear();
  }
  void finish() {
    if (!partial.empty()) flush();
  }
};

// Reads what is there; false at EOF.
bool drain(int fd, LineBuf& lb) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      lb.feed(buf, size_t(n));
      if (size_t(n) < sizeof buf) return true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}


std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, size_t(n));
}

struct SignalScope {
  struct sigaction old_int{}, old_term{};
  bool ok = false;
  SignalScope() {
    if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction sa{};
    sa.sa_handler = pxos_boot_on_signal;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int);
    ::sigaction(SIGTERM, &sa, &old_term);
    ok = true;
  }
  ~SignalScope() {
    if (!ok) return;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::close(g_signal_pipe[0]);
    ::close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
  }
};

}  // namespace

std::string_view kernel_exit_text(unsigned value) {
  switch (value) {
#define X(name, v, sym, errc, doc) \
  case v: return doc;
#include "boot/exits.def"
#undef X
  }
  return {};
}

Errc kernel_exit_errc(unsigned value) {
  switch (value) {
#define X(name, v, sym, errc, doc) \
  case v: return Errc::errc;
#include "boot/exits.def"
#undef X
  }
  return Errc::BootError;
}

namespace {
// "module N: text" → N and text; false for other lines.
bool module_line(std::string_view line, size_t prefix_len, unsigned& n, std::string_view& text) {
  line.remove_prefix(prefix_len);
  size_t i = 0;
  n = 0;
  while (i < line.size() && i < 6 && line[i] >= '0' && line[i] <= '9') n = n * 10 + unsigned(line[i++] - '0');
  if (i == 0 || line.substr(i, 2) != ": ") return false;
  text = line.substr(i + 2);
  return true;
}
}  // namespace

std::string Report::verdict() const {
  if (timed_out) return "boot: TIMEOUT: QEMU did not finish in time (killed)";
  if (kernel_exit >= 0) {
    auto t = kernel_exit_text(unsigned(kernel_exit));
    return fmt::format("boot: kernel exit 0x{:02x}: {}", kernel_exit, t.empty() ? "unknown code" : t);
  }
  if (WIFSIGNALED(qemu_status)) return fmt::format("boot: QEMU killed by signal {}", WTERMSIG(qemu_status));
  // QEMU's own error (a bad option, missing firmware) is the last thing it printed.
  std::string_view t = serial;
  while (!t.empty() && t.back() == '\n') t.remove_suffix(1);
  std::string_view last = t.substr(t.rfind('\n') == std::string_view::npos ? 0 : t.rfind('\n') + 1);
  return fmt::format("boot: QEMU exited with status {} without a kernel verdict{}{}", WEXITSTATUS(qemu_status),
                     last.empty() ? "" : ": ", last);
}

std::string default_kernel(bool iso) {
  std::string name = iso ? "pxos-kernel.iso" : "pxos-kernel.elf";
  std::string exe = self_exe();
  if (!exe.empty()) {
    std::string dir = exe.substr(0, exe.rfind('/'));
    std::string cand = dir + "/kernel/" + name;
    if (::access(cand.c_str(), R_OK) == 0) return cand;
  }
#ifdef PXOS_KERNEL_BUILD_DIR
  std::string cand = std::string(PXOS_KERNEL_BUILD_DIR) + "/" + name;
  if (::access(cand.c_str(), R_OK) == 0) return cand;
#endif
  return "";
}

Result<Report> run(const Options& opt, const Sink& sink_in) {
  const TscSample tsc_start = host_tsc_sample();  // the host TSC measuring window opens here
  const auto t_run = Clock::now();
  Sink sink = sink_in;
  const bool modules = !opt.modules.empty();
  if (!sink && !opt.quiet)
    sink = [modules](std::string_view src, std::string_view line) {
      FILE* to = modules && src != "guest" ? stderr : stdout;
      if (src == "serial" || src == "guest")
        std::fprintf(to, "%.*s\n", int(line.size()), line.data());
      else
        std::fprintf(to, "  [%.*s] %.*s\n", int(src.size()), src.data(), int(line.size()), line.data());
      std::fflush(to);
    };

  // ---- what we need on the host ------------------------------------------------------------
  std::string qemu = os::find_program(opt.qemu, os::env_path());
  if (qemu.empty())
    return failf(Errc::Unsupported,
                 "{} not found (PATH): install QEMU's x86 system emulator (Debian/Ubuntu: apt-get install "
                 "qemu-system-x86; Fedora: dnf install qemu-system-x86)",
                 opt.qemu);
  std::string kernel = opt.kernel.empty() ? default_kernel(opt.iso) : opt.kernel;
  if (kernel.empty() || ::access(kernel.c_str(), R_OK) != 0)
    return failf(Errc::NotFound, "{}: kernel image not found{}", kernel.empty() ? (opt.iso ? "pxos-kernel.iso" : "pxos-kernel.elf") : kernel,
                 opt.iso ? " (the ISO needs grub-mkrescue: install grub-pc-bin, xorriso and mtools, then rebuild)"
                         : " (build the pxos_kernel target)");
  std::string machine;
  if (opt.machine == "q35" || opt.machine == "pc")
    machine = opt.machine;
  else if (opt.machine == "microvm")
    machine = "microvm,pcie=on";  // PCIe (ECAM) is off on microvm unless asked for
  else
    return failf(Errc::Usage, "--machine {}: expected q35, pc or microvm", opt.machine);
  if (opt.iso && opt.machine == "microvm")
    return fail(Errc::Usage, "--iso: microvm has no BIOS disk boot; use -kernel (no --iso) there");
  if (opt.firmware != "auto" && opt.firmware != "qboot" && opt.firmware != "qemu")
    return failf(Errc::Usage, "--firmware {}: expected auto, qboot or qemu", opt.firmware);
  if (opt.iso && opt.firmware == "qboot")
    return fail(Errc::Usage, "--iso --firmware qboot: qboot boots no disks; the ISO needs SeaBIOS (--firmware qemu)");
  if (opt.tsc != "auto" && opt.tsc != "pit") return failf(Errc::Usage, "--tsc {}: expected auto or pit", opt.tsc);

  // ---- the shared file -------------------------------------------------------------------------
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/pxos-boot-XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return failf(Errc::Io, "{}: cannot create the shared file: {}", tmpl, errno_text(errno));
  std::string shared(name.data());
  bool ok_size = ::ftruncate(fd, off_t(kSharedBytes)) == 0;
  int trunc_errno = errno;
  ::close(fd);
  struct Unlink {
    std::string path;
    bool keep;
    ~Unlink() {
      if (!keep) ::unlink(path.c_str());
    }
  } unlink_guard{shared, opt.keep};
  if (!ok_size) return failf(Errc::Io, "{}: cannot size the shared file: {}", shared, errno_text(trunc_errno));

  // With modules, mailboxd's UART output comes through a FIFO of its own, apart from its log.
  std::string uart_fifo;
  int uart_fd = -1;
  struct CloseFifo {
    std::string& path;
    int& fd;
    ~CloseFifo() {
      if (fd >= 0) ::close(fd);
      if (!path.empty()) ::unlink(path.c_str());
    }
  } fifo_guard{uart_fifo, uart_fd};
  if (modules) {
    uart_fifo = shared + ".uart";
    if (::mkfifo(uart_fifo.c_str(), 0600) != 0) {
      int e = errno;
      uart_fifo.clear();
      return failf(Errc::Io, "{}.uart: cannot create the UART FIFO: {}", shared, errno_text(e));
    }
    uart_fd = ::open(uart_fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // before mailboxd opens it to write
    if (uart_fd < 0) return failf(Errc::Io, "{}: cannot open the UART FIFO: {}", uart_fifo, errno_text(errno));
  }

  SignalScope signals;
  Report rep;
  rep.shared_file = shared;
  Child mb, qm;
  struct StopAll {
    Child& a;
    Child& b;
    ~StopAll() {
      stop(b);
      stop(a);
      if (a.out >= 0) ::close(a.out);
      if (b.out >= 0) ::close(b.out);
    }
  } stop_all{mb, qm};

  // ---- mailboxd ------------------------------------------------------------------------------
  if (!opt.no_mailboxd) {
    std::vector<std::string> argv;
    if (!opt.mailboxd_cmd.empty()) {
      for (auto a : opt.mailboxd_cmd) {
        if (auto p = a.find("{file}"); p != std::string::npos) a.replace(p, 6, shared);
        argv.push_back(a);
      }
    } else {
      std::string exe = self_exe();
      if (exe.empty()) return fail(Errc::Io, "/proc/self/exe: cannot find the pxos binary for mailboxd");
      argv = {exe, "mailboxd", "--file", shared};
    }
    if (modules && opt.mailboxd_cmd.empty()) {
      argv.insert(argv.end(), {"--uart", uart_fifo});
      for (const auto& m : opt.modules) argv.insert(argv.end(), {"--module", m});
      for (const auto& g : opt.grant) argv.insert(argv.end(), {"--grant", g});
      if (opt.seed) argv.insert(argv.end(), {"--seed", std::to_string(opt.seed)});
      if (opt.max_steps) argv.insert(argv.end(), {"--max-steps", std::to_string(opt.max_steps)});
      if (opt.max_output) argv.insert(argv.end(), {"--max-output", std::to_string(opt.max_output)});
      if (opt.memory_words) argv.insert(argv.end(), {"--memory-words", std::to_string(opt.memory_words)});
      if (!opt.backend.empty()) argv.insert(argv.end(), {"--backend", opt.backend});
    }
    auto c = spawn(argv);
    if (!c) return std::unexpected(c.error());
    mb = *c;
  }

  // ---- QEMU ----------------------------------------------------------------------------------
  std::vector<std::string> qa = {qemu, "-M", machine, "-m", "128M", "-display", "none", "-monitor", "none",
                                 "-serial", "stdio", "-no-reboot", "-nic", "none",
                                 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"};
  // qboot (QEMU's microvm firmware, found in QEMU's own data folder) boots -kernel on q35/pc
  // too, in a fraction of SeaBIOS's time under TCG; the ISO needs SeaBIOS's disk boot.
  if (opt.firmware == "qboot" || (opt.firmware == "auto" && !opt.iso)) qa.insert(qa.end(), {"-bios", std::string(kQboot)});
  // No default devices (q35/pc: the VGA card and its option ROM, the CD drive, floppy,
  // parallel port): the kernel uses none of them and each costs start-up time.
  if (!opt.qemu_defaults) qa.push_back("-nodefaults");
  bool kvm = opt.accel == "kvm" || (opt.accel == "auto" && ::access("/dev/kvm", R_OK | W_OK) == 0);
  if (opt.accel != "auto" && opt.accel != "kvm" && opt.accel != "tcg")
    return failf(Errc::Usage, "--accel {}: expected auto, kvm or tcg", opt.accel);
  if (kvm) {
    // invtsc + vmware-cpuid-freq: KVM publishes the guest's TSC rate in CPUID 0x40000010 (when
    // the host's TSC is invariant), so the kernel skips the PIT there too; --tsc pit: plain host.
    qa.insert(qa.end(), {"-accel", "kvm", "-cpu", opt.tsc == "auto" ? "host,+invtsc,+vmware-cpuid-freq" : "host"});
  } else {
    qa.insert(qa.end(), {"-accel", "tcg"});
  }
  if (opt.iso) {
    qa.insert(qa.end(), {"-cdrom", kernel, "-boot", "d"});
  } else {
    qa.insert(qa.end(), {"-kernel", kernel});
    std::string append = opt.append;
    if (modules) append += std::string(append.empty() ? "" : " ") + "modules";
    if (!opt.probe.empty()) append += " guestprobe=" + opt.probe;
    // TCG's guest TSC is the host's: its rate spares the kernel the PIT calibration. A
    // tsc_khz= of the caller's own wins. Not under KVM, which may scale the guest's TSC: there
    // KVM itself publishes the rate (-cpu above).
    if (!kvm && opt.tsc == "auto" && append.find("tsc_khz=") == std::string::npos) {
      rep.host_tsc_khz = host_tsc_khz(tsc_start, &rep.host_tsc_source);
      if (rep.host_tsc_khz) append += fmt::format("{}tsc_khz={}", append.empty() ? "" : " ", rep.host_tsc_khz);
    }
    if (!append.empty()) qa.insert(qa.end(), {"-append", append});
  }
  if (!opt.no_ivshmem)
    qa.insert(qa.end(), {"-object", "memory-backend-file,id=mb,share=on,mem-path=" + shared + ",size=1M",
                         "-device", "ivshmem-plain,memdev=mb"});
  auto t0 = Clock::now();
  rep.prelaunch_ms = std::chrono::duration<double, std::milli>(t0 - t_run).count();
  {
    auto c = spawn(qa);
    if (!c) return std::unexpected(c.error());
    qm = *c;
  }

  // ---- stream until QEMU is done -------------------------------------------------------------
  LineBuf serial{"serial", &rep.serial, &sink};
  LineBuf mbout{"mailboxd", &rep.mailboxd_out, &sink};
  LineBuf guest{"guest", &rep.guest_out, &sink};
  std::map<unsigned, std::string> refused;  // mailboxd's own line per module it could not serve
  // The kernel's "module N: FAIL ..." lines, worded once both streams are drained: mailboxd's
  // line for the same module comes through another pipe and may be read after the kernel's.
  std::vector<std::pair<unsigned, std::string>> kernel_failures;
  auto spec_of = [&](unsigned n) { return n < opt.modules.size() ? opt.modules[n] : std::string("?"); };
  mbout.on_line = [&](std::string_view line) {
    if (rep.hello_ms < 0 && line.find(kHello) != std::string_view::npos) rep.hello_ms = ms_since(t0);
    unsigned n;
    std::string_view text;
    if (line.starts_with("mailboxd: module ") && module_line(line, 17, n, text)) refused[n] = std::string(text);
  };
  serial.on_line = [&](std::string_view line) {
    if (rep.first_module_ms < 0 && line == "modules: first module instruction") rep.first_module_ms = ms_since(t0);
    unsigned n;
    std::string_view text;
    if (!line.starts_with("module ") || !module_line(line, 7, n, text)) return;
    if (text.starts_with("halted") || text.starts_with("stat ")) return;
    kernel_failures.emplace_back(n, std::string(text));
  };
  bool qm_open = true, mb_open = mb.out >= 0, interrupted = false;
  while (qm_open) {
    double left_ms = opt.timeout_s * 1000 - ms_since(t0);
    if (left_ms <= 0) {
      rep.timed_out = true;
      break;
    }
    std::array<pollfd, 4> fds{};
    nfds_t n = 0;
    fds[n++] = {qm.out, POLLIN, 0};
    if (mb_open) fds[n++] = {mb.out, POLLIN, 0};
    if (uart_fd >= 0) fds[n++] = {uart_fd, POLLIN, 0};
    if (signals.ok) fds[n++] = {g_signal_pipe[0], POLLIN, 0};
    int r = ::poll(fds.data(), n, int(left_ms) + 1);
    if (r < 0 && errno != EINTR) return failf(Errc::Io, "poll: {}", errno_text(errno));
    for (nfds_t i = 0; r > 0 && i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (fds[i].fd == qm.out) {
        qm_open = drain(qm.out, serial);
      } else if (mb_open && fds[i].fd == mb.out) {
        mb_open = drain(mb.out, mbout);
      } else if (uart_fd >= 0 && fds[i].fd == uart_fd) {
        // EOF before mailboxd opened it (or after it closed it) is not the end: keep polling
        // only while there is data (POLLHUP with no writer would spin).
        if (!drain(uart_fd, guest) || (fds[i].revents & POLLHUP)) {
          ::close(uart_fd);
          uart_fd = -1;
        }
      } else {
        interrupted = true;
      }
    }
    if (interrupted) break;
  }
  serial.finish();
  if (rep.timed_out || interrupted) {
    stop(qm);
  } else {
    reap(qm, true);
  }
  rep.total_ms = ms_since(t0);

  // mailboxd: the kernel sends HALT at the end of a good run; otherwise it is stopped.
  if (mb.pid >= 0) {
    if (!wait_ms(mb, rep.timed_out || interrupted ? 0 : kMailboxdGraceMs)) stop(mb);
    while (mb_open) mb_open = drain(mb.out, mbout);
    mbout.finish();
  }
  if (uart_fd >= 0) {
    drain(uart_fd, guest);
    ::close(uart_fd);
    uart_fd = -1;
  }
  guest.finish();
  for (const auto& [n, text] : kernel_failures) {
    std::string what = text.starts_with("FAIL: ") && refused.count(n) ? refused[n] : text;
    rep.module_failures.push_back(fmt::format("module {} ({}): {}", n, spec_of(n), what));
  }
  if (interrupted) return fail(Errc::BootError, "interrupted: QEMU and mailboxd stopped");

  rep.qemu_status = qm.status;
  if (!rep.timed_out && WIFEXITED(qm.status)) {
    int code = WEXITSTATUS(qm.status);
    // isa-debug-exit: (v << 1) | 1. The kernel never writes 0, so 1 is QEMU's own failure.
    if ((code & 1) && code != 1) rep.kernel_exit = code >> 1;
  }
  rep.passed = rep.kernel_exit == int(KernelExit::Pass);
  rep.stats = parse_stats(rep.serial);
  if (opt.keep) {
    auto st = write_file_atomic(shared + ".serial.txt", rep.serial);
    if (!st) return std::unexpected(st.error());
  }
  return rep;
}

}  // namespace pxos::boot
