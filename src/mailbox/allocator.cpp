// allocator.cpp: first fit over a sorted free map; frees coalesce with both neighbours.
#include "mailbox/allocator.hpp"

#include <iterator>

namespace pxos::mailbox {

DataAllocator::DataAllocator(uint32_t begin, uint32_t end, uint32_t align) : begin_(begin), end_(end), align_(align) {
  if (end_ > begin_) free_[begin_] = end_ - begin_;
}

std::optional<uint32_t> DataAllocator::alloc(uint32_t size) {
  if (size == 0 || size > end_ - begin_) return std::nullopt;
  uint64_t need = (uint64_t(size) + align_ - 1) / align_ * align_;  // keeps every block aligned
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < need) continue;
    uint32_t off = it->first, len = it->second;
    free_.erase(it);
    if (len > need) free_[off + uint32_t(need)] = len - uint32_t(need);
    used_[off] = uint32_t(need);
    return off;
  }
  return std::nullopt;
}

std::optional<uint32_t> DataAllocator::free(uint32_t off) {
  auto u = used_.find(off);
  if (u == used_.end()) return std::nullopt;
  uint32_t len = u->second;
  used_.erase(u);
  auto [it, ok] = free_.emplace(off, len);
  (void)ok;
  auto next = std::next(it);
  if (next != free_.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free_.erase(next);
  }
  if (it != free_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free_.erase(it);
    }
  }
  return len;
}

uint64_t DataAllocator::free_bytes() const {
  uint64_t n = 0;
  for (auto& [o, l] : free_) n += l;
  return n;
}
uint64_t DataAllocator::used_bytes() const {
  uint64_t n = 0;
  for (auto& [o, l] : used_) n += l;
  return n;
}

bool DataAllocator::check() const {
  std::map<uint32_t, std::pair<uint32_t, bool>> all;  // offset -> (len, is_free)
  for (auto& [o, l] : free_) all[o] = {l, true};
  for (auto& [o, l] : used_)
    if (!all.emplace(o, std::pair{l, false}).second) return false;
  uint64_t at = begin_;
  bool prev_free = false;
  for (auto& [o, e] : all) {
    if (o != at || e.first == 0 || (o - begin_) % align_) return false;  // gap, overlap, misalign
    if (e.second && prev_free) return false;                              // not coalesced
    prev_free = e.second;
    at = uint64_t(o) + e.first;
  }
  return at == end_ || (all.empty() && begin_ == end_);
}

}  // namespace pxos::mailbox
