// suggest.cpp: nearest names for "did you mean" (suggest.hpp).
#include "common/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace pxos {
namespace {

// A typo is at most this many edits away, by the word's length: 1 for up to 3 characters,
// 2 for up to 6, 3 beyond (git's help.autocorrect uses a similar scale).
size_t max_typo_distance(size_t len) { return len <= 3 ? 1 : len <= 6 ? 2 : 3; }
constexpr size_t kMaxSuggestions = 3;

// Optimal string alignment distance, case-insensitive: a swapped pair ("rnu") is one edit.
size_t distance(std::string_view a, std::string_view b) {
  auto lc = [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); };
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = lc(a[i - 1]) == lc(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lc(a[i - 1]) == lc(b[j - 2]) && lc(a[i - 2]) == lc(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

}  // namespace

std::vector<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::pair<size_t, std::string>> scored;
  size_t limit = max_typo_distance(word.size());
  for (const auto& c : candidates) {
    size_t d = distance(word, c);
    // A prefix ("pxos insp") is as good as one edit.
    if (word.size() >= 2 && c.size() > word.size() && c.compare(0, word.size(), word) == 0) d = std::min<size_t>(d, 1);
    if (d <= limit && d < c.size()) scored.emplace_back(d, c);
  }
  std::stable_sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [d, c] : scored)
    if (d == scored.front().first && out.size() < kMaxSuggestions && std::find(out.begin(), out.end(), c) == out.end())
      out.push_back(c);
  return out;
}

std::string did_you_mean(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string s = " (did you mean ";
  for (size_t i = 0; i < names.size(); ++i)
    s += fmt::format("{}'{}'", i == 0 ? "" : i + 1 == names.size() ? " or " : ", ", names[i]);
  return s + "?)";
}

}  // namespace pxos
