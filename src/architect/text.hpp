// text.hpp: the one-line and terminal-safe text helpers the architect's agent files share
// (agent, apply, console, event log): what the model or a server wrote is escaped before it
// reaches the terminal (common/printable.hpp), and cut on a UTF-8 boundary.
#pragma once
#include <cctype>
#include <chrono>
#include <string>

#include "common/printable.hpp"

namespace pxos::architect {

inline double secs_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline std::string one_line(std::string s, size_t n = 200) {
  for (char& c : s) if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // cut on a UTF-8 boundary
  return s.substr(0, n) + "...";
}

// What reaches the terminal: everything the model, the server or a file controls goes through
// the one escaping helper, so no ESC/OSC sequence of theirs runs.
inline std::string term_line(const std::string& s, size_t n = 200) { return printable(one_line(s, n)); }
inline std::string term_text(const std::string& s) { return printable(s, Keep::Lines); }

}  // namespace pxos::architect
