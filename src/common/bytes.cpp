// bytes.cpp: SHA-256 (nettle: no library configuration to read at start-up) and hex formatting.
#include "common/bytes.hpp"

#include <nettle/sha2.h>

namespace pxos {

Sha256 sha256(ByteView data) {
  static_assert(SHA256_DIGEST_SIZE == std::tuple_size_v<Sha256>);
  Sha256 out{};
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), data.data());
  sha256_digest(&ctx, out.size(), out.data());
  return out;
}

std::string hex(ByteView data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (uint8_t b : data) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

}  // namespace pxos
