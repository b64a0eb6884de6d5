// runner.cpp: fork + execve with a pipe, poll with a deadline, SIGTERM then SIGKILL to the
// whole process group, head+tail output capping.
#include "architect/runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "architect/config.hpp"
#include "common/fs.hpp"

namespace pxos::architect {
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
}  // namespace

std::string RunResult::summary() const {
  if (timed_out) return fmt::format("timed out after {:.1f} s (process group killed)", seconds);
  if (signal) return fmt::format("killed by signal {}", signal);
  return fmt::format("exit {}", exit_code);
}

std::string find_program(const std::string& program, const std::string& path_var) {
  auto executable = [](const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
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

Result<RunResult> run_argv(const std::vector<std::string>& argv, const RunOptions& opt) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    return fail(Errc::Internal, "run_argv: argv[0] must be an absolute path");
  // Everything the child needs is built before fork: no allocation after it.
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : opt.env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return failf(Errc::Io, "pipe: {}", errno_text(errno));
  int errpipe[2];  // reports an exec failure (errno) to the parent
  if (::pipe2(errpipe, O_CLOEXEC) != 0) {
    ::close(pipefd[0]); ::close(pipefd[1]);
    return failf(Errc::Io, "pipe: {}", errno_text(errno));
  }
  const char* cwd = opt.cwd.empty() ? "/" : opt.cwd.c_str();
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(pipefd[0]); ::close(pipefd[1]); ::close(errpipe[0]); ::close(errpipe[1]);
    return failf(Errc::Io, "fork: {}", errno_text(e));
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // own group: a timeout kills it and every grandchild
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGQUIT}) ::sigaction(s, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct rlimit core{0, 0};
    ::setrlimit(RLIMIT_CORE, &core);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) { ::dup2(devnull, 0); }
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    int err = 0;
    if (::chdir(cwd) != 0) err = errno;
    else {
      ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
      ::execve(cargv[0], cargv.data(), cenv.data());
      err = errno;
    }
    ssize_t w = ::write(errpipe[1], &err, sizeof err);
    (void)w;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent: no window where the group does not exist
  ::close(pipefd[1]);
  ::close(errpipe[1]);
  int exec_err = 0;
  ssize_t en = ::read(errpipe[0], &exec_err, sizeof exec_err);  // EOF on successful exec
  ::close(errpipe[0]);

  RunResult r;
  Capture cap{opt.output_cap};
  auto deadline = t0 + std::chrono::milliseconds(opt.timeout_ms);
  bool pipe_open = true, exited = false;
  int status = 0;
  char buf[16384];
  while (true) {
    if (!exited) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) exited = true;
    }
    // The child exited: drain what is buffered, then stop even if a grandchild keeps the pipe.
    if (exited && !pipe_open) break;
    auto now = Clock::now();
    if (now >= deadline) {
      r.timed_out = !exited;
      break;
    }
    int wait_ms = exited ? 0 : int(std::min<long long>(50, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1));
    struct pollfd p{pipefd[0], POLLIN, 0};
    int n = pipe_open ? ::poll(&p, 1, wait_ms) : (::usleep(20000), 0);
    if (n > 0) {
      ssize_t got = ::read(pipefd[0], buf, sizeof buf);
      if (got > 0) cap.add(buf, size_t(got));
      else if (got == 0 || (errno != EINTR && errno != EAGAIN)) pipe_open = false;
    } else if (exited) {
      break;  // nothing buffered right now: a lingering grandchild is not waited for
    }
  }
  // Whatever is left of the group (grandchildren, or the child itself on timeout) goes.
  ::kill(-pid, SIGTERM);
  if (!exited) {
    auto grace = Clock::now() + std::chrono::milliseconds(tun::kKillGraceMs);
    while (Clock::now() < grace) {
      if (::waitpid(pid, &status, WNOHANG) == pid) { exited = true; break; }
      ::usleep(10000);
    }
  }
  ::kill(-pid, SIGKILL);
  if (!exited) ::waitpid(pid, &status, 0);
  ::close(pipefd[0]);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (en == sizeof exec_err && exec_err != 0)
    return failf(Errc::Io, "cannot run {}: {}", argv[0], errno_text(exec_err));
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.output = cap.text();
  r.dropped = cap.dropped;
  return r;
}

}  // namespace pxos::architect
