// cart.cpp: low-bit embedding and extraction of cartridges; every field is checked against the
// pixels it claims before a byte of payload is trusted.
#include "image/cart.hpp"

#include <cstring>

namespace pxos::image {
namespace {

// Writes `data` as a bit stream into the low `bits` of channels starting at `ch`.
void put_bits(Bytes& px, uint64_t ch, ByteView data, unsigned bits) {
  const uint8_t keep = uint8_t(0xFF << bits);
  uint32_t acc = 0;
  unsigned have = 0;
  auto emit = [&](uint32_t v) { px[ch] = uint8_t((px[ch] & keep) | v); ++ch; };
  for (uint8_t b : data) {
    acc = (acc << 8) | b;
    have += 8;
    while (have >= bits) {
      have -= bits;
      emit((acc >> have) & ((1u << bits) - 1));
    }
  }
  if (have) emit((acc << (bits - have)) & ((1u << bits) - 1));
}

// Reads n bytes from the low `bits` of channels starting at `ch` (caller checked the range).
Bytes get_bits(ByteView px, uint64_t ch, uint64_t n, unsigned bits) {
  Bytes out;
  out.reserve(n);
  uint32_t acc = 0;
  unsigned have = 0;
  while (out.size() < n) {
    acc = (acc << bits) | (px[ch++] & ((1u << bits) - 1));
    have += bits;
    if (have >= 8) {
      have -= 8;
      out.push_back(uint8_t(acc >> have));
      acc &= (1u << have) - 1;
    }
  }
  return out;
}

uint64_t channels_for(uint64_t bytes, unsigned bits) { return (bytes * 8 + bits - 1) / bits; }

Bytes header(ByteView payload, Kind kind, unsigned bits) {
  Bytes h;
  ByteWriter w(h);
  w.bytes(as_bytes(std::string_view(kCartMagic, 4)));
  w.u8(kCartVersion);
  w.u8(uint8_t(bits));
  w.u8(uint8_t(kind));
  w.u8(0);
  w.u32(uint32_t(payload.size()));
  w.bytes(sha256(payload));
  return h;
}

struct Header {
  unsigned bits = 0;
  Kind kind = Kind::Raw;
  uint32_t length = 0;
  Sha256 sha{};
};

// `where` says where the header was read ("pxCa chunk at offset N" or "pixels").
Result<Header> parse_header(ByteView h, std::string_view name, std::string_view where) {
  ByteReader r(h);
  if (std::memcmp(r.take(4).data(), kCartMagic, 4) != 0)
    return failf(Errc::PxiInvalid, "{}: {}: byte 0: no 'PXCA' cart magic", name, where);
  uint8_t ver = r.u8(), bits = r.u8(), kind = r.u8(), flags = r.u8();
  Header out;
  out.length = r.u32();
  std::memcpy(out.sha.data(), r.take(32).data(), 32);
  if (ver != kCartVersion)
    return failf(Errc::PxiInvalid, "{}: {}: byte 4: cart version {} is not supported (this build reads {})", name,
                 where, ver, kCartVersion);
  if (bits < 1 || bits > kCartMaxBits)
    return failf(Errc::PxiInvalid, "{}: {}: byte 5: {} bits per channel (must be 1..{})", name, where, bits,
                 kCartMaxBits);
  if (!kind_known(kind)) return failf(Errc::PxiInvalid, "{}: {}: byte 6: unknown payload kind {}", name, where, kind);
  if (flags != 0) return failf(Errc::PxiInvalid, "{}: {}: byte 7: unknown flags {:#x}", name, where, flags);
  if (out.length > kCartMaxPayload)
    return failf(Errc::TooLarge, "{}: {}: byte 8: payload of {} bytes is over the {} byte limit", name, where,
                 out.length, kCartMaxPayload);
  out.bits = bits;
  out.kind = Kind(kind);
  return out;
}

bool pixel_magic(const PngImage& img) {
  if (img.pixels.size() < kCartHeaderChannels) return false;
  Bytes m = get_bits(img.pixels, 0, 4, kCartHeaderBits);
  return std::memcmp(m.data(), kCartMagic, 4) == 0;
}

}  // namespace

uint64_t cart_capacity(uint32_t w, uint32_t h, unsigned bits) {
  uint64_t ch = uint64_t(w) * h * 3;
  if (ch < kCartHeaderChannels || bits < 1 || bits > kCartMaxBits) return 0;
  return std::min<uint64_t>((ch - kCartHeaderChannels) * bits / 8, kCartMaxPayload);
}

Result<PngImage> make_cart(const PngImage& label, ByteView payload, Kind kind, unsigned bits,
                           std::string_view label_name) {
  if (label.channels != 3) return fail(Errc::Internal, "make_cart: the label must have 3 channels");
  if (bits > kCartMaxBits) return failf(Errc::Usage, "--bits {}: must be 1..{}", bits, kCartMaxBits);
  if (payload.size() > kCartMaxPayload)
    return failf(Errc::TooLarge, "payload of {} bytes is over the {} byte limit of a cart", payload.size(),
                 kCartMaxPayload);
  unsigned use = bits;
  if (use == 0)
    for (unsigned b = 1; b <= kCartMaxBits && !use; ++b)
      if (cart_capacity(label.width, label.height, b) >= payload.size()) use = b;
  unsigned shown = use ? use : kCartMaxBits;
  uint64_t cap = cart_capacity(label.width, label.height, shown);
  if (!use || cap < payload.size()) {
    // The smallest square label that would do at the same depth, so the fix is one step.
    uint64_t need_ch = kCartHeaderChannels + channels_for(payload.size(), shown);
    uint64_t side = 1;
    while (side * side * 3 < need_ch) ++side;
    return failf(Errc::TooLarge,
                 "{}: a {}x{} label holds {} bytes at {} bits per channel, the program needs {}: use a label of "
                 "at least {} pixels (e.g. {}x{}), or no --label (the default one grows to fit)",
                 label_name, label.width, label.height, cap, shown, payload.size(), (need_ch + 2) / 3, side, side);
  }
  PngImage out = label;
  out.chunks.clear();
  Bytes h = header(payload, kind, use);
  put_bits(out.pixels, 0, h, kCartHeaderBits);
  put_bits(out.pixels, kCartHeaderChannels, payload, use);
  PngChunk c;
  std::memcpy(c.type.data(), kCartChunk, 4);
  c.data = h;
  c.data.insert(c.data.end(), payload.begin(), payload.end());
  out.chunks.push_back(std::move(c));
  return out;
}

bool looks_like_jpeg(ByteView f) { return f.size() >= 3 && f[0] == 0xFF && f[1] == 0xD8 && f[2] == 0xFF; }

bool looks_like_cart(ByteView file) {
  if (!looks_like_png(file)) return false;
  auto spans = png_chunks(file, "");
  if (!spans) return false;
  for (const auto& s : *spans)
    if (std::memcmp(s.type.data(), kCartChunk, 4) == 0) return true;
  for (const auto& s : *spans)
    if (std::memcmp(s.type.data(), kPxiChunk, 4) == 0) return false;  // a .pxi, not a cart
  auto img = png_decode(file, "", 3);
  return img && pixel_magic(*img);
}

Result<Cart> decode_cart(ByteView file, std::string_view name) {
  if (file.empty()) return failf(Errc::PxiInvalid, "{}: empty file", name);
  if (looks_like_jpeg(file))
    return failf(Errc::PxiInvalid,
                 "{}: offset 0: a JPEG: its lossy compression destroys the low bits that hold a cart (keep carts "
                 "as PNG)", name);
  auto img = png_decode(file, name, 3);
  if (!img) return std::unexpected(img.error());
  auto spans = png_chunks(file, name);
  if (!spans) return std::unexpected(spans.error());
  const ChunkSpan* chunk = nullptr;
  for (const auto& s : *spans) {
    if (std::memcmp(s.type.data(), kCartChunk, 4) != 0) continue;
    if (chunk) return failf(Errc::PxiInvalid, "{}: offset {}: more than one pxCa chunk", name, s.offset);
    chunk = &s;
  }
  Cart out;
  out.width = img->width;
  out.height = img->height;

  // The pixels: read and verified even when the chunk is there, so inspect can say whether
  // they survived (and a cart stripped later is known to load).
  Result<Cart> from_pixels = failf(Errc::PxiInvalid,
      "{}: a PNG but not a cart: no pxCa chunk and no 'PXCA' header in the low bits of its pixels", name);
  if (pixel_magic(*img)) {
    out.pixels_found = true;
    Bytes hb = get_bits(img->pixels, 0, kCartHeaderSize, kCartHeaderBits);
    auto h = parse_header(hb, name, "pixels");
    if (!h) {
      from_pixels = std::unexpected(h.error());
    } else {
      uint64_t cap = cart_capacity(img->width, img->height, h->bits);
      if (h->length > cap) {
        from_pixels = failf(Errc::PxiInvalid, "{}: pixels: byte 8: header claims {} payload bytes but {}x{} pixels "
                            "hold only {} at {} bits per channel", name, h->length, img->width, img->height, cap, h->bits);
      } else {
        Cart c = out;
        c.kind = h->kind;
        c.bits = h->bits;
        c.capacity = cap;
        c.payload = get_bits(img->pixels, kCartHeaderChannels, h->length, h->bits);
        c.sha = sha256(c.payload);
        if (c.sha != h->sha) {
          from_pixels = failf(Errc::HashMismatch,
              "{}: the cart's pixels were changed (lossy re-encoding or an edit): the SHA-256 of the {} payload bytes "
              "read is {}, the header says {}", name, h->length, hex(c.sha), hex(h->sha));
        } else {
          c.pixels_ok = true;
          from_pixels = std::move(c);
        }
      }
    }
  }
  if (!chunk) return from_pixels;

  std::string where = fmt::format("pxCa chunk at offset {}", chunk->offset);
  ByteView data = file.subspan(chunk->offset + 8, chunk->length);
  if (data.size() < kCartHeaderSize)
    return failf(Errc::PxiInvalid, "{}: {}: {} bytes, shorter than the {}-byte header", name, where, data.size(),
                 kCartHeaderSize);
  auto h = parse_header(data.first(kCartHeaderSize), name, where);
  if (!h) return std::unexpected(h.error());
  if (data.size() - kCartHeaderSize != h->length)
    return failf(Errc::PxiInvalid, "{}: {}: header claims {} payload bytes, the chunk holds {}", name, where,
                 h->length, data.size() - kCartHeaderSize);
  out.kind = h->kind;
  out.bits = h->bits;
  out.capacity = cart_capacity(img->width, img->height, h->bits);
  out.payload.assign(data.begin() + kCartHeaderSize, data.end());
  out.sha = sha256(out.payload);
  if (out.sha != h->sha)
    return failf(Errc::HashMismatch, "{}: {}: payload SHA-256 {} does not match the header's {}", name, where,
                 hex(out.sha), hex(h->sha));
  out.from_chunk = true;
  out.pixels_ok = from_pixels && from_pixels->payload == out.payload;
  return out;
}

}  // namespace pxos::image
