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

class Area {
 public:
  // A file: created at create_size if missing; an existing one keeps its size (checked).
  static Result<Area> open_file(const std::string& path, size_t create_size = c::MIN_SIZE);
  // A POSIX shm object "/name" (name given without the slash), same rules.
  static Result<Area> open_shm(const std::string& name, size_t create_size = c::MIN_SIZE);
  // Private anonymous memory, zeroed (tests, fuzzing, in-process benchmarks).
  static Result<Area> anonymous(size_t size = c::MIN_SIZE);

  Area() = default;
  Area(Area&&) noexcept;
  Area& operator=(Area&&) noexcept;
  Area(const Area&) = delete;
  Area& operator=(const Area&) = delete;
  ~Area();

  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  Layout& layout() const { return *reinterpret_cast<Layout*>(base_); }
  Header& header() const { return layout().h; }
  const std::string& name() const { return name_; }

 private:
  static Result<Area> map_fd(int fd, const std::string& what, size_t create_size);
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::string name_;
};

// Offsets and lengths from a client, checked against the data area; false = OUT_OF_RANGE.
inline bool data_range_ok(size_t area_size, uint64_t off, uint64_t len) {
  return off >= c::DATA_OFFSET && len <= area_size && off <= area_size - len;
}

}  // namespace pxos::mailbox
