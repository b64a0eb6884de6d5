// fuzz_object.cpp: the store's object reader (header frame, one zstd frame, declared size,
// trailing bytes, re-hash) and the header parser on arbitrary bytes. The expected hash is the
// corpus object's, so valid inputs pass.
#include <cstdint>

#include "godpixel/object.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const pxos::Sha256 want = pxos::sha256(pxos::as_bytes("pxos god pixel fuzz corpus object\n"));
  pxos::ByteView in(data, size);
  auto r = pxos::god::decode_object(in, want, "fuzz.obj", 1u << 20);
  if (r && pxos::sha256(*r) != want) __builtin_trap();  // a returned object always hashes right
  size_t used = 0;
  auto h = pxos::god::parse_header(in, "fuzz.obj", &used);
  if (h && *h) {
    if (used > size) __builtin_trap();
    // A parsed header re-encodes to the very bytes it came from (no field is silently dropped).
    pxos::Bytes again = pxos::god::encode_header(**h);
    if (again.size() != used || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  }
  return 0;
}
