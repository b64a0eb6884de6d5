// os.hpp: the one OS layer for files (SQLite os_unix.c style): EINTR-safe reads and writes, the
// input opener every input goes through, the atomic publish every output goes through, and a
// fault-injection hook that makes the N-th call of an operation fail, for crash-safety tests.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::os {

// ---- fault injection ------------------------------------------------------------------
enum class Op : uint8_t {
#define X(name, text) name,
#include "common/faults.def"
#undef X
};
// Makes call number `n` (1-based, counted from now) of `op` fail with EIO; n = 0 disarms.
// PXOS_FAULT=op:N in the environment arms it once at start-up (read on the first call).
void set_fault(Op op, uint64_t n);
// True when this call of `op` must fail (errno is then set to EIO). Every wrapped call asks it.
bool inject(Op op);

// ---- EINTR-safe I/O -------------------------------------------------------------------
// Writes all of [p, p+n); 0 or the errno of the failure.
int write_all(int fd, const void* p, size_t n);
// One read(2), retried on EINTR; what read returns.
ssize_t read_some(int fd, void* p, size_t n);
// Reads until n bytes or EOF; the count, or -1 with errno.
ssize_t read_full(int fd, void* p, size_t n);
int fsync_fd(int fd);           // fsync with the hook; 0 or errno
int fsync_dir(const std::string& dir);  // 0 or errno

// ---- inputs ---------------------------------------------------------------------------
struct InputOptions {
  Errc kind = Errc::Io;       // the error kind of every failure
  bool no_follow = false;     // refuse a symbolic link (store objects)
  int* open_errno = nullptr;  // receives errno when open() itself failed (ENOENT, ELOOP)
};
// Opens PATH for reading without ever blocking: O_NONBLOCK|O_CLOEXEC, fstat, refuse anything but
// a regular file ("is a FIFO, not a regular file"), then clears O_NONBLOCK. Returns the fd.
Result<int> open_input(const std::string& path, const InputOptions& o = {});
// Whole regular file, at most max_bytes; a file that shrinks while read is an error. "-" is
// standard input (read to its end).
Result<Bytes> read_input(const std::string& path, uint64_t max_bytes, const InputOptions& o = {});

// ---- files shared with other processes (a mapped mailbox area) ------------------------
// Opens PATH read-write, creating it (mode) if missing, without ever blocking: O_NONBLOCK,
// O_NOFOLLOW, fstat, and anything but a regular file is refused with one line ("is a FIFO,
// not a regular file", a directory too), then O_NONBLOCK is cleared. Returns the fd.
Result<int> open_shared(const std::string& path, int mode = 0600, Errc kind = Errc::Io);
// An exclusive advisory lock on byte 0 of fd, held by this process until it exits or closes
// ANY fd of that file (a classic POSIX record lock: the kernel reports its holder's pid, which
// an OFD lock or flock would not). 0 = locked; otherwise the pid of the process that holds it.
Result<pid_t> lock_or_holder(int fd, const std::string& what, Errc kind = Errc::Io);

// ---- faults on shared mappings --------------------------------------------------------
// A MAP_SHARED file that another process truncates raises SIGBUS at the next access past its
// new end. While a SigbusTrap lives, such a fault inside the range of a guard_mapped() call on
// the same thread makes that call return false instead of killing the process; any other
// SIGBUS goes to the handler that was there before, which the last SigbusTrap restores.
// The guarded code must be safe to abandon at any access of the range: hold no lock there.
class SigbusTrap {
 public:
  SigbusTrap();
  ~SigbusTrap();
  SigbusTrap(const SigbusTrap&) = delete;
  SigbusTrap& operator=(const SigbusTrap&) = delete;
};
bool guard_mapped_call(const void* base, size_t len, void (*fn)(void*), void* ctx);
template <class F>
bool guard_mapped(const void* base, size_t len, F&& f) {
  using Fn = std::remove_reference_t<F>;
  return guard_mapped_call(base, len, [](void* c) { (*static_cast<Fn*>(c))(); }, const_cast<void*>(static_cast<const void*>(&f)));
}

// ---- outputs --------------------------------------------------------------------------
struct PublishOptions {
  int mode = 0644;
  Errc kind = Errc::Io;
  std::string tmp_dir;      // where the temp file goes (same file system); default: PATH's dir
  bool no_replace = false;  // link() into place; an existing PATH is left alone
  bool user_path = true;    // follow a symlink, stream into a FIFO/char device; false (store
                            // objects): a symlink or device there is refused like a directory
};
enum class Published : uint8_t { Created, Replaced, Existed, Streamed };
// The one way a file is written. "-" is stdout. A FIFO or character device (also behind a
// symlink) is written directly, like cp does. Otherwise: temp file + fsync + rename (or link
// when no_replace or PATH is absent) + directory fsync; anything else that is not a regular
// file (directory, socket, block device) is refused and never replaced. On failure PATH is as it was.
Result<Published> publish(const std::string& path, ByteView data, const PublishOptions& o = {});

// The failure of writing to a closed pipe carries Errc::PipeClosed: the CLI exits quietly on it.
Status write_stdout(ByteView data);

// Replaces stdio's `stdout` by a stream over fd 1 whose writes (EINTR-safe, not fault-hooked) remember
// the first errno, so that an error seen by any of the many printf/fmt::print/fflush sites is
// still known, with its cause (EPIPE, ENOSPC), when the command ends. Called once by main().
void install_checked_stdout();
// The first errno a write to stdout failed with since install_checked_stdout(); 0 if none.
int stdout_errno();

}  // namespace pxos::os
