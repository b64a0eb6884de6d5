// config.hpp: every tunable of the god-pixel store in one place.
#pragma once
#include <cstdint>

#include "image/pxi.hpp"

namespace pxos::god {

inline constexpr int kZstdLevel = 3;                      // same default level as the zstd CLI (fair reference)
inline constexpr uint64_t kMaxPayload = image::kMaxPayload;  // 128 MiB: the largest program a key may name
inline constexpr int kBusyTimeoutMs = 30000;              // SQLite waits this long for another writer
inline constexpr unsigned kDefaultKeyBits = 32;           // a key is one RGBA8 pixel
inline constexpr uint64_t kMaxProbes = 1u << 16;          // give up after this many taken keys in a row
inline constexpr int64_t kTmpMaxAgeSeconds = 3600;        // gc removes temp files older than this (a live writer is faster)
inline constexpr const char* kIndexName = "index.sqlite";  // STORE/index.sqlite
inline constexpr const char* kObjectsDir = "objects";      // STORE/objects/ab/<64 hex>
inline constexpr const char* kTmpDir = "tmp";              // STORE/tmp: temp files, same file system as objects/
inline constexpr const char* kSeedsDir = "seeds";          // STORE/seeds/<8 hex key>: seed-method key records
inline constexpr const char* kKeyBitsEnv = "PXOS_GOD_KEY_BITS";  // test hook: truncate keys to force collisions
inline constexpr const char* kStoreEnv = "PXOS_STORE";     // overrides the default store directory

}  // namespace pxos::god
