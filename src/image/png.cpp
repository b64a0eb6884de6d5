// png.cpp: the libspng glue. All limits are set before decoding a single byte of pixels.
#include "image/png.hpp"

#include "common/printable.hpp"

#include <spng.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace pxos::image {
namespace {
struct CtxDel { void operator()(spng_ctx* c) const { spng_ctx_free(c); } };
using Ctx = std::unique_ptr<spng_ctx, CtxDel>;
constexpr uint8_t kSig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
uint32_t crc32(ByteView b) {  // CRC-32 as PNG defines it (ISO 3309)
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (uint8_t x : b) c = table[(c ^ x) & 0xff] ^ (c >> 8);
  return ~c;
}
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
}  // namespace

Result<std::vector<ChunkSpan>> png_chunks(ByteView file, std::string_view name) {
  if (!looks_like_png(file)) return failf(Errc::PngInvalid, "{}: offset 0: not a PNG (bad signature)", name);
  std::vector<ChunkSpan> out;
  size_t at = 8;
  for (;;) {
    if (file.size() - at < 12)
      return failf(Errc::PngInvalid, "{}: offset {}: truncated PNG (no IEND chunk at the end)", name, file.size());
    ChunkSpan c;
    c.offset = at;
    c.length = be32(file.data() + at);
    std::memcpy(c.type.data(), file.data() + at + 4, 4);
    std::string_view type(c.type.data(), 4);
    if (c.length > kMaxChunkBytes || c.length > file.size() - at - 12)
      return failf(Errc::PngInvalid, "{}: offset {}: chunk '{}' of {} bytes runs past the end of the file (truncated PNG)",
                   name, at, printable(type), c.length);
    uint32_t stored = be32(file.data() + at + 8 + c.length);
    if (crc32(file.subspan(at + 4, size_t(c.length) + 4)) != stored)
      return failf(Errc::PngInvalid, "{}: offset {}: chunk '{}' has a bad CRC (corrupt PNG)", name, at, printable(type));
    if (out.empty() && type != "IHDR") return failf(Errc::PngInvalid, "{}: offset 8: the first chunk is not IHDR", name);
    out.push_back(c);
    at += 12 + size_t(c.length);
    if (type == "IEND") break;
  }
  if (at != file.size())
    return failf(Errc::PngInvalid, "{}: offset {}: {} bytes after the IEND chunk", name, at, file.size() - at);
  return out;
}

bool looks_like_png(ByteView f) { return f.size() >= 8 && std::memcmp(f.data(), kSig, 8) == 0; }

Result<Bytes> png_encode(const PngImage& img) {
  if (img.channels != 3 && img.channels != 4) return fail(Errc::Internal, "png_encode: channels must be 3 or 4");
  if (img.width == 0 || img.height == 0 || img.width > kMaxDimension || img.height > kMaxDimension ||
      uint64_t(img.width) * img.height > kMaxPixels)
    return failf(Errc::TooLarge, "image of {}x{} pixels is outside the supported size", img.width, img.height);
  if (img.pixels.size() != size_t(img.width) * img.height * size_t(img.channels))
    return fail(Errc::Internal, "png_encode: pixel buffer size does not match the image");
  Ctx ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  if (!ctx) return fail(Errc::Internal, "out of memory");
  spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = img.width;
  ihdr.height = img.height;
  ihdr.bit_depth = 8;
  ihdr.color_type = img.channels == 4 ? SPNG_COLOR_TYPE_TRUECOLOR_ALPHA : SPNG_COLOR_TYPE_TRUECOLOR;
  if (int e = spng_set_ihdr(ctx.get(), &ihdr)) return failf(Errc::Internal, "png encode: {}", spng_strerror(e));
  std::vector<spng_unknown_chunk> chunks;
  for (const auto& c : img.chunks) {
    spng_unknown_chunk u{};
    std::memcpy(u.type, c.type.data(), 4);
    u.length = c.data.size();
    u.data = const_cast<uint8_t*>(c.data.data());
    u.location = SPNG_AFTER_IHDR;
    chunks.push_back(u);
  }
  if (!chunks.empty())
    if (int e = spng_set_unknown_chunks(ctx.get(), chunks.data(), uint32_t(chunks.size())))
      return failf(Errc::Internal, "png encode: {}", spng_strerror(e));
  int e = spng_encode_image(ctx.get(), img.pixels.data(), img.pixels.size(), SPNG_FMT_PNG,
                            SPNG_ENCODE_FINALIZE);
  if (e) return failf(Errc::Internal, "png encode: {}", spng_strerror(e));
  size_t len = 0;
  void* buf = spng_get_png_buffer(ctx.get(), &len, &e);
  if (!buf) return failf(Errc::Internal, "png encode: {}", spng_strerror(e));
  Bytes out(static_cast<uint8_t*>(buf), static_cast<uint8_t*>(buf) + len);
  std::free(buf);
  return out;
}

Result<PngImage> png_decode(ByteView file, std::string_view name, int channels) {
  if (file.empty()) return failf(Errc::PngInvalid, "{}: empty file", name);
  if (!looks_like_png(file)) return failf(Errc::PngInvalid, "{}: offset 0: not a PNG (bad signature)", name);
  if (auto c = png_chunks(file, name); !c) return std::unexpected(c.error());
  Ctx ctx(spng_ctx_new(0));
  if (!ctx) return fail(Errc::Internal, "out of memory");
  spng_set_image_limits(ctx.get(), kMaxDimension, kMaxDimension);
  spng_set_chunk_limits(ctx.get(), kMaxChunkBytes, kMaxChunkBytes * 2);
  spng_set_option(ctx.get(), SPNG_KEEP_UNKNOWN_CHUNKS, 1);
  spng_set_crc_action(ctx.get(), SPNG_CRC_ERROR, SPNG_CRC_ERROR);
  spng_set_png_buffer(ctx.get(), file.data(), file.size());
  spng_ihdr ihdr{};
  if (int e = spng_get_ihdr(ctx.get(), &ihdr))
    return failf(Errc::PngInvalid, "{}: bad PNG header: {}", name, spng_strerror(e));
  if (uint64_t(ihdr.width) * ihdr.height > kMaxPixels)
    return failf(Errc::TooLarge, "{}: {}x{} pixels is over the {} pixel limit", name, ihdr.width, ihdr.height,
                 kMaxPixels);
  int fmt = channels == 3 ? SPNG_FMT_RGB8 : SPNG_FMT_RGBA8;
  size_t size = 0;
  if (int e = spng_decoded_image_size(ctx.get(), fmt, &size))
    return failf(Errc::PngInvalid, "{}: {}", name, spng_strerror(e));
  PngImage img;
  img.width = ihdr.width;
  img.height = ihdr.height;
  img.channels = channels;
  img.color_type = ihdr.color_type;
  img.bit_depth = ihdr.bit_depth;
  img.pixels.resize(size);
  if (int e = spng_decode_image(ctx.get(), img.pixels.data(), size, fmt, channels == 4 ? SPNG_DECODE_TRNS : 0))
    return failf(Errc::PngInvalid, "{}: corrupt image data: {}", name, spng_strerror(e));
  uint32_t n = 0;
  int e = spng_get_unknown_chunks(ctx.get(), nullptr, &n);
  if (e == 0 && n > 0) {
    std::vector<spng_unknown_chunk> u(n);
    if (spng_get_unknown_chunks(ctx.get(), u.data(), &n) == 0) {
      for (uint32_t i = 0; i < n; ++i) {
        PngChunk c;
        std::memcpy(c.type.data(), u[i].type, 4);
        auto* p = static_cast<const uint8_t*>(u[i].data);
        if (p) c.data.assign(p, p + u[i].length);
        img.chunks.push_back(std::move(c));
      }
    }
  }
  return img;
}

}  // namespace pxos::image
