// store.cpp: the store: directory layout, SQLite index (rollback journal, synchronous FULL,
// BEGIN IMMEDIATE for writers, busy timeout), probing on collisions, object headers, the index
// health rule, verify, gc and rebuild-index.
#include "godpixel/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "common/dynlib.hpp"
#include "common/fs.hpp"
#include "common/os.hpp"
#include "godpixel/config.hpp"
#include "godpixel/object.hpp"

namespace fs = std::filesystem;

namespace pxos::god {
namespace {

// libsqlite3 is opened by the first store a command opens (os::open_library), so that commands
// without a store (run, asm, hv) start without mapping it (issue 16, start-up).
struct Sqlite {
#define PXOS_SQLITE_FNS(X)                                                                          \
  X(sqlite3_open_v2) X(sqlite3_close) X(sqlite3_exec) X(sqlite3_free) X(sqlite3_errmsg)             \
  X(sqlite3_extended_errcode) X(sqlite3_busy_timeout) X(sqlite3_changes) X(sqlite3_prepare_v2)      \
  X(sqlite3_finalize) X(sqlite3_step) X(sqlite3_bind_int64) X(sqlite3_bind_blob) X(sqlite3_bind_text) \
  X(sqlite3_bind_null) X(sqlite3_column_int64) X(sqlite3_column_blob) X(sqlite3_column_bytes)       \
  X(sqlite3_column_text)
#define PXOS_SQLITE_MEMBER(fn) decltype(&::fn) fn = nullptr;
  PXOS_SQLITE_FNS(PXOS_SQLITE_MEMBER)
#undef PXOS_SQLITE_MEMBER
};

Result<Sqlite> bind_sqlite() {
  auto lib = os::open_library({"libsqlite3.so.0"}, "the god pixel store's index (libsqlite3)", Errc::StoreError);
  if (!lib) return std::unexpected(lib.error());
  Sqlite t{};
#define PXOS_SQLITE_BIND(fn) PXOS_DYNLIB_BIND(**lib, t, fn);
  PXOS_SQLITE_FNS(PXOS_SQLITE_BIND)
#undef PXOS_SQLITE_BIND
  return t;
}

// Loads the table once; every path that opens a database calls this first.
Result<const Sqlite*> load_sqlite() {
  static const Result<Sqlite> t = bind_sqlite();
  if (!t) return std::unexpected(t.error());
  return &*t;
}

// The table, for code that holds an open database (so load_sqlite has succeeded).
const Sqlite& sq() { return **load_sqlite(); }

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sq().sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sq().sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, int64_t v) { sq().sqlite3_bind_int64(s_, i, v); }
  void bind(int i, ByteView b) { sq().sqlite3_bind_blob(s_, i, b.data(), int(b.size()), SQLITE_TRANSIENT); }
  void bind(int i, const std::string& t) { sq().sqlite3_bind_text(s_, i, t.data(), int(t.size()), SQLITE_TRANSIENT); }
  void bind_null(int i) { sq().sqlite3_bind_null(s_, i); }
  int step() { return sq().sqlite3_step(s_); }
  int64_t i64(int c) { return sq().sqlite3_column_int64(s_, c); }
  ByteView blob(int c) {
    auto* p = static_cast<const uint8_t*>(sq().sqlite3_column_blob(s_, c));
    return {p, size_t(sq().sqlite3_column_bytes(s_, c))};
  }
  std::string text(int c) {
    auto* p = reinterpret_cast<const char*>(sq().sqlite3_column_text(s_, c));
    return p ? std::string(p, size_t(sq().sqlite3_column_bytes(s_, c))) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

std::unexpected<Error> db_fail(sqlite3* db, const std::string& dir, std::string_view what) {
  int rc = sq().sqlite3_extended_errcode(db);
  std::string msg = sq().sqlite3_errmsg(db);
  if ((rc & 0xff) == SQLITE_READONLY)
    return failf(Errc::StoreError, "store {} is read-only: {} refused ({}); nothing was written", dir, what, msg);
  if ((rc & 0xff) == SQLITE_BUSY)
    return failf(Errc::StoreError, "store {}: {}: index stayed locked by another writer for {} ms", dir, what, kBusyTimeoutMs);
  return failf(Errc::StoreError, "{}/{}: {}: {}", dir, kIndexName, what, msg);
}

Status exec(sqlite3* db, const std::string& dir, const char* sql) {
  char* err = nullptr;
  if (sq().sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    sq().sqlite3_free(err);
    return db_fail(db, dir, sql);
  }
  return {};
}

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS keys("
    "  key INTEGER PRIMARY KEY,"        // the 32-bit pixel key
    "  hash BLOB NOT NULL,"             // full SHA-256 of the payload
    "  kind INTEGER NOT NULL,"          // image::Kind of the payload
    "  size INTEGER NOT NULL,"          // payload bytes
    "  stored INTEGER NOT NULL,"        // object bytes on disk (0: seed method)
    "  method INTEGER NOT NULL,"        // 0 hash, 1 seed
    "  generator TEXT,"                 // seed method: family:N
    "  probes INTEGER NOT NULL,"        // position in the probe sequence
    "  created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS keys_hash ON keys(hash);"
    // Files rebuild-index could not attribute to a key: gc keeps them, verify counts them.
    "CREATE TABLE IF NOT EXISTS unattributed(path TEXT PRIMARY KEY, reason TEXT NOT NULL);";

// meta rows: format, key_bits, keys (the number of key rows, kept in step in every write
// transaction: a mismatch means rows were lost), generation (bumped by every write that stamps a
// header; a header stamped past generation + 1 means the index is older than the store).
constexpr const char* kRebuildHint = "run `pxos god rebuild-index` to recover it from the objects";

constexpr const char* kSelectCols = "SELECT key, hash, kind, size, stored, method, generator, probes FROM keys";

Entry row_entry(Stmt& s) {
  Entry e;
  e.key = Key(s.i64(0));
  ByteView h = s.blob(1);
  if (h.size() == 32) std::copy(h.begin(), h.end(), e.hash.begin());
  e.kind = image::Kind(uint8_t(s.i64(2)));
  e.size = uint64_t(s.i64(3));
  e.stored = uint64_t(s.i64(4));
  e.method = Method(uint8_t(s.i64(5)));
  e.generator = s.text(6);
  e.probes = uint32_t(s.i64(7));
  return e;
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A transaction that rolls back unless committed.
class Txn {
 public:
  Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) sq().sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status begin(const std::string& dir) {
    if (auto s = exec(db_, dir, "BEGIN IMMEDIATE"); !s) return s;
    open_ = true;
    return {};
  }
  Status commit(const std::string& dir) {
    // The fault hook of the index commit: fail like a COMMIT that hit an I/O error (rolled back).
    if (os::inject(os::Op::Commit))
      return failf(Errc::StoreError, "{}/{}: commit failed: {}", dir, kIndexName, errno_text(EIO));
    if (auto s = exec(db_, dir, "COMMIT"); !s) return s;
    open_ = false;
    return {};
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

bool is_hex8(const std::string& s) { return s.size() == 8 && is_hex64(s + std::string(56, '0')); }

// Every file of objects/ and seeds/ that looks like ours, with its store-relative path.
struct StoreFile {
  std::string path, rel, name;
  bool seed = false;
};
std::vector<StoreFile> store_files(const std::string& dir, std::vector<std::string>* strays) {
  std::vector<StoreFile> out;
  std::error_code ec;
  fs::path od = fs::path(dir) / kObjectsDir;
  if (fs::is_directory(od, ec))
    for (auto it = fs::recursive_directory_iterator(od, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
      std::string name = it->path().filename().string();
      bool shaped = is_hex64(name) && it->path().parent_path().filename() == name.substr(0, 2);
      if (!shaped || !it->is_regular_file(ec) || it->is_symlink(ec)) {
        if (strays) strays->push_back(it->path().string());
        if (!is_hex64(name)) continue;  // not ours: never touched
      }
      out.push_back({it->path().string(), fmt::format("{}/{}/{}", kObjectsDir, name.substr(0, 2), name), name, false});
    }
  fs::path sd = fs::path(dir) / kSeedsDir;
  if (fs::is_directory(sd, ec))
    for (auto it = fs::directory_iterator(sd, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (!is_hex8(name) || !it->is_regular_file(ec) || it->is_symlink(ec)) {
        if (strays) strays->push_back(it->path().string());
        if (!is_hex8(name)) continue;
      }
      out.push_back({it->path().string(), fmt::format("{}/{}", kSeedsDir, name), name, true});
    }
  return out;
}

}  // namespace

std::string_view method_name(Method m) { return m == Method::Seed ? "seed" : "hash"; }

std::string default_store_dir() {
  if (const char* s = std::getenv(kStoreEnv); s && *s) return s;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x == '/') return std::string(x) + "/pxos/store";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/pxos/store";
  return ".pxos-store";
}

Store::Store(Store&& o) noexcept { *this = std::move(o); }
Store& Store::operator=(Store&& o) noexcept {
  if (this != &o) {
    if (db_) sq().sqlite3_close(db_);
    dir_ = std::move(o.dir_);
    bits_ = o.bits_;
    writable_ = o.writable_;
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}
Store::~Store() {
  if (db_) sq().sqlite3_close(db_);
}

std::string Store::object_path(const Sha256& h) const {
  std::string x = hex(h);
  return fmt::format("{}/{}/{}/{}", dir_, kObjectsDir, x.substr(0, 2), x);
}
std::string Store::seed_path(Key k) const { return fmt::format("{}/{}/{:08x}", dir_, kSeedsDir, k); }

Result<int64_t> Store::meta_int(const char* name) {
  Stmt q(db_, "SELECT value FROM meta WHERE name = ?1");
  if (!q.ok()) return db_fail(db_, dir_, "meta");
  q.bind(1, std::string(name));
  int rc = q.step();
  if (rc == SQLITE_ROW) return int64_t(std::strtoll(q.text(0).c_str(), nullptr, 10));
  if (rc == SQLITE_DONE)
    return failf(Errc::StoreError, "{}/{}: not a healthy pxos store index (no '{}' record); {}", dir_, kIndexName,
                 name, kRebuildHint);
  return db_fail(db_, dir_, "meta");
}

Result<Store> Store::open(const std::string& dir, bool writable, std::optional<unsigned> key_bits) {
  Store st;
  st.dir_ = dir.empty() ? std::string(".") : dir;
  st.writable_ = writable;
  std::string index = st.dir_ + "/" + kIndexName, objects = st.dir_ + "/" + kObjectsDir;
  std::error_code ec;
  if (writable) {
    fs::create_directories(st.dir_, ec);
    if (ec) return failf(Errc::StoreError, "store {}: cannot create the directory: {}", st.dir_, ec.message());
    if (::access(st.dir_.c_str(), W_OK) != 0 ||
        (fs::exists(index, ec) && ::access(index.c_str(), W_OK) != 0))
      return failf(Errc::StoreError, "store {} is read-only: cannot add to it; nothing was written", st.dir_);
  }
  // The index is created before objects/, so objects/ beside a missing, empty or foreign index
  // means the index was lost: starting a fresh one would orphan every object (and gc would delete
  // them). Look at objects/ first: a concurrent first writer creates them in the other order.
  bool has_objects = fs::exists(objects, ec);
  struct stat ist{};
  bool has_index = ::stat(index.c_str(), &ist) == 0;
  if (has_objects && (!has_index || ist.st_size == 0))
    return failf(Errc::StoreError,
                 "store {}: objects/ is present but {} is {}; refusing to start an empty index over existing "
                 "objects; {}; nothing was changed",
                 st.dir_, kIndexName, has_index ? "empty (0 bytes)" : "missing", kRebuildHint);
  if (!writable && !has_index)
    return failf(Errc::NotFound, "store {} is empty (no {})", st.dir_, kIndexName);
  if (auto t = load_sqlite(); !t) return std::unexpected(t.error());
  int flags = (writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOFOLLOW;
  if (sq().sqlite3_open_v2(index.c_str(), &st.db_, flags, nullptr) != SQLITE_OK) {
    std::string m = st.db_ ? sq().sqlite3_errmsg(st.db_) : "out of memory";
    return failf(Errc::StoreError, "{}: cannot open the index: {}; {}", index, m, kRebuildHint);
  }
  sq().sqlite3_busy_timeout(st.db_, kBusyTimeoutMs);
  if (has_objects) {
    // An initialised store: the index must already be ours before anything is written to it.
    Stmt q(st.db_, "SELECT value FROM meta WHERE name = 'key_bits'");
    if (!q.ok() || q.step() != SQLITE_ROW)
      return failf(Errc::StoreError, "{}: not a healthy pxos store index ({}); refusing to use it; {}; nothing was "
                   "changed", index, q.ok() ? "no key_bits record" : sq().sqlite3_errmsg(st.db_), kRebuildHint);
  }
  if (writable) {
    if (auto s = exec(st.db_, st.dir_, "PRAGMA synchronous=FULL"); !s) return std::unexpected(s.error());
    Txn t(st.db_);
    if (auto s = t.begin(st.dir_); !s) return std::unexpected(s.error());
    if (auto s = exec(st.db_, st.dir_, kSchema); !s) return std::unexpected(s.error());
    // 'keys' and 'generation' are added to a store made before they existed (counted from its rows).
    Stmt ins(st.db_, "INSERT OR IGNORE INTO meta(name, value) VALUES('format', '2'), ('key_bits', ?1), "
                     "('keys', (SELECT count(*) FROM keys)), ('generation', '0')");
    if (!ins.ok()) return db_fail(st.db_, st.dir_, "init");
    ins.bind(1, fmt::format("{}", key_bits.value_or(kDefaultKeyBits)));
    if (ins.step() != SQLITE_DONE) return db_fail(st.db_, st.dir_, "init");
    if (auto s = t.commit(st.dir_); !s) return std::unexpected(s.error());
    for (const char* sub : {kObjectsDir, kTmpDir, kSeedsDir})
      if (::mkdir((st.dir_ + "/" + sub).c_str(), 0755) != 0 && errno != EEXIST)
        return failf(Errc::StoreError, "store {}: cannot create {}/: {}", st.dir_, sub, errno_text(errno));
  }
  Stmt q(st.db_, "SELECT value FROM meta WHERE name = 'key_bits'");
  if (!q.ok())
    return failf(Errc::StoreError, "{}: not a pxos store index: {}; {}", index, sq().sqlite3_errmsg(st.db_), kRebuildHint);
  if (q.step() != SQLITE_ROW)
    return failf(Errc::StoreError, "{}: not a pxos store index (no key_bits); {}", index, kRebuildHint);
  unsigned bits = unsigned(std::atoi(q.text(0).c_str()));
  if (bits < 1 || bits > 32) return failf(Errc::StoreError, "{}: bad key width {}", index, q.text(0));
  if (key_bits && *key_bits != bits)
    return failf(Errc::StoreError, "store {} uses {}-bit keys but {}-bit keys were asked for ({}); use another store",
                 st.dir_, bits, *key_bits, kKeyBitsEnv);
  st.bits_ = bits;
  if (writable) {
    // Rows lost behind SQLite's back (the count no longer matches) make every write suspect.
    auto h = st.health(false);
    if (!h) return std::unexpected(h.error());
    if (!h->empty()) return failf(Errc::StoreError, "{}; refusing to write; nothing was changed", h->front());
  }
  return st;
}

Result<std::optional<Entry>> Store::lookup(Key k) {
  Stmt s(db_, fmt::format("{} WHERE key = ?1", kSelectCols).c_str());
  if (!s.ok()) return db_fail(db_, dir_, "lookup");
  s.bind(1, int64_t(k));
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<Entry>(row_entry(s));
  if (rc == SQLITE_DONE) return std::optional<Entry>();
  return db_fail(db_, dir_, "lookup");
}

Result<PutResult> Store::put(ByteView payload, image::Kind kind) {
  if (payload.size() > kMaxPayload)
    return failf(Errc::TooLarge, "payload of {} bytes is over the {} byte limit", payload.size(), kMaxPayload);
  Sha256 h = sha256(payload);
  auto z = compress(payload, kZstdLevel);  // outside the lock: writers only serialize on the disk work
  if (!z) return std::unexpected(z.error());
  return put_impl(payload, kind, natural_key(h, bits_), h, &*z, nullptr);
}

Result<PutResult> Store::put_seed(const GenSpec& g, image::Kind kind) {
  auto payload = generate(g);
  if (!payload) return std::unexpected(payload.error());
  return put_impl(*payload, kind, prefix_bits(g.seed(), bits_), sha256(*payload), nullptr, &g);
}

Result<PutResult> Store::put_impl(ByteView payload, image::Kind kind, Key k0, const Sha256& h, const Bytes* z,
                                  const GenSpec* g) {
  if (!writable_) return failf(Errc::Internal, "store {} was opened read-only", dir_);
  Txn t(db_);
  if (auto s = t.begin(dir_); !s) return std::unexpected(s.error());
  PutResult r;
  uint32_t step = probe_step(h, bits_);
  uint64_t limit = std::min<uint64_t>(uint64_t(key_mask(bits_)) + 1, kMaxProbes);
  std::optional<Key> free;
  for (uint64_t i = 0; i < limit; ++i) {
    Key k = probe(k0, step, i, bits_);
    auto row = lookup(k);
    if (!row) return std::unexpected(row.error());
    if (!*row) {
      free = k;
      r.entry.probes = uint32_t(i);
      break;
    }
    if ((*row)->hash == h && (*row)->kind == kind) {
      r.entry = **row;
      r.existed = true;
      break;
    }
    r.collisions.push_back({k, (*row)->hash});
  }
  if (!free && !r.existed)
    return failf(Errc::StoreError, "store {}: no free key after {} probes ({}-bit keys); nothing was written", dir_,
                 limit, bits_);
  if (r.existed) {
    // Same content already here: make sure its object (or seed record) is sound and claims this
    // key (repair it from ours, or add a header to an object written before headers existed).
    if (r.entry.method == Method::Seed || z) {
      auto w = record(r.entry, r.entry.method == Method::Hash ? z : nullptr);
      if (!w) return std::unexpected(w.error());
      r.repaired = *w;
    }
    if (auto s = t.commit(dir_); !s) return std::unexpected(s.error());
    return r;
  }
  Entry& e = r.entry;
  e.key = *free;
  e.hash = h;
  e.kind = kind;
  e.size = payload.size();
  e.method = g ? Method::Seed : Method::Hash;
  e.generator = g ? g->to_string() : std::string();
  if (auto s = exec(db_, dir_, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'keys'"); !s)
    return std::unexpected(s.error());
  auto w = record(e, z);
  if (!w) return std::unexpected(w.error());
  r.repaired = *w;
  if (z) {
    struct stat sb{};
    e.stored = ::stat(object_path(h).c_str(), &sb) == 0 ? uint64_t(sb.st_size) : z->size();
  }
  Stmt ins(db_,
           "INSERT INTO keys(key, hash, kind, size, stored, method, generator, probes, created) "
           "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!ins.ok()) return db_fail(db_, dir_, "insert");
  ins.bind(1, int64_t(e.key));
  ins.bind(2, ByteView(e.hash));
  ins.bind(3, int64_t(e.kind));
  ins.bind(4, int64_t(e.size));
  ins.bind(5, int64_t(e.stored));
  ins.bind(6, int64_t(e.method));
  if (g) ins.bind(7, e.generator); else ins.bind_null(7);
  ins.bind(8, int64_t(e.probes));
  ins.bind(9, int64_t(std::time(nullptr)));
  if (ins.step() != SQLITE_DONE) return db_fail(db_, dir_, "insert");
  if (auto s = t.commit(dir_); !s) return std::unexpected(s.error());
  return r;
}

Result<bool> Store::record(const Entry& e, const Bytes* z) {
  bool seed = e.method == Method::Seed;
  std::string path = seed ? seed_path(e.key) : object_path(e.hash);
  std::string rel = seed ? fmt::format("{}/{:08x}", kSeedsDir, e.key)
                         : fmt::format("{}/{}/{}", kObjectsDir, hex(e.hash).substr(0, 2), hex(e.hash));
  struct stat sb{};
  bool exists = ::lstat(path.c_str(), &sb) == 0;
  std::optional<ObjectHeader> hdr;
  bool valid = false;
  if (exists && !seed) {
    valid = bool(read_object(path, e.hash, &hdr));
  } else if (exists) {
    auto hh = read_header(path);
    valid = hh && *hh && (*hh)->method == 1 && (*hh)->hash == e.hash && (*hh)->generator == e.generator;
    if (valid) hdr = **hh;
  }
  if (exists && !valid && !seed) {
    // A damaged object whose header still reads keeps its other claims.
    auto hh = read_header(path);
    if (hh && *hh && (*hh)->method == 0 && (*hh)->hash == e.hash) hdr = **hh;
  }
  std::vector<Claim> claims = hdr ? hdr->claims : std::vector<Claim>();
  bool have = false;
  for (const Claim& c : claims) have |= c.key == e.key && c.kind == e.kind;
  if (valid && have) return false;
  if (!have) claims.push_back({e.key, e.probes, e.kind, now_ns()});
  auto gen = meta_int("generation");
  if (!gen) return std::unexpected(gen.error());
  uint64_t generation = uint64_t(*gen) + 1;
  if (auto s = exec(db_, dir_, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'generation'"); !s)
    return std::unexpected(s.error());
  ObjectHeader nh{uint8_t(e.method), uint8_t(bits_), e.size, generation, e.hash, e.generator, std::move(claims)};
  Bytes file = encode_header(nh);
  if (z) file.insert(file.end(), z->begin(), z->end());
  std::string sub = fs::path(path).parent_path().string();
  if (::mkdir(sub.c_str(), 0755) != 0 && errno != EEXIST)
    return failf(Errc::StoreError, "{}: cannot create directory: {}", sub, errno_text(errno));
  // Under the write transaction nobody else writes here, so replacing (rename) a valid object with
  // one that claims one key more is safe: a reader sees the old file or the new, both complete.
  os::PublishOptions o{.mode = 0444, .kind = Errc::StoreError, .tmp_dir = dir_ + "/" + kTmpDir, .user_path = false};
  auto w = os::publish(path, file, o);
  if (!w) return std::unexpected(w.error());
  Stmt del(db_, "DELETE FROM unattributed WHERE path = ?1");
  if (!del.ok()) return db_fail(db_, dir_, "insert");
  del.bind(1, rel);
  if (del.step() != SQLITE_DONE) return db_fail(db_, dir_, "insert");
  return exists && !valid && !seed;
}

Result<Bytes> Store::get(Key k, Entry* entry) {
  auto row = lookup(k);
  if (!row) return std::unexpected(row.error());
  if (!*row) return failf(Errc::NotFound, "unknown key {} (not in store {})", key_hex(k), dir_);
  if (entry) *entry = **row;
  return get_entry(**row);
}

Result<Bytes> Store::get_entry(const Entry& e) {
  if (e.method == Method::Seed) {
    auto g = parse_spec(e.generator);
    if (!g) return failf(Errc::StoreError, "key {}: bad generator record '{}'", key_hex(e.key), e.generator);
    auto p = generate(*g);
    if (!p) return std::unexpected(p.error());
    Sha256 got = sha256(*p);
    if (got != e.hash)
      return failf(Errc::HashMismatch,
                   "key {}: generator {} now produces {} bytes hashing to {}, but the store recorded {}; refusing it",
                   key_hex(e.key), e.generator, p->size(), hex(got), hex(e.hash));
    return p;
  }
  auto p = read_object(object_path(e.hash), e.hash);
  if (!p) {
    Error err = p.error();
    if (err.code == Errc::NotFound)
      return failf(Errc::NotFound, "key {}: its object {} is missing from store {}", key_hex(e.key), hex(e.hash), dir_);
    return failf(err.code, "key {}: {}", key_hex(e.key), err.detail);
  }
  if (p->size() != e.size)
    return failf(Errc::StoreError, "key {}: object holds {} bytes, the index says {}", key_hex(e.key), p->size(), e.size);
  return p;
}

Result<std::vector<Entry>> Store::list() {
  Stmt s(db_, fmt::format("{} ORDER BY key", kSelectCols).c_str());
  if (!s.ok()) return db_fail(db_, dir_, "list");
  std::vector<Entry> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(row_entry(s));
  if (rc != SQLITE_DONE) return db_fail(db_, dir_, "list");
  return out;
}

Result<bool> Store::forget(Key k) {
  if (!writable_) return failf(Errc::Internal, "store {} was opened read-only", dir_);
  Txn t(db_);
  if (auto s = t.begin(dir_); !s) return std::unexpected(s.error());
  Stmt s(db_, "DELETE FROM keys WHERE key = ?1");
  if (!s.ok()) return db_fail(db_, dir_, "forget");
  s.bind(1, int64_t(k));
  if (s.step() != SQLITE_DONE) return db_fail(db_, dir_, "forget");
  bool had = sq().sqlite3_changes(db_) > 0;
  if (had)
    if (auto u = exec(db_, dir_, "UPDATE meta SET value = CAST(value AS INTEGER) - 1 WHERE name = 'keys'"); !u)
      return std::unexpected(u.error());
  if (auto c = t.commit(dir_); !c) return std::unexpected(c.error());
  return had;
}

Result<std::vector<std::string>> Store::health(bool full) {
  std::vector<std::string> out;
  std::string index = dir_ + "/" + kIndexName;
  if (full) {
    Stmt ic(db_, "PRAGMA integrity_check");
    if (!ic.ok() || ic.step() != SQLITE_ROW) return db_fail(db_, dir_, "integrity_check");
    if (ic.text(0) != "ok") out.push_back(fmt::format("{}: integrity check failed: {}", index, ic.text(0)));
  }
  auto recorded = meta_int("keys");
  if (!recorded) {
    // A store from before the count existed, opened read-only: nothing to compare yet.
    if (!writable_) return out;
    return std::unexpected(recorded.error());
  }
  Stmt n(db_, "SELECT count(*) FROM keys");
  if (!n.ok() || n.step() != SQLITE_ROW) return db_fail(db_, dir_, "count");
  if (n.i64(0) != *recorded)
    out.push_back(fmt::format("{}: unhealthy: it holds {} key rows but recorded {} (rows were lost or added behind "
                              "pxos's back); {}",
                              index, n.i64(0), *recorded, kRebuildHint));
  if (!full) return out;
  auto gen = meta_int("generation");
  if (!gen) return writable_ ? Result<std::vector<std::string>>(std::unexpected(gen.error())) : out;
  // A write that failed after stamping its object leaves generation + 1 behind (its bump rolled
  // back); anything newer was stamped by a write this index never saw.
  for (const StoreFile& f : store_files(dir_, nullptr)) {
    auto h = read_header(f.path);
    if (h && *h && (*h)->generation > uint64_t(*gen) + 1) {
      out.push_back(fmt::format("{}: unhealthy: {} was written at generation {}, after the index's {}: the index is "
                                "older than the store (restored from a backup?); {}",
                                index, f.rel, (*h)->generation, *gen, kRebuildHint));
      break;
    }
  }
  return out;
}

Result<VerifyReport> Store::verify() {
  VerifyReport r;
  auto h = health(true);
  if (!h) return std::unexpected(h.error());
  r.problems = std::move(*h);
  auto rows = list();
  if (!rows) return std::unexpected(rows.error());
  std::set<std::string> referenced;  // store-relative paths
  for (const auto& e : *rows) {
    ++r.keys;
    if (e.method == Method::Hash)
      referenced.insert(fmt::format("{}/{}/{}", kObjectsDir, hex(e.hash).substr(0, 2), hex(e.hash)));
    else
      referenced.insert(fmt::format("{}/{:08x}", kSeedsDir, e.key));
    auto p = get_entry(e);
    if (p) ++r.ok;
    else r.problems.push_back(p.error().to_string());
  }
  std::set<std::string> unattributed;
  {
    Stmt u(db_, "SELECT path FROM unattributed");
    // A store from before the table existed, opened read-only, has none.
    if (u.ok())
      while (u.step() == SQLITE_ROW) unattributed.insert(u.text(0));
  }
  std::vector<std::string> strays;
  for (const StoreFile& f : store_files(dir_, &strays)) {
    if (!f.seed) ++r.objects;
    if (unattributed.count(f.rel)) ++r.unattributed;
    else if (!referenced.count(f.rel)) ++r.orphans;
  }
  for (const auto& p : strays) r.problems.push_back(fmt::format("{}: not a store object (unexpected file)", p));
  return r;
}

Result<GcReport> Store::gc() {
  if (!writable_) return failf(Errc::Internal, "store {} was opened read-only", dir_);
  Txn t(db_);  // holds the write lock: no writer can be between "object written" and "key committed"
  if (auto s = t.begin(dir_); !s) return std::unexpected(s.error());
  // Nothing is deleted unless a healthy index proves it unreferenced.
  auto h = health(true);
  if (!h) return std::unexpected(h.error());
  if (!h->empty())
    return failf(Errc::StoreError, "{}; gc refused, nothing was deleted", h->front());
  auto rows = list();
  if (!rows) return std::unexpected(rows.error());
  auto gen = meta_int("generation");
  if (!gen) return std::unexpected(gen.error());
  std::map<std::string, Sha256> referenced;  // store-relative path -> the hash its rows expect
  for (const auto& e : *rows)
    referenced[e.method == Method::Hash
                   ? fmt::format("{}/{}/{}", kObjectsDir, hex(e.hash).substr(0, 2), hex(e.hash))
                   : fmt::format("{}/{:08x}", kSeedsDir, e.key)] = e.hash;
  std::set<std::string> unattributed;
  {
    Stmt u(db_, "SELECT path FROM unattributed");
    if (!u.ok()) return db_fail(db_, dir_, "gc");
    while (u.step() == SQLITE_ROW) unattributed.insert(u.text(0));
  }
  GcReport r;
  std::vector<std::string> doomed;
  for (const StoreFile& f : store_files(dir_, nullptr)) {
    if (referenced.count(f.rel)) { ++r.kept; continue; }
    if (unattributed.count(f.rel)) { ++r.unattributed; continue; }
    auto hd = read_header(f.path);
    if (hd && *hd && (*hd)->generation > uint64_t(*gen)) { ++r.newer; continue; }  // a failed write's
    doomed.push_back(f.path);
  }
  for (const auto& p : doomed) {
    struct stat sb{};
    uint64_t sz = ::lstat(p.c_str(), &sb) == 0 ? uint64_t(sb.st_size) : 0;
    if (::unlink(p.c_str()) != 0)
      return failf(Errc::StoreError, "{}: cannot remove: {}", p, errno_text(errno));
    ++r.removed;
    r.bytes += sz;
  }
  std::error_code ec;
  fs::path td = fs::path(dir_) / kTmpDir;
  time_t now = std::time(nullptr);
  for (auto it = fs::directory_iterator(td, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    struct stat sb{};
    if (::lstat(it->path().c_str(), &sb) != 0 || S_ISDIR(sb.st_mode)) continue;
    if (now - sb.st_mtime < kTmpMaxAgeSeconds) continue;  // maybe a live writer's
    if (::unlink(it->path().c_str()) == 0) ++r.tmp_removed;
  }
  if (auto s = t.commit(dir_); !s) return std::unexpected(s.error());
  return r;
}

Result<RebuildReport> Store::rebuild_index(const std::string& dir_in, std::optional<unsigned> key_bits, bool force) {
  std::string dir = dir_in.empty() ? std::string(".") : dir_in;
  std::string index = dir + "/" + kIndexName, tmp = dir + "/" + kTmpDir;
  std::error_code ec;
  if (!fs::is_directory(fs::path(dir) / kObjectsDir, ec))
    return failf(Errc::NotFound, "store {}: no {}/ to rebuild the index from", dir, kObjectsDir);
  // Hold the old index's write lock while we work, if it is still a database at all, so that no
  // writer commits into the file we are about to replace; and learn its key width.
  if (auto t = load_sqlite(); !t) return std::unexpected(t.error());
  sqlite3* old = nullptr;
  std::optional<unsigned> old_bits;
  struct stat ist{};
  if (::stat(index.c_str(), &ist) == 0 && ist.st_size > 0) {
    if (!force) {
      auto st = Store::open(dir, false);
      if (st) {
        auto h = st->health(true);
        if (h && h->empty())
          return failf(Errc::StoreError, "{}: the index is healthy; rebuild-index replaces it only with --force",
                       index);
      }
    }
    if (sq().sqlite3_open_v2(index.c_str(), &old, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr) == SQLITE_OK) {
      sq().sqlite3_busy_timeout(old, kBusyTimeoutMs);
      if (sq().sqlite3_exec(old, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK) {
        Stmt q(old, "SELECT value FROM meta WHERE name = 'key_bits'");
        if (q.ok() && q.step() == SQLITE_ROW) {
          unsigned b = unsigned(std::atoi(q.text(0).c_str()));
          if (b >= 1 && b <= 32) old_bits = b;
        }
      }
    }
  }
  struct Closer {
    sqlite3*& db;
    ~Closer() { if (db) sq().sqlite3_close(db); }  // closing rolls the lock transaction back
  } close_old{old};

  RebuildReport r;
  struct Found {
    ObjectHeader hdr;
    std::string rel;
    uint64_t stored = 0;
  };
  std::vector<Found> found;
  for (const StoreFile& f : store_files(dir, nullptr)) {
    struct stat sb{};
    if (::lstat(f.path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) {
      r.unattributed.push_back(fmt::format("{}: not a regular file", f.rel));
      continue;
    }
    std::optional<ObjectHeader> hdr;
    if (!f.seed) {
      Sha256 want{};
      for (size_t i = 0; i < 32; ++i) want[i] = uint8_t(std::stoul(f.name.substr(2 * i, 2), nullptr, 16));
      ++r.objects;
      auto p = read_object(f.path, want, &hdr);
      if (!p) { r.unattributed.push_back(fmt::format("{}: {}", f.rel, p.error().detail)); continue; }
      if (!hdr) { r.unattributed.push_back(fmt::format("{}: no header (written before objects had one)", f.rel)); continue; }
    } else {
      ++r.seeds;
      auto h = read_header(f.path);
      if (!h) { r.unattributed.push_back(fmt::format("{}: {}", f.rel, h.error().detail)); continue; }
      if (!*h || (*h)->method != 1) { r.unattributed.push_back(fmt::format("{}: not a seed record", f.rel)); continue; }
      hdr = **h;
      auto g = parse_spec(hdr->generator);
      auto p = g ? generate(*g) : Result<Bytes>(std::unexpected(g.error()));
      if (!p || sha256(*p) != hdr->hash || p->size() != hdr->size) {
        r.unattributed.push_back(fmt::format("{}: generator {} no longer produces the recorded program", f.rel,
                                             hdr->generator));
        continue;
      }
      if (hdr->claims.size() != 1 || fmt::format("{:08x}", hdr->claims[0].key) != f.name) {
        r.unattributed.push_back(fmt::format("{}: its claim does not name key 0x{}", f.rel, f.name));
        continue;
      }
    }
    found.push_back({std::move(*hdr), f.rel, f.seed ? 0 : uint64_t(sb.st_size)});
  }
  // The key width: asked for, else the old index's, else the one most headers carry.
  std::map<unsigned, size_t> widths;
  for (const auto& f : found) ++widths[f.hdr.key_bits];
  unsigned bits = kDefaultKeyBits;
  if (key_bits) bits = *key_bits;
  else if (old_bits) bits = *old_bits;
  else if (!widths.empty())
    bits = std::max_element(widths.begin(), widths.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  r.key_bits = bits;
  // One row per key: on two claims of one key, the later write (generation, then clock) wins.
  struct Pick {
    const Found* f;
    Claim c;
  };
  std::map<Key, Pick> rows;
  uint64_t max_gen = 0;
  for (const auto& f : found) {
    if (f.hdr.key_bits != bits) {
      r.unattributed.push_back(fmt::format("{}: {}-bit keys, the store's are {}-bit", f.rel, f.hdr.key_bits, bits));
      continue;
    }
    max_gen = std::max(max_gen, f.hdr.generation);
    for (const Claim& c : f.hdr.claims) {
      auto it = rows.find(c.key);
      if (it == rows.end()) { rows[c.key] = {&f, c}; continue; }
      ++r.superseded;
      auto later = [](const Pick& a, const Found& f2, const Claim& c2) {
        return std::tie(f2.hdr.generation, c2.created_ns) > std::tie(a.f->hdr.generation, a.c.created_ns);
      };
      if (later(it->second, f, c)) it->second = {&f, c};
    }
  }
  r.keys = rows.size();

  // Build the new index beside the old, then publish it over the old one in one rename.
  char name[] = "rebuild.XXXXXX";
  std::string tmpl = tmp + "/" + name;
  std::vector<char> tname(tmpl.begin(), tmpl.end());
  tname.push_back('\0');
  if (::mkdir(tmp.c_str(), 0755) != 0 && errno != EEXIST)
    return failf(Errc::StoreError, "store {}: cannot create {}/: {}", dir, kTmpDir, errno_text(errno));
  int fd = ::mkostemp(tname.data(), O_CLOEXEC);
  if (fd < 0) return failf(Errc::StoreError, "store {}: cannot create a temp file in {}: {}", dir, tmp, errno_text(errno));
  ::close(fd);
  std::string tpath(tname.data());
  struct Unlink {
    std::string p;
    ~Unlink() { ::unlink(p.c_str()); ::unlink((p + "-journal").c_str()); }
  } drop_tmp{tpath};
  Bytes image;
  {
    Store nu;
    nu.dir_ = dir;
    nu.bits_ = bits;
    nu.writable_ = true;
    if (sq().sqlite3_open_v2(tpath.c_str(), &nu.db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr) != SQLITE_OK)
      return failf(Errc::StoreError, "{}: cannot create the new index: {}", tpath,
                   nu.db_ ? sq().sqlite3_errmsg(nu.db_) : "out of memory");
    if (auto s = exec(nu.db_, dir, "PRAGMA synchronous=FULL"); !s) return std::unexpected(s.error());
    Txn t(nu.db_);
    if (auto s = t.begin(dir); !s) return std::unexpected(s.error());
    if (auto s = exec(nu.db_, dir, kSchema); !s) return std::unexpected(s.error());
    Stmt m(nu.db_, "INSERT INTO meta(name, value) VALUES('format', '2'), ('key_bits', ?1), ('keys', ?2), "
                   "('generation', ?3)");
    if (!m.ok()) return db_fail(nu.db_, dir, "rebuild");
    m.bind(1, fmt::format("{}", bits));
    m.bind(2, fmt::format("{}", rows.size()));
    m.bind(3, fmt::format("{}", max_gen));
    if (m.step() != SQLITE_DONE) return db_fail(nu.db_, dir, "rebuild");
    for (const auto& [k, p] : rows) {
      Stmt ins(nu.db_,
               "INSERT INTO keys(key, hash, kind, size, stored, method, generator, probes, created) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
      if (!ins.ok()) return db_fail(nu.db_, dir, "rebuild");
      ins.bind(1, int64_t(k));
      ins.bind(2, ByteView(p.f->hdr.hash));
      ins.bind(3, int64_t(p.c.kind));
      ins.bind(4, int64_t(p.f->hdr.size));
      ins.bind(5, int64_t(p.f->stored));
      ins.bind(6, int64_t(p.f->hdr.method));
      if (p.f->hdr.method == 1) ins.bind(7, p.f->hdr.generator); else ins.bind_null(7);
      ins.bind(8, int64_t(p.c.probes));
      ins.bind(9, int64_t(p.c.created_ns / 1000000000u));
      if (ins.step() != SQLITE_DONE) return db_fail(nu.db_, dir, "rebuild");
    }
    for (const auto& u : r.unattributed) {
      Stmt ins(nu.db_, "INSERT OR IGNORE INTO unattributed(path, reason) VALUES(?1, ?2)");
      if (!ins.ok()) return db_fail(nu.db_, dir, "rebuild");
      size_t colon = u.find(": ");
      ins.bind(1, u.substr(0, colon));
      ins.bind(2, u.substr(colon + 2));
      if (ins.step() != SQLITE_DONE) return db_fail(nu.db_, dir, "rebuild");
    }
    if (auto s = t.commit(dir); !s) return std::unexpected(s.error());
  }  // closed: the file is complete
  auto bytes = os::read_input(tpath, uint64_t(1) << 40, os::InputOptions{.kind = Errc::StoreError});
  if (!bytes) return std::unexpected(bytes.error());
  // A journal left by a crashed writer belongs to the old file; SQLite would replay it into ours.
  if (::unlink((index + "-journal").c_str()) != 0 && errno != ENOENT)
    return failf(Errc::StoreError, "{}-journal: cannot remove: {}", index, errno_text(errno));
  auto w = os::publish(index, *bytes,
                       os::PublishOptions{.mode = 0644, .kind = Errc::StoreError, .tmp_dir = tmp, .user_path = false});
  if (!w) return std::unexpected(w.error());
  return r;
}

}  // namespace pxos::god
