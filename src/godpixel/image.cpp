// image.cpp: key and bootstrap images: a bounds-checked chunk walk, then libspng for pixels.
#include "godpixel/image.hpp"

#include <cmath>
#include <cstring>

#include "godpixel/config.hpp"
#include "godpixel/object.hpp"
#include "image/png.hpp"

namespace pxos::god {
namespace {

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

struct Scan {
  uint32_t width = 0, height = 0;
  std::optional<ByteView> chunk;
  int count = 0;  // pxGp chunks seen
};

// Walks every chunk to IEND (a cut file is refused here, whatever part was cut): IHDR's size and
// the pxGp chunk, which must come before the first IDAT. CRCs are left to libspng.
Result<Scan> scan(ByteView f, std::string_view name) {
  if (!image::looks_like_png(f)) return failf(Errc::PngInvalid, "{}: offset 0: not a PNG (bad signature)", name);
  Scan s;
  size_t off = 8;
  bool ihdr = false, idat = false;
  while (true) {
    if (f.size() - off < 12)
      return failf(Errc::PngInvalid, "{}: offset {}: truncated PNG (chunk header cut off)", name, off);
    uint32_t len = be32(f.data() + off);
    const uint8_t* type = f.data() + off + 4;
    if (len > 0x7fffffffu || f.size() - off - 12 < len)
      return failf(Errc::PngInvalid, "{}: offset {}: truncated PNG (chunk of {} bytes runs past the end)", name, off, len);
    ByteView data = f.subspan(off + 8, len);
    if (!ihdr) {
      if (std::memcmp(type, "IHDR", 4) != 0 || len != 13)
        return failf(Errc::PngInvalid, "{}: offset {}: first chunk is not a 13-byte IHDR", name, off);
      s.width = be32(data.data());
      s.height = be32(data.data() + 4);
      ihdr = true;
    } else if (std::memcmp(type, kGodChunk, 4) == 0) {
      if (idat) return failf(Errc::PngInvalid, "{}: offset {}: pxGp chunk after the image data", name, off);
      ++s.count;
      s.chunk = data;
    } else if (std::memcmp(type, "IDAT", 4) == 0) {
      idat = true;
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      break;
    }
    off += 12 + size_t(len);
  }
  if (!idat) return failf(Errc::PngInvalid, "{}: no image data (IDAT)", name);
  return s;
}

Bytes chunk_bytes(const GodImage& g, uint64_t zlen) {
  Bytes c;
  ByteWriter w(c);
  w.u8(kGodVersion);
  w.u8(uint8_t(g.type));
  w.u8(uint8_t(g.method));
  w.u8(uint8_t(g.key_bits));
  w.u8(uint8_t(g.kind));
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u64(g.length);
  w.u64(zlen);
  w.bytes(g.sha);
  return c;
}

}  // namespace

bool is_god_image(ByteView file) {
  auto s = scan(file, "");
  return s && s->count > 0;
}

Result<GodImage> decode_god_image(ByteView file, std::string_view name) {
  auto s = scan(file, name);
  if (!s) return std::unexpected(s.error());
  if (s->count == 0) {
    if (s->width == 1 && s->height == 1)
      return failf(Errc::PxiInvalid, "{}: a 1x1 PNG, but it carries no god-pixel key (no pxGp chunk)", name);
    return failf(Errc::PxiInvalid, "{}: a {}x{} PNG without a god-pixel key (no pxGp chunk; a key image is 1x1)", name,
                 s->width, s->height);
  }
  if (s->count > 1) return failf(Errc::PxiInvalid, "{}: more than one pxGp chunk", name);
  ByteView c = *s->chunk;
  if (c.size() != kGodChunkSize)
    return failf(Errc::PxiInvalid, "{}: pxGp chunk is {} bytes, expected {}", name, c.size(), kGodChunkSize);
  ByteReader r(c);
  GodImage g;
  uint8_t ver = r.u8(), type = r.u8(), method = r.u8(), bits = r.u8(), kind = r.u8();
  uint8_t r0 = r.u8(), r1 = r.u8(), r2 = r.u8();
  g.length = r.u64();
  uint64_t zlen = r.u64();
  ByteView h = r.take(32);
  std::memcpy(g.sha.data(), h.data(), 32);
  if (ver != kGodVersion)
    return failf(Errc::PxiInvalid, "{}: pxGp version {} is not supported (this build reads {})", name, ver, kGodVersion);
  if (type != uint8_t(image::Kind::GodKey) && type != uint8_t(image::Kind::GodBootstrap))
    return failf(Errc::PxiInvalid, "{}: pxGp offset 1: unknown image type {}", name, type);
  if (method > 1) return failf(Errc::PxiInvalid, "{}: pxGp offset 2: unknown method {}", name, method);
  if (bits < 1 || bits > 32) return failf(Errc::PxiInvalid, "{}: pxGp offset 3: key width {} bits", name, bits);
  if (!image::kind_known(kind) || kind == uint8_t(image::Kind::GodKey) || kind == uint8_t(image::Kind::GodBootstrap))
    return failf(Errc::PxiInvalid, "{}: pxGp offset 4: bad payload kind {}", name, kind);
  if (r0 | r1 | r2) return failf(Errc::PxiInvalid, "{}: pxGp offset 5: reserved bytes are not zero", name);
  if (g.length > kMaxPayload)
    return failf(Errc::TooLarge, "{}: pxGp offset 8: payload of {} bytes is over the {} byte limit", name, g.length, kMaxPayload);
  g.type = image::Kind(type);
  g.method = Method(method);
  g.key_bits = bits;
  g.kind = image::Kind(kind);
  bool key_only = g.type == image::Kind::GodKey;
  if (key_only) {
    if (s->width != 1 || s->height != 1)
      return failf(Errc::PxiInvalid, "{}: a key image is 1x1, this one is {}x{}", name, s->width, s->height);
    if (zlen != 0) return failf(Errc::PxiInvalid, "{}: pxGp offset 16: a key image carries no payload bytes", name);
  } else {
    if (g.method != Method::Hash) return failf(Errc::PxiInvalid, "{}: a bootstrap image uses the hash method", name);
    uint64_t cap = uint64_t(s->width) * s->height * 4;
    if (zlen == 0 || cap < 4 || zlen > cap - 4)
      return failf(Errc::PxiInvalid, "{}: pxGp offset 16: {} zstd bytes do not fit {}x{} pixels after the key", name,
                   zlen, s->width, s->height);
  }
  auto png = image::png_decode(file, name, 4);
  if (!png) return std::unexpected(png.error());
  g.width = png->width;
  g.height = png->height;
  if (png->pixels.size() < 4 + (key_only ? 0 : zlen))
    return failf(Errc::PxiInvalid, "{}: pixels hold {} bytes, the header needs {}", name, png->pixels.size(), 4 + zlen);
  g.key = key_from_rgba(png->pixels.data());
  if ((g.key & ~key_mask(bits)) != 0)
    return failf(Errc::PxiInvalid, "{}: key pixel {} does not fit the image's {}-bit key width", name, key_hex(g.key), bits);
  if (!key_only) g.z.assign(png->pixels.begin() + 4, png->pixels.begin() + 4 + ptrdiff_t(zlen));
  return g;
}

Result<Bytes> encode_key_image(const GodImage& g) {
  image::PngImage img;
  img.width = img.height = 1;
  img.channels = 4;
  auto px = key_rgba(g.key);
  img.pixels.assign(px.begin(), px.end());
  image::PngChunk c;
  std::memcpy(c.type.data(), kGodChunk, 4);
  GodImage k = g;
  k.type = image::Kind::GodKey;
  c.data = chunk_bytes(k, 0);
  img.chunks.push_back(std::move(c));
  return image::png_encode(img);
}

Result<Bytes> encode_bootstrap_image(ByteView payload, image::Kind kind, unsigned key_bits) {
  if (payload.size() > kMaxPayload)
    return failf(Errc::TooLarge, "payload of {} bytes is over the {} byte limit", payload.size(), kMaxPayload);
  GodImage g;
  g.type = image::Kind::GodBootstrap;
  g.method = Method::Hash;
  g.key_bits = key_bits;
  g.kind = kind;
  g.length = payload.size();
  g.sha = sha256(payload);
  g.key = natural_key(g.sha, key_bits);
  auto z = compress(payload, kZstdLevel);
  if (!z) return std::unexpected(z.error());
  uint64_t npix = 1 + (z->size() + 3) / 4;
  uint64_t w = uint64_t(std::ceil(std::sqrt(double(npix))));
  while (w * w < npix) ++w;
  image::PngImage img;
  img.width = uint32_t(w);
  img.height = uint32_t((npix + w - 1) / w);
  img.channels = 4;
  img.pixels.assign(size_t(img.width) * img.height * 4, 0);
  auto px = key_rgba(g.key);
  std::memcpy(img.pixels.data(), px.data(), 4);
  std::memcpy(img.pixels.data() + 4, z->data(), z->size());
  image::PngChunk c;
  std::memcpy(c.type.data(), kGodChunk, 4);
  c.data = chunk_bytes(g, z->size());
  img.chunks.push_back(std::move(c));
  return image::png_encode(img);
}

Result<Bytes> bootstrap_payload(const GodImage& g, std::string_view name) {
  if (g.type != image::Kind::GodBootstrap) return failf(Errc::Internal, "{}: not a bootstrap image", name);
  Key want = natural_key(g.sha, g.key_bits);
  if (g.key != want)
    return failf(Errc::HashMismatch, "{}: key pixel {} is not the key {} of the payload hash in the header", name,
                 key_hex(g.key), key_hex(want));
  auto p = decompress_exact(g.z, g.length, fmt::format("{}: embedded payload", name));
  if (!p) return p;
  Sha256 got = sha256(*p);
  if (got != g.sha)
    return failf(Errc::HashMismatch, "{}: embedded payload hashes to {}, the header says {}", name, hex(got), hex(g.sha));
  return p;
}

}  // namespace pxos::god
