// pxi.cpp: pack bytes into PNG pixels and back, verifying everything the chunk claims.
#include "image/pxi.hpp"

#include <cmath>
#include <cstring>

#include "common/fs.hpp"
#include "image/png.hpp"

namespace pxos::image {

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::Raw: return "raw";
    case Kind::Bytecode: return "bytecode";
    case Kind::Archive: return "archive";
    case Kind::GodKey: return "god-key";
    case Kind::GodBootstrap: return "god-bootstrap";
    case Kind::Kernel: return "kernel";
  }
  return "unknown";
}

void pxi_dims(uint64_t n, uint32_t& w, uint32_t& h) {
  uint64_t px = std::max<uint64_t>(1, (n + 2) / 3);
  uint64_t side = uint64_t(std::ceil(std::sqrt(double(px))));
  while (side * side < px) ++side;
  w = uint32_t(std::max<uint64_t>(1, side));
  h = uint32_t((px + w - 1) / w);
}

Result<Bytes> encode_pxi(ByteView payload, Kind kind) {
  if (payload.size() > kMaxPayload)
    return failf(Errc::TooLarge, "payload of {} bytes is over the {} byte limit", payload.size(), kMaxPayload);
  PngImage img;
  pxi_dims(payload.size(), img.width, img.height);
  img.channels = 3;
  img.pixels.assign(size_t(img.width) * img.height * 3, 0);
  if (!payload.empty()) std::memcpy(img.pixels.data(), payload.data(), payload.size());
  PngChunk c;
  std::memcpy(c.type.data(), kPxiChunk, 4);
  ByteWriter w(c.data);
  w.u8(kPxiVersion);
  w.u8(uint8_t(kind));
  w.u8(3);
  w.u8(0);
  w.u64(payload.size());
  Sha256 h = sha256(payload);
  w.bytes(h);
  img.chunks.push_back(std::move(c));
  return png_encode(img);
}

Result<Pxi> decode_pxi(ByteView file, std::string_view name) {
  if (file.empty()) return failf(Errc::PxiInvalid, "{}: empty file", name);
  if (looks_like_pxfs(file)) return decode_pxfs(file, name);
  if (!looks_like_png(file))
    return failf(Errc::PxiInvalid, "{}: offset 0: neither a PNG nor a PixelFS image (bad magic)", name);
  auto png = png_decode(file, name, 3);
  if (!png) return std::unexpected(png.error());
  // The format says: exactly one pxIm chunk, right after IHDR (png_decode checked every CRC).
  auto spans = png_chunks(file, name);
  if (!spans) return std::unexpected(spans.error());
  const ChunkSpan* at = nullptr;
  for (size_t i = 0; i < spans->size(); ++i) {
    const ChunkSpan& c = (*spans)[i];
    if (std::memcmp(c.type.data(), kPxiChunk, 4) != 0) continue;
    if (at) return failf(Errc::PxiInvalid, "{}: offset {}: more than one pxIm chunk", name, c.offset);
    if (i != 1) return failf(Errc::PxiInvalid, "{}: offset {}: the pxIm chunk must come right after IHDR", name, c.offset);
    at = &c;
  }
  if (!at) return failf(Errc::PxiInvalid, "{}: a PNG, but not a pxos image (no pxIm chunk)", name);
  PngChunk own;
  own.data.assign(file.begin() + ptrdiff_t(at->offset + 8), file.begin() + ptrdiff_t(at->offset + 8 + at->length));
  const PngChunk* hdr = &own;
  if (hdr->data.size() != kPxiChunkSize)
    return failf(Errc::PxiInvalid, "{}: pxIm chunk is {} bytes, expected {}", name, hdr->data.size(), kPxiChunkSize);
  ByteReader r(hdr->data);
  Pxi out;
  out.version = r.u8();
  uint8_t kind = r.u8(), bpp = r.u8(), flags = r.u8();
  uint64_t len = r.u64();
  ByteView h = r.take(32);
  if (out.version != kPxiVersion)
    return failf(Errc::PxiInvalid, "{}: pxIm version {} is not supported (this build reads {})", name,
                 out.version, kPxiVersion);
  if (!kind_known(kind)) return failf(Errc::PxiInvalid, "{}: unknown payload kind {}", name, kind);
  if (bpp != 3 || flags != 0) return failf(Errc::PxiInvalid, "{}: unsupported pixel packing (bpp {}, flags {})", name, bpp, flags);
  if (len > png->pixels.size())
    return failf(Errc::PxiInvalid, "{}: header claims {} payload bytes but the pixels hold only {}", name, len,
                 png->pixels.size());
  out.kind = Kind(kind);
  out.width = png->width;
  out.height = png->height;
  out.payload.assign(png->pixels.begin(), png->pixels.begin() + ptrdiff_t(len));
  out.sha = sha256(out.payload);
  if (std::memcmp(out.sha.data(), h.data(), 32) != 0)
    return failf(Errc::HashMismatch, "{}: payload SHA-256 {} does not match the header's {}", name, hex(out.sha),
                 hex(h));
  return out;
}

bool looks_like_pxfs(ByteView f) {
  return f.size() >= 4 && (get_u32le(f.data()) == kPxfsMagic || std::memcmp(f.data(), "PXFS", 4) == 0);
}

Result<Pxi> decode_pxfs(ByteView file, std::string_view name) {
  if (file.size() < kPxfsHeader)
    return failf(Errc::PxiInvalid, "{}: PixelFS header truncated ({} of {} bytes)", name, file.size(), kPxfsHeader);
  ByteReader r(file);
  r.u32();
  uint32_t version = r.u32();
  uint64_t size = r.u64();
  uint32_t w = r.u32(), h = r.u32();
  ByteView hash = r.take(32);
  if (version != 1) return failf(Errc::PxiInvalid, "{}: offset 4: PixelFS version {} is not supported", name, version);
  if (w == 0 || h == 0 || w > kMaxDimension || h > kMaxDimension || uint64_t(w) * h > kMaxPixels)
    return failf(Errc::TooLarge, "{}: offset 16: absurd PixelFS size {}x{}", name, w, h);
  uint64_t pix = uint64_t(w) * h * 3;
  if (file.size() - kPxfsHeader < pix)
    return failf(Errc::PxiInvalid, "{}: PixelFS pixels truncated: {} of {} bytes", name, file.size() - kPxfsHeader, pix);
  if (size > pix) return failf(Errc::PxiInvalid, "{}: offset 8: data size {} exceeds the {} pixel bytes", name, size, pix);
  Pxi out;
  out.legacy = true;
  out.version = uint8_t(version);
  out.kind = Kind::Raw;
  out.width = w;
  out.height = h;
  out.payload.assign(file.begin() + kPxfsHeader, file.begin() + kPxfsHeader + ptrdiff_t(size));
  out.sha = sha256(out.payload);
  if (std::memcmp(out.sha.data(), hash.data(), 32) != 0)
    return failf(Errc::HashMismatch, "{}: PixelFS data SHA-256 {} does not match the header's {}", name,
                 hex(out.sha), hex(hash));
  // A legacy payload that is a PXBC module runs like a modern one.
  if (out.payload.size() >= 4 && std::memcmp(out.payload.data(), "PXBC", 4) == 0) out.kind = Kind::Bytecode;
  return out;
}

Bytes encode_pxfs(ByteView payload) {
  uint32_t w, h;
  pxi_dims(payload.size(), w, h);
  Bytes out;
  ByteWriter bw(out);
  bw.u32(kPxfsMagic);
  bw.u32(1);
  bw.u64(payload.size());
  bw.u32(w);
  bw.u32(h);
  bw.bytes(sha256(payload));
  out.resize(kPxfsHeader, 0);
  out.insert(out.end(), payload.begin(), payload.end());
  out.resize(kPxfsHeader + size_t(w) * h * 3, 0);
  return out;
}

Result<Pxi> load_pxi(const std::string& path) {
  auto f = read_file(path);
  if (!f) return std::unexpected(f.error());
  return decode_pxi(*f, path);
}

Status save_pxi(const std::string& path, ByteView payload, Kind kind) {
  auto png = encode_pxi(payload, kind);
  if (!png) return std::unexpected(png.error());
  return write_file_atomic(path, *png);
}

}  // namespace pxos::image
