// suggest.hpp: "did you mean ...?" for names a user typed (manifest fields, labels, entries).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace pxos::hv {

size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within 2 edits (ties: the first), or "".
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace pxos::hv
