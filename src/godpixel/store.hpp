// store.hpp: the content-addressed program store: zstd objects named by full SHA-256, and a
// SQLite index from 32-bit pixel keys to full hashes (plus kind, sizes, method, generator).
//
//  STORE/                         default $XDG_DATA_HOME/pxos/store, else ~/.local/share/pxos/store
//    index.sqlite                 keys(key → sha256, kind, size, stored, method, generator, n, probes)
//    objects/d6/2ab25b…           header frame + one zstd frame per payload (method hash only)
//    seeds/0100000a               header frame only: a seed-method key's record
//    tmp/                         temp files; linked into objects/ without replacing
//
// Writers serialize on the index (BEGIN IMMEDIATE, busy timeout); the object is written and
// fsynced before its key row commits, so a committed key always names a complete object. Every
// object's header repeats its key rows, so `rebuild_index` can recover a lost index, and gc
// deletes only what a healthy index (health()) proves unreferenced.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "godpixel/generators.hpp"
#include "godpixel/key.hpp"
#include "image/pxi.hpp"

struct sqlite3;

namespace pxos::god {

enum class Method : uint8_t { Hash = 0, Seed = 1 };
std::string_view method_name(Method m);

struct Entry {
  Key key = 0;
  Sha256 hash{};
  image::Kind kind = image::Kind::Raw;
  uint64_t size = 0;    // payload bytes
  uint64_t stored = 0;  // object bytes on disk (0 for the seed method: nothing is stored)
  Method method = Method::Hash;
  std::string generator;  // seed method: "countdown:10"
  uint32_t probes = 0;    // 0: the natural key; i: the i-th alternative of the probe sequence
};

struct Collision {
  Key key;          // a key that was taken
  Sha256 holder{};  // by this other content
};
struct PutResult {
  Entry entry;
  bool existed = false;   // the same content was already stored under entry.key
  bool repaired = false;  // a corrupt copy of the object was replaced
  std::vector<Collision> collisions;  // keys probed and found taken, in order
};

struct VerifyReport {
  uint64_t keys = 0, ok = 0, objects = 0, orphans = 0, unattributed = 0;
  std::vector<std::string> problems;  // one line each
};
struct GcReport {
  uint64_t removed = 0, bytes = 0, tmp_removed = 0, kept = 0;
  uint64_t newer = 0;         // unreferenced, but stamped by a write the index never committed: kept
  uint64_t unattributed = 0;  // rebuild_index could not attribute them: kept
};
struct RebuildReport {
  unsigned key_bits = 32;
  uint64_t objects = 0, seeds = 0, keys = 0;  // files read, key rows recovered
  uint64_t superseded = 0;    // claims that lost to a newer claim on the same key
  std::vector<std::string> unattributed;  // "path: why", kept and recorded so gc never removes them
};

std::string default_store_dir();  // PXOS_STORE, else XDG_DATA_HOME/pxos/store, else ~/.local/share/pxos/store

class Store {
 public:
  // writable: create the store if needed and take writes. key_bits: nullopt = from the store
  // (or PXOS_GOD_KEY_BITS for a new store); a store's key width never changes.
  static Result<Store> open(const std::string& dir, bool writable, std::optional<unsigned> key_bits = std::nullopt);
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const std::string& dir() const { return dir_; }
  unsigned key_bits() const { return bits_; }

  Result<PutResult> put(ByteView payload, image::Kind kind);                // method hash
  Result<PutResult> put_seed(const GenSpec& g, image::Kind kind = image::Kind::Bytecode);  // method seed
  Result<std::optional<Entry>> lookup(Key k);
  Result<Bytes> get(Key k, Entry* entry = nullptr);  // verified payload
  Result<Bytes> get_entry(const Entry& e);            // verified payload of a row
  Result<std::vector<Entry>> list();
  Result<VerifyReport> verify();
  Result<GcReport> gc();
  Result<bool> forget(Key k);  // drops the key row; gc then reclaims its object
  std::string object_path(const Sha256& h) const;
  std::string seed_path(Key k) const;
  // Why the index is not healthy (empty: healthy): the recorded key count against the rows, and
  // when `full` also integrity_check and no object or seed record stamped past generation + 1.
  Result<std::vector<std::string>> health(bool full);

  // Recovers STORE/index.sqlite from the object and seed-record headers, replacing it atomically.
  // A healthy index is only replaced when `force`. Nothing is ever deleted.
  static Result<RebuildReport> rebuild_index(const std::string& dir, std::optional<unsigned> key_bits, bool force);

 private:
  Store() = default;
  Result<PutResult> put_impl(ByteView payload, image::Kind kind, Key k0, const Sha256& h, const Bytes* z,
                             const GenSpec* g);
  // Writes (or re-stamps) the object or seed record so that its header claims `e`; true when a
  // corrupt copy was replaced. Caller holds the write transaction.
  // Stamps it with the next generation (bumped in the same transaction).
  Result<bool> record(const Entry& e, const Bytes* z);
  Result<int64_t> meta_int(const char* name);
  std::string dir_;
  unsigned bits_ = 32;
  bool writable_ = false;
  sqlite3* db_ = nullptr;
};

}  // namespace pxos::god
