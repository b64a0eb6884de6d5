// spawn.cpp: fork + execve with an errno pipe (an exec failure reaches the parent as an Error),
// and run_capture's poll loop with a deadline, group kill and head+tail output capping.
#include "common/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "common/fs.hpp"
#include "common/os.hpp"

extern char** environ;

namespace pxos::os {
namespace {
// ---- tunables ---------------------------------------------------------------------------
constexpr int kKillGraceMs = 500;   // SIGTERM to SIGKILL of a group that outlives its deadline
constexpr int kPollSliceMs = 50;    // how often run_capture looks at the child between reads

using Clock = std::chrono::steady_clock;

bool executable(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

void close_pair(int p[2]) {
  ::close(p[0]);
  ::close(p[1]);
}

// Keeps the first half of the cap and a rolling last half.
struct Capture {
  size_t cap;
  std::string head, tail;
  size_t dropped = 0;
  void add(const char* p, size_t n) {
    size_t h = std::min(n, cap / 2 - std::min(cap / 2, head.size()));
    head.append(p, h);
    p += h;
    n -= h;
    if (!n) return;
    tail.append(p, n);
    size_t keep = cap - cap / 2;
    if (tail.size() > keep) {
      dropped += tail.size() - keep;
      tail.erase(0, tail.size() - keep);
    }
  }
  std::string text() const {
    if (!dropped) return head + tail;
    return head + fmt::format("\n[... {} bytes cut ...]\n", dropped) + tail;
  }
};
}  // namespace

std::string find_program(std::string_view program, std::string_view path_var) {
  if (program.empty()) return {};
  if (program.find('/') != std::string_view::npos) {
    std::string p(program);
    return executable(p) ? p : std::string();
  }
  size_t i = 0;
  while (i <= path_var.size()) {
    size_t j = path_var.find(':', i);
    if (j == std::string_view::npos) j = path_var.size();
    std::string_view dir = path_var.substr(i, j - i);
    if (!dir.empty() && dir.front() == '/') {
      std::string cand = fmt::format("{}/{}", dir, program);
      if (executable(cand)) return cand;
    }
    i = j + 1;
  }
  return {};
}

std::string_view env_path() {
  const char* p = std::getenv("PATH");
  return p ? std::string_view(p) : kDefaultPath;
}

Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& opt) {
  if (argv.empty() || argv[0].empty()) return fail(Errc::Internal, "spawn: empty argv");
  std::string_view path = env_path();
  if (opt.env) {
    path = kDefaultPath;
    for (auto& e : *opt.env)
      if (e.starts_with("PATH=")) path = std::string_view(e).substr(5);
  }
  std::string exe = find_program(argv[0], path);
  if (exe.empty()) return failf(Errc::NotFound, "cannot run {}: not found on PATH or not executable", argv[0]);
  if (inject(Op::Spawn)) return failf(Errc::Io, "cannot run {}: {}", argv[0], errno_text(errno));

  // Everything the child needs is built before fork: no allocation after it.
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv[0] = exe.data();
  cargv.push_back(nullptr);
  if (opt.env) {
    for (auto& e : *opt.env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
  }
  char* const* envp = opt.env ? cenv.data() : environ;
  const char* cwd = opt.cwd.empty() ? nullptr : opt.cwd.c_str();

  int out[2] = {-1, -1};
  if (opt.capture && ::pipe2(out, O_CLOEXEC) != 0) return failf(Errc::Io, "pipe: {}", errno_text(errno));
  int errpipe[2];  // the child writes its errno here when exec fails; EOF means it ran
  if (::pipe2(errpipe, O_CLOEXEC) != 0) {
    int e = errno;
    if (opt.capture) close_pair(out);
    return failf(Errc::Io, "pipe: {}", errno_text(e));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    if (opt.capture) close_pair(out);
    close_pair(errpipe);
    return failf(Errc::Io, "cannot run {}: fork: {}", argv[0], errno_text(e));
  }
  if (pid == 0) {
    if (opt.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // pxos died before prctl took effect
    }
    if (opt.own_group) ::setpgid(0, 0);
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGQUIT, SIGBUS}) ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (opt.no_core) {
      struct rlimit core{0, 0};
      ::setrlimit(RLIMIT_CORE, &core);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (opt.capture) {
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
    }
    int err = 0;
    if (cwd && ::chdir(cwd) != 0) {
      err = errno;
    } else {
      ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
      ::execve(cargv[0], cargv.data(), envp);
      err = errno;
    }
    (void)!::write(errpipe[1], &err, sizeof err);
    ::_exit(127);
  }
  if (opt.own_group) ::setpgid(pid, pid);  // from the parent too: no window without the group
  if (opt.capture) ::close(out[1]);
  ::close(errpipe[1]);
  int exec_err = 0;
  ssize_t en;
  do en = ::read(errpipe[0], &exec_err, sizeof exec_err);  // EOF once exec succeeded
  while (en < 0 && errno == EINTR);
  ::close(errpipe[0]);
  if (en == sizeof exec_err && exec_err != 0) {
    ::waitpid(pid, nullptr, 0);
    if (opt.capture) ::close(out[0]);
    if (cwd && ::access(cwd, X_OK) != 0)
      return failf(Errc::Io, "cannot run {} in {}: {}", argv[0], opt.cwd, errno_text(exec_err));
    return failf(Errc::Io, "cannot run {}: {}", exe, errno_text(exec_err));
  }
  return Child{pid, opt.capture ? out[0] : -1};
}

std::string RunResult::summary() const {
  if (timed_out) return fmt::format("timed out after {:.1f} s (process group killed)", seconds);
  if (signal) return fmt::format("killed by signal {}", signal);
  return fmt::format("exit {}", exit_code);
}

Result<RunResult> run_capture(const std::vector<std::string>& argv, const RunOptions& opt) {
  SpawnOptions so;
  so.cwd = opt.cwd.empty() ? "/" : opt.cwd;
  so.env = &opt.env;
  so.own_group = true;
  so.no_core = true;
  auto t0 = Clock::now();
  auto child = spawn(argv, so);
  if (!child) return std::unexpected(child.error());
  const pid_t pid = child->pid;
  const int fd = child->out;

  RunResult r;
  Capture cap{opt.output_cap};
  auto deadline = t0 + std::chrono::milliseconds(opt.timeout_ms);
  bool pipe_open = true, exited = false;
  int status = 0;
  char buf[16384];
  while (true) {
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) exited = true;
    // The child exited: drain what is buffered, then stop even if a grandchild keeps the pipe.
    if (exited && !pipe_open) break;
    auto now = Clock::now();
    if (now >= deadline) {
      r.timed_out = !exited;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    int wait_ms = exited ? 0 : int(std::min<long long>(kPollSliceMs, left));
    struct pollfd p{fd, POLLIN, 0};
    int n = pipe_open ? ::poll(&p, 1, wait_ms) : (::usleep(20000), 0);
    if (n > 0) {
      ssize_t got = read_some(fd, buf, sizeof buf);
      if (got > 0) cap.add(buf, size_t(got));
      else if (got == 0 || errno != EAGAIN) pipe_open = false;
    } else if (exited) {
      break;  // nothing buffered right now: a lingering grandchild is not waited for
    }
  }
  // Whatever is left of the group (grandchildren, or the child itself on timeout) goes.
  ::kill(-pid, SIGTERM);
  if (!exited) {
    auto grace = Clock::now() + std::chrono::milliseconds(kKillGraceMs);
    while (Clock::now() < grace) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      ::usleep(10000);
    }
  }
  ::kill(-pid, SIGKILL);
  if (!exited) ::waitpid(pid, &status, 0);
  ::close(fd);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.output = cap.text();
  r.dropped = cap.dropped;
  return r;
}

Result<int> run_inherit(const std::vector<std::string>& argv) {
  SpawnOptions so;
  so.capture = false;
  auto child = spawn(argv, so);
  if (!child) return std::unexpected(child.error());
  int st = 0;
  while (::waitpid(child->pid, &st, 0) < 0)
    if (errno != EINTR) return failf(Errc::Io, "waitpid {}: {}", argv[0], errno_text(errno));
  return st;
}

}  // namespace pxos::os
