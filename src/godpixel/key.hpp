// key.hpp: what a god pixel really is: a 32-bit key (one RGBA8 pixel) into the store's index,
// derived from the payload's SHA-256, plus the deterministic probe sequence used on a collision.
//
//  SHA-256 of the payload:  h0 h1 h2 h3 | h4 h5 h6 h7 | h8 ...
//                           \_ key k0 _/  \_ step s _/
//  k0 = first `bits` bits of h0..h3 (big-endian)      pixel = RGBA(k>>24, k>>16, k>>8, k) for bits = 32
//  s  = first `bits` bits of h4..h7, forced odd        (odd: the sequence visits every key once)
//  probe i: k_i = (k0 + i * s) mod 2^bits,  i = 0, 1, 2, ...
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::god {

using Key = uint32_t;

// PXOS_GOD_KEY_BITS (1..32), the test hook that shrinks the key space; default 32.
Result<unsigned> key_bits_from_env();
constexpr uint32_t key_mask(unsigned bits) { return bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1); }
// The first `bits` bits of a big-endian u32.
constexpr Key prefix_bits(uint32_t v, unsigned bits) { return bits >= 32 ? v : v >> (32 - bits); }

Key natural_key(const Sha256& h, unsigned bits);   // probe 0 of the hash method
uint32_t probe_step(const Sha256& h, unsigned bits);  // odd
inline Key probe(Key k0, uint32_t step, uint64_t i, unsigned bits) {
  return Key((uint64_t(k0) + i * uint64_t(step)) & key_mask(bits));
}

std::array<uint8_t, 4> key_rgba(Key k);  // R = bits 31..24 … A = bits 7..0
Key key_from_rgba(const uint8_t* p);
std::string key_hex(Key k);              // "0xd62ab25b"
Result<Key> parse_key(std::string_view s);  // "0xd62ab25b" or "d62ab25b"

}  // namespace pxos::god
