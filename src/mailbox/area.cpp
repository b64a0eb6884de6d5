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
#include <utility>

#include "common/fs.hpp"

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
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
    name_ = std::move(o.name_);
  }
  return *this;
}
Area::~Area() {
  if (base_) munmap(base_, size_);
}

Result<Area> Area::map_fd(int fd, const std::string& what, size_t create_size) {
  struct stat sb{};
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return failf(Errc::Io, "{}: fstat: {}", what, errno_text(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return failf(Errc::MailboxError, "{}: not a regular file", what);
  }
  size_t size = size_t(sb.st_size);
  if (size == 0) {
    if (create_size < c::MIN_SIZE || create_size > c::MAX_SIZE || create_size % 4096) {
      close(fd);
      return failf(Errc::Usage, "{}: size {} outside [{}, {}] or not a multiple of 4096", what, create_size,
                   c::MIN_SIZE, c::MAX_SIZE);
    }
    if (ftruncate(fd, off_t(create_size)) != 0) {
      int e = errno;
      close(fd);
      return failf(Errc::Io, "{}: ftruncate: {}", what, errno_text(e));
    }
    size = create_size;
  } else if (size < c::MIN_SIZE || size > c::MAX_SIZE || size % 4096) {
    close(fd);
    return failf(Errc::MailboxError, "{}: size {} outside [{}, {}] or not a multiple of 4096", what, size,
                 c::MIN_SIZE, c::MAX_SIZE);
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED) return failf(Errc::Io, "{}: mmap: {}", what, errno_text(e));
  Area a;
  a.base_ = static_cast<uint8_t*>(p);
  a.size_ = size;
  a.name_ = what;
  return a;
}

Result<Area> Area::open_file(const std::string& path, size_t create_size) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return failf(Errc::Io, "{}: {}", path, errno_text(errno));
  return map_fd(fd, path, create_size);
}

Result<Area> Area::open_shm(const std::string& name, size_t create_size) {
  if (name.empty() || name.find('/') != std::string::npos || name.size() > 200)
    return failf(Errc::Usage, "shm name '{}': give a plain name without '/'", name);
  std::string n = "/" + name;
  int fd = shm_open(n.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return failf(Errc::Io, "shm {}: {}", n, errno_text(errno));
  return map_fd(fd, "shm " + n, create_size);
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
