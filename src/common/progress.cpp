// progress.cpp: the redrawn status line of progress.hpp (carriage return, pad, flush).
#include "common/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace pxos {

ProgressBar::ProgressBar() : ProgressBar(::isatty(2) == 1) {}
ProgressBar::ProgressBar(bool enabled) : enabled_(enabled) {}
ProgressBar::~ProgressBar() { clear(); }

void ProgressBar::draw(const std::string& line) {
  // Pad over what the previous line left, so a shorter line leaves no tail behind.
  std::string out = "\r" + line;
  if (line.size() < drawn_width_) out.append(drawn_width_ - line.size(), ' ');
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
  drawn_width_ = std::max(drawn_width_, line.size());
}

void ProgressBar::operator()(uint64_t done, uint64_t total, const char* phase) {
  if (!enabled_ || (total < kMinBytes && total > 1)) return;
  const int pct = total > 1 ? int(std::min(done, total) * 100 / total) : 0;
  if (pct == last_pct_ && last_phase_ == phase) return;
  last_pct_ = pct;
  last_phase_ = phase;
  constexpr int kWidth = 30;  // characters of the bar itself
  if (total > 1) {
    std::string bar(size_t(pct * kWidth / 100), '#');
    bar.resize(kWidth, '.');
    draw(fmt::format("{:<20} [{}] {:3}% {:.1f} MB", phase, bar, pct, double(total) / 1e6));
  } else {
    draw(fmt::format("{} ...", phase));
  }
}

void ProgressBar::step(const char* phase, uint64_t bytes) {
  if (!enabled_ || bytes < kMinBytes) return;
  last_pct_ = -1;
  last_phase_ = phase;
  draw(fmt::format("{} ({:.1f} MB) ...", phase, double(bytes) / 1e6));
}

void ProgressBar::count(uint64_t done, uint64_t total, std::string_view what, double eta_s) {
  if (!enabled_) return;
  last_pct_ = -1;
  last_phase_.clear();
  draw(eta_s >= 0 ? fmt::format("{} {}/{}, ETA {:.1f} s", what, done, total, eta_s)
                  : fmt::format("{} {}/{}", what, done, total));
}

void ProgressBar::clear() {
  if (!drawn_width_) return;
  std::fputs(("\r" + std::string(drawn_width_, ' ') + "\r").c_str(), stderr);
  std::fflush(stderr);
  drawn_width_ = 0;
  last_pct_ = -1;
  last_phase_.clear();
}

}  // namespace pxos
