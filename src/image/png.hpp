// png.hpp: PNG encode/decode through libspng, with private chunks and hard limits, so
// truncated, corrupted or absurd images are errors with a reason, never a crash.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::image {

inline constexpr uint32_t kMaxDimension = 1u << 15;   // refuse width or height above 32768
inline constexpr uint64_t kMaxPixels = 1ull << 26;    // refuse images over 64 Mpixel
inline constexpr size_t kMaxChunkBytes = 64u << 20;  // refuse any single chunk over 64 MiB

struct PngChunk {
  std::array<char, 4> type{};  // e.g. "pxIm"; ancillary + private: lower, lower, upper, lower
  Bytes data;
};

struct PngImage {
  uint32_t width = 0, height = 0;
  int channels = 0;  // 3 (RGB8) or 4 (RGBA8): the layout of `pixels`
  Bytes pixels;      // row-major, channels bytes per pixel
  std::vector<PngChunk> chunks;  // private/unknown chunks found before IDAT
  uint8_t color_type = 0, bit_depth = 0;  // as stored in the file
};

// Where one chunk lies in a PNG file (offset of its length field).
struct ChunkSpan {
  std::array<char, 4> type{};
  size_t offset = 0;
  uint32_t length = 0;
};
// Walks the chunk list of a PNG: IHDR first, every length inside the file, every CRC right,
// IEND last with nothing after it. libspng alone skips some of these (it stops at the last
// IDAT), so every reader goes through this first.
Result<std::vector<ChunkSpan>> png_chunks(ByteView file, std::string_view name);

// Encodes pixels (channels 3 or 4, 8 bits) with the chunks placed before IDAT.
Result<Bytes> png_encode(const PngImage& img);
// Decodes any standard PNG, converted to `channels` (3 or 4) 8-bit samples.
// `name` prefixes error messages ("key.png: ...").
Result<PngImage> png_decode(ByteView file, std::string_view name, int channels = 4);
bool looks_like_png(ByteView file);

}  // namespace pxos::image
