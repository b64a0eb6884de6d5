// area.hpp: the shared area: a file (QEMU's ivshmem-plain BAR2), a POSIX shm object, or
// anonymous memory for tests; plus the acquire/release word accessors both sides use.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "mailbox/protocol.hpp"

namespace pxos::mailbox {

// Word access to memory another process (or the GPU, or a guest) writes concurrently.
inline uint32_t ld_acq(const uint32_t& w) { return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(w)).load(std::memory_order_acquire); }
inline uint32_t ld_rlx(const uint32_t& w) { return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(w)).load(std::memory_order_relaxed); }
inline void st_rel(uint32_t& w, uint32_t v) { std::atomic_ref<uint32_t>(w).store(v, std::memory_order_release); }
inline void st_rlx(uint32_t& w, uint32_t v) { std::atomic_ref<uint32_t>(w).store(v, std::memory_order_relaxed); }
inline void full_fence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
// futex on a shared word (not FUTEX_PRIVATE: the other side is another process).
void futex_wait(uint32_t& w, uint32_t expected, uint32_t timeout_us);
void futex_wake(uint32_t& w);

// How mailboxd opens the area it serves (Area::serve_file, serve_shm).
struct ServeOptions {
  size_t create_size = c::MIN_SIZE;  // size of a new (or empty) file
  bool force = false;                // serve a non-empty file that has no MAGIC (overwriting it)
};

class Area {
 public:
  // A file: created at create_size if missing; an existing one keeps its size (checked).
  static Result<Area> open_file(const std::string& path, size_t create_size = c::MIN_SIZE);
  // A POSIX shm object "/name" (name given without the slash), same rules.
  static Result<Area> open_shm(const std::string& name, size_t create_size = c::MIN_SIZE);
  // Private anonymous memory, zeroed (tests, fuzzing, in-process benchmarks).
  static Result<Area> anonymous(size_t size = c::MIN_SIZE);
  // The server's open: as open_file/open_shm, and also refuses anything but a regular file, a
  // non-empty file without MAGIC that is not all zero bytes (unless force: it would be
  // overwritten), and a file another process serves: it takes an exclusive lock held while
  // this Area lives (Errc::InUse, "PATH is already served by pid N").
  static Result<Area> serve_file(const std::string& path, const ServeOptions& o = {});
  static Result<Area> serve_shm(const std::string& name, const ServeOptions& o = {});
  // A client's open (pxos run --mailbox, pxos mailbox status): an existing regular file / shm
  // object, never created or initialised, of a size the protocol allows, whose header (read
  // with pread, before mapping) has MAGIC and a VERSION of 1 .. c::VERSION. served_by gets the
  // pid of the mailboxd holding its lock (0: none serves it; -1: a lock without a pid).
  // MailboxError naming the file and what is wrong; NotFound when it does not exist.
  static Result<Area> attach_file(const std::string& path, long* served_by = nullptr);
  static Result<Area> attach_shm(const std::string& name, long* served_by = nullptr);
  // A served area only: the file still covers the whole mapping (it can be truncated under
  // us, and then an access past its end raises SIGBUS). MailboxError naming the file if not.
  Status check_size() const;

  Area() = default;
  Area(Area&&) noexcept;
  Area& operator=(Area&&) noexcept;
  Area(const Area&) = delete;
  Area& operator=(const Area&) = delete;
  ~Area();

  // Takes ownership of a MAP_SHARED mapping (attach_file / attach_shm use it).
  static Result<Area> adopt(uint8_t* base, size_t size, const std::string& name);

  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  Layout& layout() const { return *reinterpret_cast<Layout*>(base_); }
  Header& header() const { return layout().h; }
  const std::string& name() const { return name_; }

 private:
  static Result<Area> map_fd(int fd, const std::string& what, size_t create_size, const ServeOptions* serve);
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;  // kept by a served area: the lock lives with it, check_size() fstats it
  std::string name_;
};

// Offsets and lengths from a client, checked against the data area; false = OUT_OF_RANGE.
inline bool data_range_ok(size_t area_size, uint64_t off, uint64_t len) {
  return off >= c::DATA_OFFSET && len <= area_size && off <= area_size - len;
}

}  // namespace pxos::mailbox
