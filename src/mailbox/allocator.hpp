// allocator.hpp: first-fit allocator with coalescing over the data area, for ALLOC/FREE.
// Its bookkeeping lives in mailboxd's private memory, so a client cannot corrupt it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>

namespace pxos::mailbox {

class DataAllocator {
 public:
  DataAllocator() = default;
  DataAllocator(uint32_t begin, uint32_t end, uint32_t align);  // [begin, end), begin aligned
  std::optional<uint32_t> alloc(uint32_t size);  // nullopt: size 0 or nothing fits
  std::optional<uint32_t> free(uint32_t off);    // bytes freed; nullopt: not allocated
  uint64_t free_bytes() const;
  uint64_t used_bytes() const;
  size_t blocks() const { return used_.size(); }
  size_t fragments() const { return free_.size(); }
  bool check() const;  // invariants: sorted, disjoint, coalesced, free + used = total

 private:
  uint32_t begin_ = 0, end_ = 0, align_ = 64;
  std::map<uint32_t, uint32_t> free_;  // offset -> length
  std::map<uint32_t, uint32_t> used_;  // offset -> length
};

}  // namespace pxos::mailbox
