// fuzz_pxi.cpp: any bytes through the .pxi / PixelFS decoder and, for bytecode, the module parser.
// Must never crash, hang or accept a payload whose hash does not match.
#include <cstdint>
#include <cstdlib>

#include "image/pxi.hpp"
#include "isa/module.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto img = pxos::image::decode_pxi(pxos::ByteView(data, size), "fuzz.pxi");
  if (!img) return 0;
  if (pxos::sha256(img->payload) != img->sha) std::abort();  // decoder accepted a bad hash
  auto m = pxos::isa::parse_module(img->payload, "fuzz.pxi");
  if (m && pxos::isa::serialize(*m).value() != img->payload) std::abort();  // parse/serialize must agree
  return 0;
}
