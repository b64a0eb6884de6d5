// stats.hpp: latency histograms (log-linear: 8 sub-buckets per power of two, ~12% wide) and
// the per-opcode counters mailboxd prints at exit and with --stats-every.
#pragma once
#include <array>
#include <bit>
#include <cstdint>
#include <string>

namespace pxos::mailbox {

class Histogram {
 public:
  static constexpr int kSub = 8;  // sub-buckets per octave: the percentile's resolution
  static constexpr int kBuckets = 64 * kSub;
  void add(uint64_t v) {
    ++buckets_[index(v)];
    ++count_;
    if (v > max_) max_ = v;
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // Upper edge of the bucket holding the q-quantile (0 <= q <= 1); 0 when empty.
  uint64_t quantile(double q) const {
    if (!count_) return 0;
    uint64_t want = uint64_t(q * double(count_ - 1)) + 1, seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= want) return std::min(upper(i), max_);
    }
    return max_;
  }
  void merge(const Histogram& o) {
    for (int i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
    if (o.max_ > max_) max_ = o.max_;
  }
  static int index(uint64_t v) {
    if (v < kSub) return int(v);
    int msb = 63 - std::countl_zero(v);  // >= 3
    int sub = int((v >> (msb - 3)) & (kSub - 1));
    return (msb - 2) * kSub + sub;
  }
  static uint64_t upper(int i) {
    if (i < kSub) return uint64_t(i);
    int msb = i / kSub + 2, sub = i % kSub;
    return ((uint64_t(kSub) | uint64_t(sub)) << (msb - 3)) + ((uint64_t(1) << (msb - 3)) - 1);
  }

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0, max_ = 0;
};

// Per-opcode counters of one server, indexed by the opcode byte.
struct OpStats {
  uint64_t count = 0, errors = 0;
  Histogram ticks;  // service time in TSC ticks
};

}  // namespace pxos::mailbox
