// archive.hpp: .pxa archives: named, individually hashed entries (manifest.json, PXBC modules
// with their debug maps, data) in one payload, stored in the pixels of a real PNG (Kind::Archive).
// The full byte layout is in docs/pxa-format.md.
//
//  payload = header | index | data
//  header (56 bytes, little-endian):
//   0       4      6       8          12          16          24                              56
//  +-------+------+-------+----------+-----------+-----------+-------------------------------+
//  |'PXAR' | ver  | flags | nentries | index_len | data_len  | SHA-256 of the index bytes    |
//  |       | u16  | u16=0 | u32      | u32       | u64       | (the archive hash)            |
//  +-------+------+-------+----------+-----------+-----------+-------------------------------+
//  index entry (52 + name_len bytes), one per entry, in data order:
//   0      1       2          4             12           20                          52
//  +------+-------+----------+-------------+------------+---------------------------+--------+
//  | type | 0     | name_len | offset u64  | size u64   | SHA-256 of the entry      | name   |
//  +------+-------+----------+-------------+------------+---------------------------+--------+
//  offset is relative to the start of data; entries are contiguous and in index order.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::hv {

inline constexpr char kArchiveMagic[4] = {'P', 'X', 'A', 'R'};
inline constexpr uint16_t kArchiveVersion = 1;
inline constexpr size_t kHeaderSize = 56;
inline constexpr size_t kIndexEntryFixed = 52;
inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::string_view kDataPrefix = "data/";

enum class EntryType : uint8_t {
  Manifest = 1,  // "manifest.json", UTF-8 JSON
  Module = 2,    // a module name (identifier); a serialized PXBC module (isa/module.hpp)
  Data = 3,      // "data/<relative path>"; any bytes, carried and extracted
};
std::string_view type_name(EntryType t);

struct Entry {
  EntryType type = EntryType::Data;
  std::string name;
  Bytes data;
  Sha256 sha{};         // filled by the reader, and by encode_archive
  uint64_t offset = 0;  // payload offset of the data (reader only), for diagnostics
};

struct Archive {
  std::vector<Entry> entries;
  Sha256 hash{};  // SHA-256 of the index (covers every entry's name, size and hash)
  uint64_t payload_bytes = 0;

  const Entry* find(std::string_view name) const;
  const Entry* manifest() const { return find(kManifestName); }
  std::vector<const Entry*> modules() const;  // in archive order
};

// Is NAME acceptable for an entry of type T? (nullopt: yes; else why not.) Names never hold
// "..", a leading '/', backslashes or control bytes, so extraction cannot escape its directory.
std::optional<std::string> check_entry_name(EntryType t, std::string_view name);
bool is_module_name(std::string_view name);

// Builds the payload (fills each entry's sha and the archive hash). Errors on bad or duplicate names.
Result<Bytes> encode_archive(Archive& a);
// Parses and fully checks a payload: structure, names, duplicates, every hash. Errors name the
// payload offset. `name` prefixes every error.
Result<Archive> parse_archive(ByteView payload, std::string_view name);

// The PNG layer: a .pxi of Kind::Archive around the payload.
Result<Bytes> encode_pxa(Archive& a);
Result<Archive> decode_pxa(ByteView file, std::string_view name);
Result<Archive> load_pxa(const std::string& path);

}  // namespace pxos::hv
