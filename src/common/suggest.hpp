// suggest.hpp: "did you mean" for typos: the names nearest to a word (commands, options,
// mnemonics, host calls), so every place that refuses a name offers the same suggestions.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace pxos {

// The names in `candidates` nearest to `word` (case-insensitive edit distance, a swapped pair
// counting once; a prefix counts as one edit), best first, at most 3; empty when none is near
// enough to be a plausible typo.
std::vector<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);
// " (did you mean 'a' or 'b'?)" for those names, or "" for none.
std::string did_you_mean(const std::vector<std::string>& names);

}  // namespace pxos
