// pxi.hpp: .pxi images: any bytes packed into the pixels of a real PNG, described by the
// private "pxIm" chunk (version, kind, length, SHA-256). Also reads the seed's legacy PXFS files.
//
//  pixel layout (RGB8, row-major, width = ceil(sqrt(ceil(n/3)))):
//    pixel 0        pixel 1        pixel 2 ...
//   [R  G  B ]     [R  G  B ]     [R  G  B ] ...
//    b0 b1 b2       b3 b4 b5       b6 b7 b8 ...   then zero padding to the end of the last row
//
//  pxIm chunk (44 bytes, little-endian), placed right after IHDR:
//   0     1      2      3      4           12                        44
//  +-----+------+------+------+-----------+-------------------------+
//  | ver | kind | bpp=3| flags| u64 length| SHA-256 of the payload  |
//  +-----+------+------+------+-----------+-------------------------+
#pragma once
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::image {

inline constexpr uint8_t kPxiVersion = 1;
inline constexpr char kPxiChunk[4] = {'p', 'x', 'I', 'm'};
inline constexpr size_t kPxiChunkSize = 44;
inline constexpr uint64_t kMaxPayload = 128ull << 20;  // 128 MiB of payload per image

enum class Kind : uint8_t {
  Raw = 0,           // any bytes (pxos pack)
  Bytecode = 1,      // a PXBC module (src/asm/module.hpp)
  Archive = 2,       // a .pxa archive (src/hv)
  GodKey = 3,        // a god-pixel key image (src/godpixel)
  GodBootstrap = 4,  // a self-bootstrapping god-pixel image (src/godpixel)
  Kernel = 5,        // a multiboot kernel ELF (pxos god bootstrap pxos-kernel.elf; pxos boot --kernel)
};
std::string_view kind_name(Kind k);
constexpr bool kind_known(uint8_t k) { return k <= 5; }

struct Pxi {
  Kind kind = Kind::Raw;
  uint8_t version = kPxiVersion;
  Bytes payload;
  Sha256 sha{};
  uint32_t width = 0, height = 0;
  bool legacy = false;  // read from a seed PixelFS (PXFS) file
};

// The pixel size of an n-byte payload (the layout above); views and heat-maps draw on it.
void pxi_dims(uint64_t n, uint32_t& w, uint32_t& h);
Result<Bytes> encode_pxi(ByteView payload, Kind kind);
// Detects .pxi PNG or legacy PXFS; verifies length and SHA-256. `name` prefixes errors.
Result<Pxi> decode_pxi(ByteView file, std::string_view name);
Result<Pxi> load_pxi(const std::string& path);
Status save_pxi(const std::string& path, ByteView payload, Kind kind);  // atomic

// The seed's PixelFS layout (128-byte header, then raw RGB pixels):
//  0 magic u32 0x50584653 | 4 version u32 | 8 data size u64 | 16 width u32 | 20 height u32
//  24 SHA-256 (32 bytes)  | 56 reserved (72 bytes)          | 128 RGB pixels, width*height*3
inline constexpr uint32_t kPxfsMagic = 0x50584653;
inline constexpr size_t kPxfsHeader = 128;
bool looks_like_pxfs(ByteView file);
Result<Pxi> decode_pxfs(ByteView file, std::string_view name);
Bytes encode_pxfs(ByteView payload);  // writer for tests and for round-tripping seed files

}  // namespace pxos::image
