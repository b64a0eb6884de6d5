// printable.hpp: text that a file controls, made safe to print on a terminal. Control bytes
// (ESC, CR, newline, DEL …) become \xNN escapes, so a name read from an image cannot forge
// output lines or drive the terminal; other bytes, UTF-8 included, pass through.
#pragma once
#include <string>
#include <string_view>

namespace pxos {

inline std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += '\\';
      if (c == '\\') { out += '\\'; continue; }
      out += 'x';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace pxos
