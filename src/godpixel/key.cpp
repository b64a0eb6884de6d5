// key.cpp: key derivation, probe sequence, the key-width test hook.
#include "godpixel/key.hpp"

#include <charconv>
#include <cstdlib>

#include "godpixel/config.hpp"

namespace pxos::god {

Result<unsigned> key_bits_from_env() {
  const char* v = std::getenv(kKeyBitsEnv);
  if (!v || !*v) return kDefaultKeyBits;
  unsigned b = 0;
  auto [p, ec] = std::from_chars(v, v + std::char_traits<char>::length(v), b);
  if (ec != std::errc() || *p || b < 1 || b > 32)
    return failf(Errc::Usage, "{}={}: must be a number of key bits from 1 to 32", kKeyBitsEnv, v);
  return b;
}

static uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

Key natural_key(const Sha256& h, unsigned bits) { return prefix_bits(be32(h.data()), bits); }
uint32_t probe_step(const Sha256& h, unsigned bits) { return (prefix_bits(be32(h.data() + 4), bits) | 1u) & key_mask(bits); }

std::array<uint8_t, 4> key_rgba(Key k) {
  return {uint8_t(k >> 24), uint8_t(k >> 16), uint8_t(k >> 8), uint8_t(k)};
}
Key key_from_rgba(const uint8_t* p) { return be32(p); }
std::string key_hex(Key k) { return fmt::format("0x{:08x}", k); }

Result<Key> parse_key(std::string_view s) {
  std::string_view d = s;
  if (d.starts_with("0x") || d.starts_with("0X")) d.remove_prefix(2);
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v, 16);
  if (d.empty() || d.size() > 8 || ec != std::errc() || p != d.data() + d.size())
    return failf(Errc::Usage, "{}: not a key (expected up to 8 hex digits, e.g. 0xd62ab25b)", s);
  return v;
}

}  // namespace pxos::god
