// process.cpp: fork + execve with a pipe, process groups, poll with a deadline, SIGTERM then
// SIGKILL, head+tail output capping, and the PATH lookup.
#include "common/process.hpp"

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
using Clock = std::chrono::steady_clock;

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

bool executable(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

void signal_child(const Child& c, int sig) { ::kill(c.own_group ? -c.pid : c.pid, sig); }
}  // namespace

std::string RunResult::summary() const {
  if (timed_out) return fmt::format("timed out after {:.1f} s (process group killed)", seconds);
  if (signal) return fmt::format("killed by signal {}", signal);
  return fmt::format("exit {}", exit_code);
}

std::string find_program(const std::string& program, const std::string& path_var) {
  if (program.find('/') != std::string::npos) return executable(program) ? program : std::string();
  size_t i = 0;
  while (i <= path_var.size()) {
    size_t j = path_var.find(':', i);
    if (j == std::string::npos) j = path_var.size();
    std::string dir = path_var.substr(i, j - i);
    if (!dir.empty() && dir.front() == '/' && executable(dir + "/" + program)) return dir + "/" + program;
    i = j + 1;
  }
  return {};
}

std::string inherited_path() {
  const char* p = std::getenv("PATH");
  return p && *p ? std::string(p) : std::string(kDefaultPath);
}

Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    return fail(Errc::Internal, "spawn: argv[0] must be an absolute path (see find_program)");
  // Everything the child needs is built before fork: no allocation after it.
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  if (o.env) {
    for (auto& e : *o.env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
  }
  char** envp = o.env ? cenv.data() : environ;
  const char* cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();
  int out[2], errp[2];  // errp reports an exec failure (errno) to the parent
  if (::pipe2(out, O_CLOEXEC) != 0) return failf(Errc::Io, "pipe: {}", errno_text(errno));
  if (::pipe2(errp, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    return failf(Errc::Io, "pipe: {}", errno_text(e));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {out[0], out[1], errp[0], errp[1]}) ::close(fd);
    return failf(Errc::Io, "fork: {}", errno_text(e));
  }
  if (pid == 0) {
    if (o.own_group) ::setpgid(0, 0);
    if (o.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGQUIT}) ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct rlimit core{0, 0};
    ::setrlimit(RLIMIT_CORE, &core);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    int err = 0;
    if (cwd && ::chdir(cwd) != 0) err = errno;
    else {
      ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
      ::execve(cargv[0], cargv.data(), envp);
      err = errno;
    }
    (void)write_all(errp[1], &err, sizeof err);
    ::_exit(127);
  }
  if (o.own_group) ::setpgid(pid, pid);  // also from the parent: no window without the group
  ::close(out[1]);
  ::close(errp[1]);
  int exec_err = 0;
  ssize_t en = read_full(errp[0], &exec_err, sizeof exec_err);  // EOF on a successful exec
  ::close(errp[0]);
  Child c{pid, out[0], o.own_group};
  if (en == ssize_t(sizeof exec_err) && exec_err != 0) {
    reap(c, true);
    ::close(c.out);
    return failf(Errc::Io, "cannot run {}: {}", argv[0], errno_text(exec_err));
  }
  return c;
}

bool reap(Child& c, bool block) {
  if (c.pid < 0 || c.exited) return true;
  int st = 0;
  pid_t r;
  do r = ::waitpid(c.pid, &st, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == c.pid) {
    c.exited = true;
    c.status = st;
  }
  return c.exited;
}

void stop(Child& c) {
  if (c.pid < 0) return;
  if (!reap(c, false)) {
    signal_child(c, SIGTERM);
    auto grace = Clock::now() + std::chrono::milliseconds(kKillGraceMs);
    while (!reap(c, false) && Clock::now() < grace) ::usleep(5000);
  }
  if (c.own_group) ::kill(-c.pid, SIGKILL);  // whatever is left of the group (grandchildren)
  else if (!c.exited) ::kill(c.pid, SIGKILL);
  reap(c, true);
}

Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& opt) {
  auto t0 = Clock::now();
  auto ch = spawn(argv, SpawnOptions{.cwd = opt.cwd.empty() ? std::string("/") : opt.cwd, .env = opt.env});
  if (!ch) return std::unexpected(ch.error());
  Child& c = *ch;
  RunResult r;
  Capture cap{opt.output_cap};
  auto deadline = t0 + std::chrono::milliseconds(opt.timeout_ms);
  bool pipe_open = true;
  char buf[16384];
  while (true) {
    reap(c, false);
    // The child exited: drain what is buffered, then stop even if a grandchild keeps the pipe.
    if (c.exited && !pipe_open) break;
    auto now = Clock::now();
    if (now >= deadline) {
      r.timed_out = !c.exited;
      break;
    }
    int wait_ms = c.exited ? 0
                           : int(std::min<long long>(
                                 50, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1));
    struct pollfd p{c.out, POLLIN, 0};
    int n = pipe_open ? ::poll(&p, 1, wait_ms) : (::usleep(20000), 0);
    if (n > 0) {
      ssize_t got = read_some(c.out, buf, sizeof buf);
      if (got > 0) cap.add(buf, size_t(got));
      else if (got == 0 || errno != EAGAIN) pipe_open = false;
    } else if (c.exited) {
      break;  // nothing buffered right now: a lingering grandchild is not waited for
    }
  }
  stop(c);
  ::close(c.out);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (WIFEXITED(c.status)) r.exit_code = WEXITSTATUS(c.status);
  else if (WIFSIGNALED(c.status)) r.signal = WTERMSIG(c.status);
  r.output = cap.text();
  r.dropped = cap.dropped;
  return r;
}

}  // namespace pxos::os
