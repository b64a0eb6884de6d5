// progress.hpp: one status line on stderr, redrawn in place, for long work (llm pack and load,
// archive create, god put, gpu bench); drawn on a terminal only, so pipes and logs stay clean.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace pxos {

// (done, total, phase): total <= 1 means a phase of unknown length.
using ProgressFeed = std::function<void(uint64_t, uint64_t, const char*)>;

class ProgressBar {
 public:
  // Work below this many bytes finishes before a bar would help: nothing is drawn for it.
  static constexpr uint64_t kMinBytes = 16u << 20;
  ProgressBar();                      // enabled when stderr is a terminal
  explicit ProgressBar(bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // "phase [#####.....] 42% 98.4 MB", redrawn when the percentage moves; a total <= 1 draws
  // "phase ..." (a step of unknown length).
  void operator()(uint64_t done, uint64_t total, const char* phase);
  // A step of unknown length over `bytes` of work: drawn only when that is kMinBytes or more.
  void step(const char* phase, uint64_t bytes);
  // "what 5/20, ETA 3.1 s" (eta_s < 0: no estimate yet); drawn whatever the size.
  void count(uint64_t done, uint64_t total, std::string_view what, double eta_s);
  // Empty when disabled, so callers skip the work of measuring progress (a walk for the total).
  ProgressFeed feed() {
    if (!enabled_) return {};
    return [this](uint64_t d, uint64_t t, const char* p) { (*this)(d, t, p); };
  }
  void clear();  // erase the line (before the command prints its result)
  bool enabled() const { return enabled_; }

 private:
  void draw(const std::string& line);
  bool enabled_;
  int last_pct_ = -1;
  std::string last_phase_;
  size_t drawn_width_ = 0;
};

}  // namespace pxos
