// fuzz_object.cpp: the store's object reader (one zstd frame, declared size, trailing bytes,
// re-hash) on arbitrary bytes. The expected hash is the corpus object's, so valid inputs pass.
#include <cstdint>

#include "godpixel/object.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const pxos::Sha256 want = pxos::sha256(pxos::as_bytes("pxos god pixel fuzz corpus object\n"));
  auto r = pxos::god::decode_object(pxos::ByteView(data, size), want, "fuzz.obj", 1u << 20);
  if (r && pxos::sha256(*r) != want) __builtin_trap();  // a returned object always hashes right
  return 0;
}
