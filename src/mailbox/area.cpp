// area.cpp: mapping the shared area (file, shm, anonymous) with size checks, and the futex calls.
#include "mailbox/area.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "common/fs.hpp"
#include "common/os.hpp"

namespace pxos::mailbox {

void futex_wait(uint32_t& w, uint32_t expected, uint32_t timeout_us) {
  timespec ts{time_t(timeout_us / 1000000), long(timeout_us % 1000000) * 1000};
  syscall(SYS_futex, &w, FUTEX_WAIT, expected, &ts, nullptr, 0);
}
void futex_wake(uint32_t& w) { syscall(SYS_futex, &w, FUTEX_WAKE, 1, nullptr, nullptr, 0); }

Area::Area(Area&& o) noexcept { *this = std::move(o); }
Area& Area::operator=(Area&& o) noexcept {
  if (this != &o) {
    if (base_) munmap(base_, size_);
    if (fd_ >= 0) close(fd_);
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
    fd_ = std::exchange(o.fd_, -1);
    name_ = std::move(o.name_);
  }
  return *this;
}
Area::~Area() {
  if (base_) munmap(base_, size_);
  if (fd_ >= 0) close(fd_);
}

namespace {
// A file mailboxd may initialise: one with MAGIC (a mailbox, perhaps left by an earlier
// mailboxd) or all zero bytes (fresh from ftruncate, as `pxos boot` and QEMU make it). Anything
// else is someone's data, which start() would overwrite. Read with read(), not through a
// mapping, so that a file truncated meanwhile cannot SIGBUS us here.
Status check_is_mailbox(int fd, const std::string& what) {
  std::vector<uint8_t> buf(64 * 1024);
  uint64_t off = 0;
  uint32_t magic_seen = 0;
  for (;;) {
    ssize_t n = os::read_full(fd, buf.data(), buf.size());
    if (n < 0) return failf(Errc::Io, "{}: read failed: {}", what, errno_text(errno));
    if (n == 0) return {};
    if (off == 0 && size_t(n) >= offsetof(Header, magic) + 4) {
      std::memcpy(&magic_seen, buf.data() + offsetof(Header, magic), 4);
      if (magic_seen == c::MAGIC) return {};
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[size_t(i)] == 0) continue;
      return failf(Errc::MailboxError,
                   "{}: not a mailbox (no MAGIC 0x{:08X} at offset 0x{:x}: found 0x{:08x}; first non-zero byte 0x{:02x} "
                   "at offset {}); refusing to overwrite it (--force serves it anyway)",
                   what, c::MAGIC, offsetof(Header, magic), magic_seen, buf[size_t(i)], off + uint64_t(i));
    }
    off += uint64_t(n);
  }
}
}  // namespace

Result<Area> Area::map_fd(int fd, const std::string& what, size_t create_size, const ServeOptions* serve) {
  auto bail = [&](Error e) -> Result<Area> {
    close(fd);
    return std::unexpected(std::move(e));
  };
  if (serve) {
    // Before anything else, so that a second mailboxd neither writes nor even reads the area.
    auto holder = os::lock_or_holder(fd, what, Errc::Io);
    if (!holder) return bail(holder.error());
    if (*holder > 0) return bail(Error{Errc::InUse, fmt::format("{} is already served by pid {}", what, *holder)});
    if (*holder < 0) return bail(Error{Errc::InUse, fmt::format("{} is locked by another process", what)});
  }
  struct stat sb{};
  if (fstat(fd, &sb) != 0) return bail(Error{Errc::Io, fmt::format("{}: fstat: {}", what, errno_text(errno))});
  if (!S_ISREG(sb.st_mode)) return bail(Error{Errc::MailboxError, fmt::format("{}: not a regular file", what)});
  size_t size = size_t(sb.st_size);
  if (size == 0) {
    if (create_size < c::MIN_SIZE || create_size > c::MAX_SIZE || create_size % 4096)
      return bail(Error{Errc::Usage, fmt::format("{}: size {} outside [{}, {}] or not a multiple of 4096", what,
                                                 create_size, c::MIN_SIZE, c::MAX_SIZE)});
    if (ftruncate(fd, off_t(create_size)) != 0)
      return bail(Error{Errc::Io, fmt::format("{}: ftruncate: {}", what, errno_text(errno))});
    size = create_size;
  } else if (size < c::MIN_SIZE || size > c::MAX_SIZE || size % 4096) {
    return bail(Error{Errc::MailboxError, fmt::format("{}: size {} outside [{}, {}] or not a multiple of 4096", what,
                                                      size, c::MIN_SIZE, c::MAX_SIZE)});
  } else if (serve && !serve->force) {
    if (auto ok = check_is_mailbox(fd, what); !ok) return bail(ok.error());
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  if (p == MAP_FAILED) return bail(Error{Errc::Io, fmt::format("{}: mmap: {}", what, errno_text(e))});
  Area a;
  a.base_ = static_cast<uint8_t*>(p);
  a.size_ = size;
  a.name_ = what;
  if (serve) {
    a.fd_ = fd;  // the lock lasts as long as this fd
  } else {
    close(fd);
  }
  return a;
}

Result<Area> Area::open_file(const std::string& path, size_t create_size) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return failf(Errc::Io, "{}: {}", path, errno_text(errno));
  return map_fd(fd, path, create_size, nullptr);
}

Result<Area> Area::open_shm(const std::string& name, size_t create_size) {
  if (name.empty() || name.find('/') != std::string::npos || name.size() > 200)
    return failf(Errc::Usage, "shm name '{}': give a plain name without '/'", name);
  std::string n = "/" + name;
  int fd = shm_open(n.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return failf(Errc::Io, "shm {}: {}", n, errno_text(errno));
  return map_fd(fd, "shm " + n, create_size, nullptr);
}

Result<Area> Area::serve_file(const std::string& path, const ServeOptions& o) {
  auto fd = os::open_shared(path, 0600, Errc::MailboxError);
  if (!fd) return std::unexpected(fd.error());
  return map_fd(*fd, path, o.create_size, &o);
}

Result<Area> Area::serve_shm(const std::string& name, const ServeOptions& o) {
  if (name.empty() || name.find('/') != std::string::npos || name.size() > 200)
    return failf(Errc::Usage, "shm name '{}': give a plain name without '/'", name);
  std::string n = "/" + name;
  int fd = shm_open(n.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return failf(Errc::Io, "shm {}: {}", n, errno_text(errno));
  return map_fd(fd, "shm " + n, o.create_size, &o);
}

Status Area::check_size() const {
  if (fd_ < 0) return {};
  struct stat sb{};
  if (fstat(fd_, &sb) != 0) return failf(Errc::Io, "mailboxd: {}: fstat: {}", name_, errno_text(errno));
  if (uint64_t(sb.st_size) < size_)
    return failf(Errc::MailboxError, "mailboxd: {} shrank to {} bytes while served (needs {}); stopping", name_,
                 uint64_t(sb.st_size), size_);
  return {};
}

namespace {
// Who holds mailboxd's lock on byte 0 (F_GETLK only: a client never takes or drops it).
long lock_holder(int fd) {
  struct flock q{};
  q.l_type = F_WRLCK;
  q.l_whence = SEEK_SET;
  q.l_start = 0;
  q.l_len = 1;
  if (::fcntl(fd, F_GETLK, &q) != 0 || q.l_type == F_UNLCK) return 0;
  return q.l_pid > 0 ? long(q.l_pid) : -1;
}

Result<Area> attach_fd(int fd, const std::string& what, long* served_by) {
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};  // the mapping outlives the fd; the lock is mailboxd's, not ours
  struct stat sb{};
  if (fstat(fd, &sb) != 0) return failf(Errc::Io, "{}: fstat: {}", what, errno_text(errno));
  if (!S_ISREG(sb.st_mode))
    return failf(Errc::MailboxError, "{}: not a regular file ({}), so not a mailbox", what,
                 S_ISDIR(sb.st_mode) ? "a directory" : S_ISFIFO(sb.st_mode) ? "a FIFO" : "a device or socket");
  size_t size = size_t(sb.st_size);
  if (size < c::MIN_SIZE || size > c::MAX_SIZE || size % 4096)
    return failf(Errc::MailboxError, "{}: size {} outside [{}, {}] or not a multiple of 4096: not a mailbox", what,
                 size, c::MIN_SIZE, c::MAX_SIZE);
  uint32_t hdr[8];
  ssize_t n = ::pread(fd, hdr, sizeof hdr, offsetof(Header, magic));
  if (n != ssize_t(sizeof hdr))
    return failf(Errc::MailboxError, "{}: cannot read its header (it shrank?): {}", what, n < 0 ? errno_text(errno) : "short read");
  uint32_t magic = hdr[0], version = hdr[1];
  if (magic != c::MAGIC)
    return failf(Errc::MailboxError, "{}: no mailbox MAGIC at offset 0x{:x} (found 0x{:08x}, want 0x{:08X}): no mailboxd has served it",
                 what, offsetof(Header, magic), magic, c::MAGIC);
  if (version < 1 || version > c::VERSION)
    return failf(Errc::MailboxError, "{}: protocol version {} at offset 0x{:x}; this pxos speaks 1 .. {}", what, version,
                 offsetof(Header, version), c::VERSION);
  if (served_by) *served_by = lock_holder(fd);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return failf(Errc::Io, "{}: mmap: {}", what, errno_text(errno));
  return Area::adopt(static_cast<uint8_t*>(p), size, what);
}
}  // namespace

Result<Area> Area::adopt(uint8_t* base, size_t size, const std::string& name) {
  Area a;
  a.base_ = base;
  a.size_ = size;
  a.name_ = name;
  return a;
}

Result<Area> Area::attach_file(const std::string& path, long* served_by) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; no O_CREAT: a client never makes one.
  int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return failf(Errc::NotFound, "{}: no such mailbox file (start `pxos mailboxd --file {}`)", path, path);
    if (e == EISDIR) return failf(Errc::MailboxError, "{}: not a regular file (a directory), so not a mailbox", path);
    return failf(Errc::Io, "{}: {}", path, errno_text(e));
  }
  return attach_fd(fd, path, served_by);
}

Result<Area> Area::attach_shm(const std::string& name, long* served_by) {
  if (name.empty() || name.find('/') != std::string::npos || name.size() > 200)
    return failf(Errc::Usage, "shm name '{}': give a plain name without '/'", name);
  std::string n = "/" + name;
  int fd = shm_open(n.c_str(), O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return failf(Errc::NotFound, "shm {}: no such shared memory object (start `pxos mailboxd --shm {}`)", n, name);
    return failf(Errc::Io, "shm {}: {}", n, errno_text(e));
  }
  return attach_fd(fd, "shm " + n, served_by);
}

Result<Area> Area::anonymous(size_t size) {
  if (size < c::MIN_SIZE || size > c::MAX_SIZE || size % 4096)
    return failf(Errc::Usage, "anonymous area: size {} out of range", size);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return failf(Errc::Io, "anonymous area: mmap: {}", errno_text(errno));
  Area a;
  a.base_ = static_cast<uint8_t*>(p);
  a.size_ = size;
  a.name_ = "anonymous";
  return a;
}

}  // namespace pxos::mailbox
