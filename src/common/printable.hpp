// printable.hpp: the ONE escaping helper for text that a file, a peer or a model controls, made
// safe to print on a terminal: no byte of it can move the cursor, rewrite a line, set the window
// title or the clipboard (OSC 52), or make the shown text differ from the real one (bidi controls).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace pxos {

enum class Keep : unsigned char {
  Nothing,  // one line: every control byte, '\n' and '\t' included, and '\\' are escaped (reversible)
  Lines,    // shown text (file previews, command output): '\n' and '\t' pass, '\\' passes
};

namespace printable_detail {
// Length of the UTF-8 sequence at S[I] when it is valid and complete; 0 when the byte cannot
// start one here; -1 when S ends inside a sequence that could still become valid.
inline int utf8_len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0) return 0;
  for (int k = 1; k < n; ++k) {
    if (i + k >= s.size()) return -1;
    unsigned char d = b(i + k);
    unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range excludes overlongs, surrogates, > U+10FFFF
    if (k == 1 && c == 0xe0) lo = 0xa0;
    if (k == 1 && c == 0xed) hi = 0x9f;
    if (k == 1 && c == 0xf0) lo = 0x90;
    if (k == 1 && c == 0xf4) hi = 0x8f;
    if (d < lo || d > hi) return 0;
  }
  return n;
}

// A valid sequence a terminal or a reader would still misread: C1 controls (U+0080..U+009F,
// e.g. U+009B is CSI) and the bidi embedding, override and isolate controls.
inline bool unsafe_sequence(std::string_view seq) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(seq[k]); };
  if (seq.size() == 2) return b(0) == 0xc2 && b(1) <= 0x9f;
  if (seq.size() == 3 && b(0) == 0xe2 && b(1) == 0x80) return b(2) >= 0xaa && b(2) <= 0xae;  // U+202A..U+202E
  if (seq.size() == 3 && b(0) == 0xe2 && b(1) == 0x81) return b(2) >= 0xa6 && b(2) <= 0xa9;  // U+2066..U+2069
  return false;
}

inline bool unsafe_ascii(unsigned char c, Keep keep) {
  if (keep == Keep::Lines && (c == '\n' || c == '\t')) return false;
  return c < 0x20 || c == 0x7f || (keep == Keep::Nothing && c == '\\');
}

inline void escape_byte(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '\\';
  if (c == '\\') { out += '\\'; return; }
  out += 'x';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Escapes S into OUT; returns how many trailing bytes were held back because S ends inside a
// UTF-8 sequence (only when HOLD_TAIL, for streams).
inline size_t escape_into(std::string& out, std::string_view s, Keep keep, bool hold_tail) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (unsafe_ascii(c, keep)) escape_byte(out, c);
      else out += char(c);
      ++i;
      continue;
    }
    int n = utf8_len(s, i);
    if (n < 0 && hold_tail) return s.size() - i;
    if (n <= 0) {  // not UTF-8 (a lone 0x9b is CSI on an 8-bit terminal): escape the byte
      escape_byte(out, c);
      ++i;
      continue;
    }
    std::string_view seq = s.substr(i, size_t(n));
    if (unsafe_sequence(seq)) {
      for (char d : seq) escape_byte(out, static_cast<unsigned char>(d));
    } else {
      out += seq;
    }
    i += size_t(n);
  }
  return 0;
}
}  // namespace printable_detail

// S with every byte that could drive a terminal replaced by \xNN (see Keep). Valid UTF-8 other
// than C1 and bidi controls passes; bytes that are not UTF-8 are escaped one by one.
inline std::string printable(std::string_view s, Keep keep = Keep::Nothing) {
  std::string out;
  out.reserve(s.size());
  printable_detail::escape_into(out, s, keep, false);
  return out;
}

// Offset of the first byte printable(S, KEEP) would escape, or npos: lets a writer refuse such
// text with the offset instead of storing bytes that would drive a terminal later.
inline size_t first_unprintable(std::string_view s, Keep keep = Keep::Lines) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (printable_detail::unsafe_ascii(c, keep)) return i;
      ++i;
      continue;
    }
    int n = printable_detail::utf8_len(s, i);
    if (n <= 0 || printable_detail::unsafe_sequence(s.substr(i, size_t(n)))) return i;
    i += size_t(n);
  }
  return std::string_view::npos;
}

// The same escaping for text that arrives in pieces split anywhere (a streamed reply): a UTF-8
// sequence cut between two pieces is held back until it completes, never escaped half by half.
class PrintableStream {
 public:
  explicit PrintableStream(Keep keep = Keep::Lines) : keep_(keep) {}
  std::string feed(std::string_view piece) {
    pending_.append(piece);
    std::string out;
    size_t held = printable_detail::escape_into(out, pending_, keep_, true);
    pending_.erase(0, pending_.size() - held);
    return out;
  }
  std::string finish() {  // whatever is still held is not UTF-8: escaped byte by byte
    std::string out = printable(pending_, keep_);
    pending_.clear();
    return out;
  }

 private:
  Keep keep_;
  std::string pending_;
};

}  // namespace pxos
