// image_test.cpp: .pxi round trips, legacy PixelFS, carts, and every kind of broken image.
#include <gtest/gtest.h>

#include <random>

#include "image/cart.hpp"
#include "image/png.hpp"
#include "image/pxi.hpp"

using namespace pxos;
using namespace pxos::image;

namespace {
Bytes random_bytes(size_t n, std::mt19937_64& rng) {
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}
// CRC-32 as PNG defines it, to craft chunks by hand.
uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}
}  // namespace

TEST(Pxi, RoundTripsManySizes) {
  uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (size_t n : {0u, 1u, 2u, 3u, 4u, 100u, 4097u, 100000u}) {
    Bytes p = random_bytes(n, rng);
    auto png = encode_pxi(p, Kind::Raw);
    ASSERT_TRUE(png) << png.error().detail;
    auto back = decode_pxi(*png, "t.pxi");
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->payload, p);
    EXPECT_EQ(back->kind, Kind::Raw);
    EXPECT_GE(uint64_t(back->width) * back->height * 3, n);
    // It is a real PNG any decoder reads, and the pixels are the bytes.
    auto img = png_decode(*png, "t.pxi", 3);
    ASSERT_TRUE(img);
    EXPECT_TRUE(std::equal(p.begin(), p.end(), img->pixels.begin()));
  }
}

TEST(Pxi, DetectsTamperedPixels) {
  Bytes p(300, 7);
  auto png = encode_pxi(p, Kind::Bytecode);
  ASSERT_TRUE(png);
  // Re-encode the same header with different pixels: the CRCs are valid, the hash is not.
  auto img = png_decode(*png, "t", 3);
  ASSERT_TRUE(img);
  img->pixels[5] ^= 1;
  auto forged = png_encode(*img);
  ASSERT_TRUE(forged);
  auto r = decode_pxi(*forged, "t.pxi");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::HashMismatch);
}

TEST(Pxi, EveryTruncationIsAnError) {
  auto png = encode_pxi(Bytes(500, 1), Kind::Raw);
  ASSERT_TRUE(png);
  for (size_t cut = 0; cut < png->size(); cut += 1) {
    auto r = decode_pxi(ByteView(png->data(), cut), "cut.pxi");
    EXPECT_FALSE(r) << "truncated at " << cut;
  }
}

TEST(Pxi, CorruptedBytesAreErrors) {
  auto png = encode_pxi(Bytes(500, 1), Kind::Raw);
  ASSERT_TRUE(png);
  for (size_t i = 8; i < png->size(); ++i) {
    Bytes c = *png;
    c[i] ^= 0x40;
    EXPECT_FALSE(decode_pxi(c, "c.pxi")) << "flip at " << i;  // CRC, zlib or hash catches it
  }
}

TEST(Pxi, BadInputsNameTheProblem) {
  auto e = [](ByteView b) { auto r = decode_pxi(b, "x.pxi"); return r ? std::string("ok") : r.error().detail; };
  EXPECT_NE(e({}).find("x.pxi: empty file"), std::string::npos);
  Bytes junk = {'h', 'e', 'l', 'l', 'o', 0, 1, 2, 3};
  EXPECT_NE(e(junk).find("bad magic"), std::string::npos);
  // A valid PNG without the pxIm chunk.
  PngImage plain;
  plain.width = plain.height = 2;
  plain.channels = 4;
  plain.pixels.assign(16, 9);
  auto p = png_encode(plain);
  ASSERT_TRUE(p);
  EXPECT_NE(e(*p).find("no pxIm chunk"), std::string::npos);
}

TEST(Pxi, AbsurdDimensionsAreRefusedBeforeDecoding) {
  // Hand-made IHDR of 100000 x 100000 pixels with a valid CRC and no data.
  Bytes f = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  uint8_t ihdr[17] = {'I', 'H', 'D', 'R', 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, 0};
  uint8_t len[4] = {0, 0, 0, 13};
  f.insert(f.end(), len, len + 4);
  f.insert(f.end(), ihdr, ihdr + 17);
  uint32_t crc = crc32(ihdr, 17);
  for (int k = 3; k >= 0; --k) f.push_back(uint8_t(crc >> (8 * k)));
  const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  f.insert(f.end(), iend, iend + 12);
  auto r = decode_pxi(f, "huge.pxi");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("huge.pxi: bad PNG header"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("limit"), std::string::npos) << r.error().detail;
}

TEST(Pxfs, ReadsTheSeedFormatAndVerifiesItsHash) {
  Bytes payload = {1, 2, 3, 4, 5, 6, 7};
  Bytes f = encode_pxfs(payload);
  EXPECT_EQ(f.size() % 3, (kPxfsHeader) % 3);
  auto r = decode_pxi(f, "seed.pxi");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_TRUE(r->legacy);
  EXPECT_EQ(r->payload, payload);
  Bytes bad = f;
  bad[kPxfsHeader] ^= 1;
  auto h = decode_pxi(bad, "seed.pxi");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::HashMismatch);
  Bytes trunc(f.begin(), f.end() - 1);
  EXPECT_FALSE(decode_pxi(trunc, "seed.pxi"));
  Bytes hdr_only(f.begin(), f.begin() + 60);
  EXPECT_NE(decode_pxi(hdr_only, "seed.pxi").error().detail.find("header truncated"), std::string::npos);
  Bytes huge = f;
  huge[16] = 0xff; huge[17] = 0xff; huge[18] = 0xff; huge[19] = 0x7f;
  EXPECT_NE(decode_pxi(huge, "seed.pxi").error().detail.find("absurd"), std::string::npos);
}

// ---- issue 19: chunk placement, CRCs and cut data are refused by every reader ----
namespace {
struct Span { size_t at; uint32_t len; std::string type; };
std::vector<Span> spans(const Bytes& f) {
  std::vector<Span> out;
  for (size_t p = 8; p + 12 <= f.size();) {
    uint32_t n = uint32_t(f[p]) << 24 | uint32_t(f[p + 1]) << 16 | uint32_t(f[p + 2]) << 8 | f[p + 3];
    out.push_back({p, n, std::string(reinterpret_cast<const char*>(&f[p + 4]), 4)});
    p += 12 + n;
  }
  return out;
}
Bytes chunk_bytes(const std::string& type, const Bytes& data) {
  Bytes c;
  uint32_t n = uint32_t(data.size());
  for (int k = 3; k >= 0; --k) c.push_back(uint8_t(n >> (8 * k)));
  c.insert(c.end(), type.begin(), type.end());
  c.insert(c.end(), data.begin(), data.end());
  uint32_t crc = crc32(c.data() + 4, c.size() - 4);
  for (int k = 3; k >= 0; --k) c.push_back(uint8_t(crc >> (8 * k)));
  return c;
}
const Span& find(const std::vector<Span>& s, const std::string& t) {
  for (const auto& x : s)
    if (x.type == t) return x;
  return s.front();
}
}  // namespace

TEST(Pxi, SecondPxImOrOneAfterIdatIsRefused) {
  auto png = encode_pxi(Bytes(100, 1), Kind::Raw);
  ASSERT_TRUE(png);
  auto s = spans(*png);
  const Span& px = find(s, "pxIm");
  const Span& idat = find(s, "IDAT");
  Bytes pxim(png->begin() + ptrdiff_t(px.at), png->begin() + ptrdiff_t(px.at + 12 + px.len));
  Bytes two = *png;  // a copy of pxIm right after the first
  two.insert(two.begin() + ptrdiff_t(px.at + 12 + px.len), pxim.begin(), pxim.end());
  auto r = decode_pxi(two, "two.pxi");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("more than one pxIm chunk"), std::string::npos) << r.error().detail;
  Bytes late = *png;  // the only pxIm moved after IDAT
  late.insert(late.begin() + ptrdiff_t(idat.at + 12 + idat.len), pxim.begin(), pxim.end());
  late.erase(late.begin() + ptrdiff_t(px.at), late.begin() + ptrdiff_t(px.at + 12 + px.len));
  auto l = decode_pxi(late, "late.pxi");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().detail.find("right after IHDR"), std::string::npos) << l.error().detail;
}

TEST(Png, BadIdatCrcOrCutIdatIsRefused) {
  std::mt19937_64 rng(7);
  auto png = encode_pxi(random_bytes(30000, rng), Kind::Raw);
  ASSERT_TRUE(png);
  auto s = spans(*png);
  const Span& idat = find(s, "IDAT");
  Bytes crc = *png;
  crc[idat.at + 8 + idat.len] ^= 1;
  auto a = png_decode(crc, "crc.png", 3);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().detail.find("bad CRC"), std::string::npos) << a.error().detail;
  // Half the IDAT data, with a valid length and CRC: the pixels are cut.
  Bytes half(png->begin() + ptrdiff_t(idat.at + 8), png->begin() + ptrdiff_t(idat.at + 8 + idat.len / 2));
  Bytes cut(png->begin(), png->begin() + ptrdiff_t(idat.at));
  Bytes c = chunk_bytes("IDAT", half);
  cut.insert(cut.end(), c.begin(), c.end());
  cut.insert(cut.end(), png->begin() + ptrdiff_t(idat.at + 12 + idat.len), png->end());
  EXPECT_FALSE(png_decode(cut, "cut.png", 3));
}

// ---- cartridges (image/cart.hpp) ------------------------------------------------------------
namespace {
PngImage label(uint32_t w, uint32_t h, std::mt19937_64& rng) {
  PngImage img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels = random_bytes(size_t(w) * h * 3, rng);
  return img;
}
// The cart with its chunk removed: what a metadata stripper leaves.
Bytes stripped(const PngImage& cart) {
  PngImage c = cart;
  c.chunks.clear();
  return png_encode(c).value();
}
}  // namespace

TEST(Cart, RoundTripsEveryDepthFromChunkAndPixels) {
  uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (unsigned bits = 1; bits <= kCartMaxBits; ++bits)
    for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(300), size_t(1000)}) {
      PngImage lab = label(60, 60, rng);
      Bytes payload = random_bytes(n, rng);
      ASSERT_LE(n, cart_capacity(60, 60, bits));
      auto cart = make_cart(lab, payload, Kind::Raw, bits, "l.png");
      ASSERT_TRUE(cart) << cart.error().detail;
      // only the low bits changed (the header's at 2)
      for (size_t i = 0; i < lab.pixels.size(); ++i)
        ASSERT_LT(std::abs(int(lab.pixels[i]) - int(cart->pixels[i])), 1 << std::max(2u, bits));
      auto full = decode_cart(png_encode(*cart).value(), "c.png");
      ASSERT_TRUE(full) << full.error().detail;
      EXPECT_TRUE(full->from_chunk);
      EXPECT_TRUE(full->pixels_ok);
      EXPECT_EQ(full->payload, payload);
      auto bare = decode_cart(stripped(*cart), "c.png");
      ASSERT_TRUE(bare) << bare.error().detail;
      EXPECT_FALSE(bare->from_chunk);
      EXPECT_EQ(bare->bits, bits);
      EXPECT_EQ(bare->payload, payload);
      EXPECT_TRUE(looks_like_cart(stripped(*cart)));
    }
}

TEST(Cart, CapacityAndSmallestDepth) {
  EXPECT_EQ(cart_capacity(160, 205, 2), (160u * 205 * 3 - 176) * 2 / 8);
  EXPECT_EQ(cart_capacity(5, 5, 4), 0u);  // 75 channels: not even the header
  std::mt19937_64 rng(1);
  PngImage lab = label(32, 32, rng);
  Bytes payload(cart_capacity(32, 32, 1) + 1, 0x5a);  // one byte past 1 bit: needs 2
  auto cart = make_cart(lab, payload, Kind::Raw, 0, "l.png");
  ASSERT_TRUE(cart);
  EXPECT_EQ(decode_cart(stripped(*cart), "c.png")->bits, 2u);
}

TEST(Cart, RefusesTooSmallLabelDamageAndJpeg) {
  std::mt19937_64 rng(2);
  PngImage lab = label(16, 16, rng);
  Bytes big(cart_capacity(16, 16, 4) + 1, 1);
  auto e = make_cart(lab, big, Kind::Raw, 0, "small.png");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::TooLarge);
  Bytes payload(100, 7);
  auto cart = make_cart(lab, payload, Kind::Raw, 2, "l.png");
  ASSERT_TRUE(cart);
  PngImage bad = *cart;
  bad.chunks.clear();
  bad.pixels[kCartHeaderChannels + 40] ^= 1;  // a payload bit
  auto d = decode_cart(png_encode(bad).value(), "c.png");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::HashMismatch);
  bad = *cart;
  bad.chunks.clear();
  bad.pixels[0] ^= 2;  // the magic
  d = decode_cart(png_encode(bad).value(), "c.png");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::PxiInvalid);
  const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F'};
  d = decode_cart(ByteView(jpeg, sizeof jpeg), "c.jpg");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::PxiInvalid);
  EXPECT_NE(d.error().detail.find("c.jpg"), std::string::npos);
}
