// os.cpp: the file half of the OS layer: fault hook, EINTR loops, input opener, atomic publish.
#include "common/os.hpp"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>

#include "common/fs.hpp"

namespace pxos::os {
namespace {

constexpr const char* kFaultEnv = "PXOS_FAULT";  // "op:N" — see faults.def
constexpr size_t kOps = 0
#define X(name, text) +1
#include "common/faults.def"
#undef X
    ;
constexpr std::array<std::string_view, kOps> kOpNames = {
#define X(name, text) text,
#include "common/faults.def"
#undef X
};

struct FaultState {
  std::array<std::atomic<uint64_t>, kOps> armed{};  // call number that fails; 0 = none
  std::array<std::atomic<uint64_t>, kOps> calls{};
};
FaultState& faults() {
  static FaultState s;
  static std::once_flag env_once;
  std::call_once(env_once, [] {
    const char* v = std::getenv(kFaultEnv);
    if (!v) return;
    std::string_view spec(v);
    size_t colon = spec.find(':');
    if (colon == std::string_view::npos) return;
    for (size_t i = 0; i < kOps; ++i)
      if (kOpNames[i] == spec.substr(0, colon)) s.armed[i] = std::strtoull(v + colon + 1, nullptr, 10);
  });
  return s;
}

std::string dir_of(const std::string& path) {
  std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symbolic link";
  return "not a regular file";
}

// Writes into an existing FIFO or character device, as cp and zstd do.
Result<Published> stream_into(const std::string& path, ByteView data, Errc kind) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return failf(kind, "{}: cannot open for writing: {}", path, errno_text(errno));
  int e = write_all(fd, data.data(), data.size());
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e) return failf(e == EPIPE ? Errc::PipeClosed : kind, "{}: write failed: {}", path, errno_text(e));
  return Published::Streamed;
}

}  // namespace

void set_fault(Op op, uint64_t n) {
  auto& s = faults();
  s.calls[size_t(op)] = 0;
  s.armed[size_t(op)] = n;
}

bool inject(Op op) {
  auto& s = faults();
  uint64_t want = s.armed[size_t(op)].load(std::memory_order_relaxed);
  if (want == 0) return false;
  if (s.calls[size_t(op)].fetch_add(1) + 1 != want) return false;
  errno = EIO;
  return true;
}

namespace {
// The one EINTR-safe write loop. `hooked`: the fault hook may fail it (file outputs); the stdio
// stream over stdout is not hooked, so PXOS_FAULT=write:N counts the writes of outputs only and
// a test's N does not shift with what a command happens to print.
int write_loop(int fd, const void* p, size_t n, bool hooked) {
  auto* b = static_cast<const uint8_t*>(p);
  while (n) {
    if (hooked && inject(Op::Write)) return EIO;
    ssize_t w = ::write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    b += w;
    n -= size_t(w);
  }
  return 0;
}
}  // namespace

int write_all(int fd, const void* p, size_t n) { return write_loop(fd, p, n, true); }

ssize_t read_some(int fd, void* p, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd, p, n);
    if (r >= 0 || errno != EINTR) return r;
  }
}

ssize_t read_full(int fd, void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  size_t got = 0;
  while (got < n) {
    ssize_t r = read_some(fd, b + got, n - got);
    if (r < 0) return -1;
    if (r == 0) break;
    got += size_t(r);
  }
  return ssize_t(got);
}

int fsync_fd(int fd) {
  if (inject(Op::Fsync)) return EIO;
  return ::fsync(fd) == 0 ? 0 : errno;
}

int fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int e = fsync_fd(fd);
  ::close(fd);
  return e;
}

Result<int> open_input(const std::string& path, const InputOptions& o) {
  if (inject(Op::Open)) return failf(o.kind, "{}: cannot open: {}", path, errno_text(EIO));
  int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (o.no_follow ? O_NOFOLLOW : 0);
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    int e = errno;
    if (o.open_errno) *o.open_errno = e;
    return failf(o.kind, "{}: cannot open: {}", path, errno_text(e));
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return failf(o.kind, "{}: cannot stat: {}", path, errno_text(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return failf(o.kind, "{}: is {}, not a regular file", path, kind_of(st.st_mode));
  }
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    int e = errno;
    ::close(fd);
    return failf(o.kind, "{}: fcntl failed: {}", path, errno_text(e));
  }
  return fd;
}

Result<int> open_shared(const std::string& path, int mode, Errc kind) {
  if (inject(Op::Open)) return failf(kind, "{}: cannot open: {}", path, errno_text(EIO));
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode_t(mode));
  if (fd < 0) {
    int e = errno;
    // O_RDWR on a directory fails before fstat could tell: name it like the other kinds.
    if (e == EISDIR) return failf(kind, "{}: is a directory, not a regular file", path);
    return failf(kind, "{}: cannot open: {}", path, errno_text(e));
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return failf(kind, "{}: cannot stat: {}", path, errno_text(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return failf(kind, "{}: is {}, not a regular file", path, kind_of(st.st_mode));
  }
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    int e = errno;
    ::close(fd);
    return failf(kind, "{}: fcntl failed: {}", path, errno_text(e));
  }
  return fd;
}

Result<pid_t> lock_or_holder(int fd, const std::string& what, Errc kind) {
  // The holder may unlock between our failed F_SETLK and F_GETLK: then try again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    struct flock fl{};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (::fcntl(fd, F_SETLK, &fl) == 0) return pid_t(0);
    if (errno != EAGAIN && errno != EACCES) return failf(kind, "{}: cannot lock: {}", what, errno_text(errno));
    struct flock q{};
    q.l_type = F_WRLCK;
    q.l_whence = SEEK_SET;
    q.l_start = 0;
    q.l_len = 1;
    if (::fcntl(fd, F_GETLK, &q) != 0) return failf(kind, "{}: cannot query its lock: {}", what, errno_text(errno));
    if (q.l_type != F_UNLCK) return q.l_pid > 0 ? q.l_pid : pid_t(-1);  // -1: an OFD lock (no pid)
  }
  return failf(kind, "{}: its lock keeps changing hands", what);
}

// ---- SIGBUS on shared mappings -----------------------------------------------------------
namespace {
// Read by the signal handler: plain thread-locals in the initial-exec model, so reading them
// there never allocates (async-signal-safe).
#define PXOS_TLS thread_local __attribute__((tls_model("initial-exec")))
PXOS_TLS sigjmp_buf* tl_env = nullptr;
PXOS_TLS uintptr_t tl_lo = 0;
PXOS_TLS uintptr_t tl_hi = 0;
#undef PXOS_TLS
std::mutex g_trap_mu;
int g_trap_users = 0;
struct sigaction g_prev_bus{};

extern "C" void on_sigbus(int sig, siginfo_t* si, void*) {
  uintptr_t a = reinterpret_cast<uintptr_t>(si->si_addr);
  if (tl_env && si->si_code > 0 && a >= tl_lo && a < tl_hi) siglongjmp(*tl_env, 1);
  // Not a guarded access: hand it to the previous disposition. Returning re-runs the faulting
  // access, which faults again there; a SIGBUS sent by kill() would not recur, so re-raise it.
  ::sigaction(sig, &g_prev_bus, nullptr);
  if (si->si_code <= 0) ::raise(sig);
}
}  // namespace

SigbusTrap::SigbusTrap() {
  std::lock_guard lk(g_trap_mu);
  if (g_trap_users++ > 0) return;
  struct sigaction sa{};
  sa.sa_sigaction = on_sigbus;
  // SA_NODEFER: siglongjmp leaves the handler without restoring a signal mask (sigsetjmp with
  // savemask 0 costs no syscall per guarded call), so SIGBUS must not be blocked inside it.
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_prev_bus);
}

SigbusTrap::~SigbusTrap() {
  std::lock_guard lk(g_trap_mu);
  if (--g_trap_users == 0) ::sigaction(SIGBUS, &g_prev_bus, nullptr);
}

bool guard_mapped_call(const void* base, size_t len, void (*fn)(void*), void* ctx) {
  sigjmp_buf env;
  sigjmp_buf* const prev = tl_env;
  const uintptr_t plo = tl_lo, phi = tl_hi;
  if (sigsetjmp(env, 0) != 0) {
    tl_env = prev;
    tl_lo = plo;
    tl_hi = phi;
    return false;
  }
  tl_lo = reinterpret_cast<uintptr_t>(base);
  tl_hi = tl_lo + len;
  std::atomic_signal_fence(std::memory_order_seq_cst);  // range set before the handler may use it
  tl_env = &env;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  fn(ctx);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  tl_env = prev;
  tl_lo = plo;
  tl_hi = phi;
  return true;
}

// "-": standard input, read to its end (a pipe or terminal has no size to check up front), at
// most max_bytes. Only the user's own arguments reach here, so no caller is surprised by it.
static Result<Bytes> read_stdin(uint64_t max_bytes, const InputOptions& o) {
  Bytes out;
  constexpr size_t kChunk = 64 << 10;
  for (;;) {
    size_t at = out.size();
    out.resize(at + kChunk);
    ssize_t r = read_some(STDIN_FILENO, out.data() + at, kChunk);
    if (r < 0) {
      int e = errno;
      return failf(o.kind, "standard input: read failed: {}", errno_text(e));
    }
    out.resize(at + size_t(r));
    if (r == 0) return out;
    if (out.size() > max_bytes) {
      Errc k = o.kind == Errc::Io ? Errc::TooLarge : o.kind;
      return failf(k, "standard input: over the {} byte limit", max_bytes);
    }
  }
}

Result<Bytes> read_input(const std::string& path, uint64_t max_bytes, const InputOptions& o) {
  if (path == "-") return read_stdin(max_bytes, o);
  auto fd = open_input(path, o);
  if (!fd) return std::unexpected(fd.error());
  struct stat st{};
  ::fstat(*fd, &st);
  uint64_t size = uint64_t(st.st_size);
  if (size > max_bytes) {
    ::close(*fd);
    Errc k = o.kind == Errc::Io ? Errc::TooLarge : o.kind;
    return failf(k, "{}: {} bytes is over the {} byte limit", path, size, max_bytes);
  }
  Bytes out(size_t(size) + 1);  // one byte more: a file that grew is noticed
  ssize_t n = read_full(*fd, out.data(), out.size());
  int e = errno;
  ::close(*fd);
  if (n < 0) return failf(o.kind, "{}: read failed: {}", path, errno_text(e));
  if (uint64_t(n) < size) return failf(o.kind, "{}: file shrank while reading ({} of {} bytes)", path, n, size);
  if (uint64_t(n) > size) return failf(o.kind, "{}: file grew while reading", path);
  out.resize(size_t(n));
  return out;
}

Status write_stdout(ByteView data) {
  int e = write_all(STDOUT_FILENO, data.data(), data.size());
  if (e == EPIPE) return fail(Errc::PipeClosed, "stdout: the reader closed the pipe");
  if (e) return failf(Errc::Io, "stdout: write failed: {}", errno_text(e));
  return {};
}

namespace {
int g_stdout_errno = 0;
ssize_t checked_stdout_write(void*, const char* buf, size_t n) {
  if (int e = write_loop(STDOUT_FILENO, buf, n, false)) {
    if (!g_stdout_errno) g_stdout_errno = e;
    errno = e;
    return -1;
  }
  return ssize_t(n);
}
}  // namespace

void install_checked_stdout() {
  cookie_io_functions_t io{};
  io.write = checked_stdout_write;
  std::FILE* f = ::fopencookie(nullptr, "w", io);
  if (!f) return;  // keep glibc's stdout: errors are then still seen, only their errno may be lost
  // The buffering glibc would have chosen: by line on a terminal, 64 KiB blocks otherwise.
  std::setvbuf(f, nullptr, ::isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, 1 << 16);
  stdout = f;
}

int stdout_errno() { return g_stdout_errno; }

Result<Published> publish(const std::string& path_in, ByteView data, const PublishOptions& o) {
  if (path_in == "-") {
    std::fflush(stdout);
    if (auto s = write_stdout(data); !s) return std::unexpected(s.error());
    // stdout now carries data (`pxos asm x -o - | ...`): whatever the command reports after it
    // ("wrote ...", sizes) must not be appended to those bytes, so it goes to stderr from here.
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    return Published::Streamed;
  }
  std::string path = path_in;
  struct stat st{};
  bool exists = ::lstat(path.c_str(), &st) == 0;
  if (exists && o.no_replace) return Published::Existed;
  if (exists && S_ISLNK(st.st_mode) && o.user_path) {
    // Publish at the link's target: the link itself is not a regular file and stays.
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) {
      if (errno != ENOENT) return failf(o.kind, "{}: cannot resolve the symbolic link: {}", path, errno_text(errno));
      return failf(o.kind, "{}: is a dangling symbolic link; refusing to replace it", path);
    }
    path = buf;
    exists = ::lstat(path.c_str(), &st) == 0;
  }
  if (exists && !S_ISREG(st.st_mode)) {
    if (o.user_path && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) return stream_into(path, data, o.kind);
    return failf(o.kind, "{}: is {}, not a regular file; refusing to replace it", path, kind_of(st.st_mode));
  }
  std::string dir = dir_of(path);
  std::string tdir = o.tmp_dir.empty() ? dir : o.tmp_dir;
  std::string tmpl = tdir + "/." + std::filesystem::path(path).filename().string().substr(0, 32) + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);  // O_CREAT|O_EXCL: never follows or reuses a path
  if (fd < 0) return failf(o.kind, "{}: cannot create a temp file in {}: {}", path, tdir, errno_text(errno));
  auto bail = [&](const char* what, int e) {
    if (fd >= 0) ::close(fd);
    ::unlink(name.data());
    return failf(o.kind, "{}: {}: {}", path, what, errno_text(e));
  };
  if (int e = write_all(fd, data.data(), data.size())) return bail("write failed", e);
  if (::fchmod(fd, mode_t(o.mode)) != 0) return bail("chmod failed", errno);
  if (int e = fsync_fd(fd)) return bail("fsync failed", e);
  int c = ::close(fd);
  fd = -1;
  if (c != 0) return bail("close failed", errno);
  Published how;
  if (!exists || o.no_replace) {
    // link() never replaces: a file that appeared meanwhile (of any kind) is left alone.
    int e = inject(Op::Link) ? EIO : (::link(name.data(), path.c_str()) == 0 ? 0 : errno);
    if (e == EEXIST && o.no_replace) {
      ::unlink(name.data());
      return Published::Existed;
    }
    if (e == EEXIST) return bail("appeared while writing; not replaced", e);
    if (e) return bail("link failed", e);
    ::unlink(name.data());
    how = Published::Created;
  } else {
    if (inject(Op::Rename) || ::rename(name.data(), path.c_str()) != 0) return bail("rename failed", errno);
    how = Published::Replaced;
  }
  if (int e = fsync_dir(dir)) return failf(o.kind, "{}: fsync of directory {} failed: {}", path, dir, errno_text(e));
  return how;
}

}  // namespace pxos::os
