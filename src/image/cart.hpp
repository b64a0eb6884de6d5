// cart.hpp: cartridges (PICO-8 / TIC-80 style): a payload hidden in the low bits of a visible
// label picture, with a header and SHA-256 in the pixels and a private "pxCa" chunk as well, so
// a cart still loads after metadata stripping or any re-encoding that keeps the pixels.
//
//  header (44 bytes, little-endian; the same bytes open the pxCa chunk, the payload follows):
//   0        4     5      6      7      8          12                         44
//  +--------+-----+------+------+------+----------+--------------------------+
//  | 'PXCA' | ver | bits | kind | flags| u32 len  | SHA-256 of the payload   |
//  +--------+-----+------+------+------+----------+--------------------------+
//
//  pixels (RGB8, row-major; channel c = R,G,B of pixel c/3, alpha dropped):
//   channels 0..175      the header at 2 bits a channel (its depth is fixed, so it is found
//                        before the payload's depth is known)
//   channels 176..       the payload at `bits` (1..4) a channel
//  The bytes form one bit stream, most significant bit first, cut into groups of the depth;
//  group j replaces the low bits of channel j. The last group is padded with zero bits.
#pragma once
#include <cstdint>
#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "image/png.hpp"
#include "image/pxi.hpp"

namespace pxos::image {

inline constexpr char kCartMagic[4] = {'P', 'X', 'C', 'A'};
inline constexpr char kCartChunk[4] = {'p', 'x', 'C', 'a'};  // ancillary, private, safe to copy
inline constexpr uint8_t kCartVersion = 1;
inline constexpr size_t kCartHeaderSize = 44;
inline constexpr unsigned kCartHeaderBits = 2;  // PICO-8's depth: invisible on a photo
inline constexpr unsigned kCartMaxBits = 4;     // deeper than 4 bits the label turns to noise
inline constexpr uint64_t kCartHeaderChannels = kCartHeaderSize * 8 / kCartHeaderBits;  // 176
inline constexpr uint32_t kCartMaxPayload = 64u << 20;  // the chunk must stay under kMaxChunkBytes

// Payload bytes a w x h label holds at `bits` per channel (0 if the header does not fit).
uint64_t cart_capacity(uint32_t w, uint32_t h, unsigned bits);

// Hides `payload` in `label` (3 channels). bits 0 picks the smallest depth that fits.
// `label_name` names the label in errors (a label too small for the payload).
Result<PngImage> make_cart(const PngImage& label, ByteView payload, Kind kind, unsigned bits,
                           std::string_view label_name);

struct Cart {
  Kind kind = Kind::Bytecode;
  Bytes payload;
  Sha256 sha{};
  unsigned bits = 0;               // payload depth (from the source used)
  uint32_t width = 0, height = 0;
  uint64_t capacity = 0;           // payload bytes the label holds at `bits`
  bool from_chunk = false;         // the pxCa chunk was present (and verified): it was used
  bool pixels_found = false;       // the pixels hold a cart header
  bool pixels_ok = false;          // ... and their payload matches its SHA-256
};

bool looks_like_jpeg(ByteView file);
// True for a PNG holding a cart: a pxCa chunk, or the cart magic in its pixels' low bits.
bool looks_like_cart(ByteView file);
// Verifies everything; the chunk is used when present, else the pixels. `name` prefixes errors.
Result<Cart> decode_cart(ByteView file, std::string_view name);

}  // namespace pxos::image
