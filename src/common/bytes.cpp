// bytes.cpp: SHA-256 (OpenSSL's libcrypto) and hex formatting.
#include "common/bytes.hpp"

#include <openssl/evp.h>

namespace pxos {

Sha256 sha256(ByteView data) {
  Sha256 out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
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
