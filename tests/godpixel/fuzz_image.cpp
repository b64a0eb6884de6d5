// fuzz_image.cpp: the key / bootstrap image decoder (chunk walk, pxGp header, pixels) and the
// bootstrap payload extraction on arbitrary bytes: errors are fine, crashes and hangs are not.
#include <cstdint>

#include "godpixel/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pxos::ByteView in(data, size);
  (void)pxos::god::is_god_image(in);
  auto g = pxos::god::decode_god_image(in, "fuzz.png");
  if (g && g->type == pxos::image::Kind::GodBootstrap && g->length <= (16u << 20))
    (void)pxos::god::bootstrap_payload(*g, "fuzz.png");
  return 0;
}
