// bytes.hpp: byte buffers, a bounds-checked little-endian reader/writer, hex, SHA-256.
// Every parser in pxos reads through ByteReader so that a short input is an error, never a read past the end.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pxos {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256(ByteView data);
std::string hex(ByteView data);
inline std::string hex(const Sha256& h) { return hex(ByteView(h.data(), h.size())); }
inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Little-endian cursor over a byte span. Reads past the end set ok() = false and return 0.
class ByteReader {
 public:
  explicit ByteReader(ByteView d) : d_(d) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return ok_ ? d_.size() - pos_ : 0; }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == d_.size(); }
  uint8_t u8() { return static_cast<uint8_t>(le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  ByteView take(size_t n) {
    if (!ok_ || n > d_.size() - pos_) { ok_ = false; return {}; }
    ByteView v = d_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view str(size_t n) {
    ByteView v = take(n);
    return {reinterpret_cast<const char*>(v.data()), v.size()};
  }

 private:
  uint64_t le(size_t n) {
    if (!ok_ || n > d_.size() - pos_) { ok_ = false; return 0; }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(d_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }
  ByteView d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Little-endian appender.
class ByteWriter {
 public:
  Bytes& out;
  explicit ByteWriter(Bytes& o) : out(o) {}
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void bytes(ByteView v) { out.insert(out.end(), v.begin(), v.end()); }
  void str(std::string_view s) { bytes(as_bytes(s)); }

 private:
  void le(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
};

inline void put_u32le(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t get_u32le(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace pxos
