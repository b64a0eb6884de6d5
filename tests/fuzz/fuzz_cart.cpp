// fuzz_cart.cpp: any bytes through the cartridge decoder (chunk and low-bit pixel paths) and, for
// bytecode, the module parser. Must never crash, hang or accept a payload whose hash does not match.
#include <cstdint>
#include <cstdlib>

#include "image/cart.hpp"
#include "isa/module.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pxos::ByteView in(data, size);
  (void)pxos::image::looks_like_cart(in);  // the loader's probe reads the same bytes first
  auto c = pxos::image::decode_cart(in, "fuzz.png");
  if (!c) return 0;
  if (pxos::sha256(c->payload) != c->sha) std::abort();           // accepted a bad hash
  if (c->payload.size() > c->capacity && !c->from_chunk) std::abort();  // read past the label
  auto m = pxos::isa::parse_module(c->payload, "fuzz.png");
  if (m && pxos::isa::serialize(*m).value() != c->payload) std::abort();
  return 0;
}
