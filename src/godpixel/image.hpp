// image.hpp: the two god-pixel image forms, both real PNGs with a private "pxGp" chunk:
//   key image (type 3 = Kind::GodKey):        1×1 RGBA; the pixel is the key (R = bits 31..24).
//   bootstrap image (type 4 = GodBootstrap):  RGBA, pixel 0 = the key, then the zstd frame of the
//                                             payload, 4 bytes per pixel (R G B A), zero padded.
//
//  bootstrap pixels (row-major, width = ceil(sqrt(1 + ceil(zlen / 4)))):
//   pixel 0          pixel 1          pixel 2 ...
//  [k31..24 .. k7..0][z0 z1 z2 z3]    [z4 z5 z6 z7] ...
//
//  pxGp chunk (56 bytes, little-endian), before IDAT:
//   0     1      2       3        4      5         8            16           24          56
//  +-----+------+-------+--------+------+---------+------------+------------+-----------+
//  | ver | type |method |key bits| kind | 0 0 0   | u64 length | u64 zlen   | SHA-256   |
//  +-----+------+-------+--------+------+---------+------------+------------+-----------+
//   type 3 key / 4 bootstrap; method 0 hash / 1 seed; kind = the payload's image::Kind;
//   length = payload bytes; zlen = zstd bytes in the pixels (0 in a key image);
//   SHA-256 = the payload's: a key resurrected from any store must hash to it.
#pragma once
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "godpixel/key.hpp"
#include "godpixel/store.hpp"
#include "image/pxi.hpp"

namespace pxos::god {

inline constexpr char kGodChunk[4] = {'p', 'x', 'G', 'p'};
inline constexpr size_t kGodChunkSize = 56;
inline constexpr uint8_t kGodVersion = 1;

struct GodImage {
  image::Kind type = image::Kind::GodKey;  // GodKey or GodBootstrap
  Method method = Method::Hash;
  unsigned key_bits = 32;
  image::Kind kind = image::Kind::Bytecode;  // of the payload
  uint64_t length = 0;
  Sha256 sha{};
  Key key = 0;
  Bytes z;  // bootstrap only: the zstd frame
  uint32_t width = 1, height = 1;
};

// Cheap test (no pixel decode): a PNG carrying a pxGp chunk before IDAT.
bool is_god_image(ByteView file);
// Full decode with every check; `name` prefixes errors.
Result<GodImage> decode_god_image(ByteView file, std::string_view name);
Result<Bytes> encode_key_image(const GodImage& g);
Result<Bytes> encode_bootstrap_image(ByteView payload, image::Kind kind, unsigned key_bits);
// Decompresses a bootstrap image's payload and checks length, SHA-256 and the key pixel.
Result<Bytes> bootstrap_payload(const GodImage& g, std::string_view name);

}  // namespace pxos::god
