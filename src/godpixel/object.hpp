// object.hpp: store objects. An object is a zstd skippable frame holding the pxos header (what
// rebuild-index needs to recover the index) followed by one plain zstd data frame; `zstd -d`
// skips the header and reads the payload. Objects written before the header existed are one
// bare data frame and still read. Reading re-hashes; any mismatch is an error, never bytes.
//
//  STORE/objects/d6/2ab25b…(64 hex digits)   = [skippable header frame] zstd data frame
//  STORE/seeds/0100000a                       = header frame only (seed method: no payload)
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "image/pxi.hpp"

namespace pxos::god {

// One key that names this content (the same bytes under two kinds get two keys).
struct Claim {
  uint32_t key = 0;
  uint32_t probes = 0;      // position in the key's probe sequence
  image::Kind kind = image::Kind::Raw;
  uint64_t created_ns = 0;  // wall clock at the write: breaks a generation tie on rebuild
};
struct ObjectHeader {
  uint8_t method = 0;       // Method: 0 hash, 1 seed
  uint8_t key_bits = 32;
  uint64_t size = 0;        // payload bytes
  uint64_t generation = 0;  // the index generation of the write that stamped this header
  Sha256 hash{};            // payload SHA-256
  std::string generator;    // seed method: "countdown:10"
  std::vector<Claim> claims;
};
inline constexpr uint32_t kHeaderFrameMagic = 0x184D2A5E;  // a zstd skippable frame magic (0x184D2A5?)
inline constexpr size_t kMaxHeaderBytes = 64u << 10;       // caps generator text and claims

Bytes encode_header(const ObjectHeader& h);
// The header at the start of `file`: nullopt when the file does not start with a skippable frame
// (an object from before headers); an error naming `name` and the offset when it is malformed.
// *consumed = header frame bytes (0 without one).
Result<std::optional<ObjectHeader>> parse_header(ByteView file, std::string_view name, size_t* consumed);

Result<Bytes> compress(ByteView payload, int level);
// Decodes [header] + one zstd frame whose declared content size is at most `max_size`, with
// nothing after it, and checks that the result hashes to `want` (and agrees with the header).
// `name` prefixes errors; *hdr receives the header when there is one.
Result<Bytes> decode_object(ByteView file, const Sha256& want, std::string_view name, uint64_t max_size,
                            std::optional<ObjectHeader>* hdr = nullptr);
// Decompresses one zstd frame of exactly `size` bytes (the bootstrap image's payload).
Result<Bytes> decompress_exact(ByteView z, uint64_t size, std::string_view name);

// Reads STORE/objects/xx/<hex> with O_NOFOLLOW and verifies it.
Result<Bytes> read_object(const std::string& path, const Sha256& want, std::optional<ObjectHeader>* hdr = nullptr);
// Reads only the header of an object or seed record (no payload decode). nullopt: no header.
Result<std::optional<ObjectHeader>> read_header(const std::string& path);
// Writes an object atomically: temp file in tmp_dir, fsync, link() into place (never replacing),
// fsync the directory. A present object is kept when it verifies (unless `replace`: a new header)
// and replaced by rename() when corrupt. Returns true when a corrupt object was repaired.
Result<bool> write_object(const std::string& path, const std::string& tmp_dir, ByteView file, const Sha256& want,
                          bool replace = false);

}  // namespace pxos::god
