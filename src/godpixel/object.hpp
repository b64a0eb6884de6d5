// object.hpp: store objects. An object is one plain zstd frame (readable by `zstd -d`) holding a
// payload, named by the payload's full SHA-256; reading it decompresses and re-hashes, and any
// mismatch is an error, never returned bytes.
//
//  STORE/objects/d6/2ab25b…(64 hex digits)   = zstd frame, content size in the frame header
#pragma once
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::god {

Result<Bytes> compress(ByteView payload, int level);
// Decodes one zstd frame whose declared content size is at most `max_size`, with nothing after
// it, and checks that the result hashes to `want`. `name` prefixes errors.
Result<Bytes> decode_object(ByteView file, const Sha256& want, std::string_view name, uint64_t max_size);
// Decompresses one zstd frame of exactly `size` bytes (the bootstrap image's payload).
Result<Bytes> decompress_exact(ByteView z, uint64_t size, std::string_view name);

// Reads STORE/objects/xx/<hex> with O_NOFOLLOW and verifies it.
Result<Bytes> read_object(const std::string& path, const Sha256& want);
// Writes an object atomically without ever replacing a valid one: temp file in tmp_dir, fsync,
// link() into place (fails if present), fsync the directory. A present but corrupt object is
// replaced by rename(). Returns true when a corrupt object was repaired.
Result<bool> write_object(const std::string& path, const std::string& tmp_dir, ByteView z, const Sha256& want);

}  // namespace pxos::god
