// suggest.cpp: Levenshtein distance, two rows.
#include "hv/suggest.hpp"

#include <algorithm>

namespace pxos::hv {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t bd = 3;
  if (word.size() > 256) return best;  // quadratic: do not spend time on absurd input
  for (const auto& c : candidates) {
    if (c.size() > 256) continue;
    if (size_t d = edit_distance(word, c); d < bd) { bd = d; best = c; }
  }
  return best;
}

}  // namespace pxos::hv
