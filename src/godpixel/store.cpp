// store.cpp: the store: directory layout, SQLite index (rollback journal, synchronous FULL,
// BEGIN IMMEDIATE for writers, busy timeout), probing on collisions, verify and gc.
#include "godpixel/store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>

#include "common/fs.hpp"
#include "godpixel/config.hpp"
#include "godpixel/object.hpp"

namespace fs = std::filesystem;

namespace pxos::god {
namespace {

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, ByteView b) { sqlite3_bind_blob(s_, i, b.data(), int(b.size()), SQLITE_TRANSIENT); }
  void bind(int i, const std::string& t) { sqlite3_bind_text(s_, i, t.data(), int(t.size()), SQLITE_TRANSIENT); }
  void bind_null(int i) { sqlite3_bind_null(s_, i); }
  int step() { return sqlite3_step(s_); }
  int64_t i64(int c) { return sqlite3_column_int64(s_, c); }
  ByteView blob(int c) {
    auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, c));
    return {p, size_t(sqlite3_column_bytes(s_, c))};
  }
  std::string text(int c) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, size_t(sqlite3_column_bytes(s_, c))) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

std::unexpected<Error> db_fail(sqlite3* db, const std::string& dir, std::string_view what) {
  int rc = sqlite3_extended_errcode(db);
  std::string msg = sqlite3_errmsg(db);
  if ((rc & 0xff) == SQLITE_READONLY)
    return failf(Errc::StoreError, "store {} is read-only: {} refused ({}); nothing was written", dir, what, msg);
  if ((rc & 0xff) == SQLITE_BUSY)
    return failf(Errc::StoreError, "store {}: {}: index stayed locked by another writer for {} ms", dir, what, kBusyTimeoutMs);
  return failf(Errc::StoreError, "{}/{}: {}: {}", dir, kIndexName, what, msg);
}

Status exec(sqlite3* db, const std::string& dir, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
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
    "CREATE INDEX IF NOT EXISTS keys_hash ON keys(hash);";

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
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status begin(const std::string& dir) {
    if (auto s = exec(db_, dir, "BEGIN IMMEDIATE"); !s) return s;
    open_ = true;
    return {};
  }
  Status commit(const std::string& dir) {
    if (auto s = exec(db_, dir, "COMMIT"); !s) return s;
    open_ = false;
    return {};
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

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
    if (db_) sqlite3_close(db_);
    dir_ = std::move(o.dir_);
    bits_ = o.bits_;
    writable_ = o.writable_;
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}
Store::~Store() {
  if (db_) sqlite3_close(db_);
}

std::string Store::object_path(const Sha256& h) const {
  std::string x = hex(h);
  return fmt::format("{}/{}/{}/{}", dir_, kObjectsDir, x.substr(0, 2), x);
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
  // The index is created before objects/, so objects/ without an index means the index was lost:
  // starting a fresh one would orphan every object (and gc would delete them). Look at objects/
  // first: a concurrent first writer creates them in the other order, so this never misfires.
  bool has_objects = fs::exists(objects, ec);
  bool has_index = fs::exists(index, ec);
  if (!has_index && has_objects)
    return failf(Errc::StoreError,
                 "store {}: objects/ is present but {} is missing; refusing to start an empty index over "
                 "existing objects (restore the index file); nothing was changed",
                 st.dir_, kIndexName);
  if (!writable && !has_index)
    return failf(Errc::NotFound, "store {} is empty (no {})", st.dir_, kIndexName);
  int flags = (writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(index.c_str(), &st.db_, flags, nullptr) != SQLITE_OK) {
    std::string m = st.db_ ? sqlite3_errmsg(st.db_) : "out of memory";
    return failf(Errc::StoreError, "{}: cannot open the index: {}", index, m);
  }
  sqlite3_busy_timeout(st.db_, kBusyTimeoutMs);
  if (writable) {
    if (auto s = exec(st.db_, st.dir_, "PRAGMA synchronous=FULL"); !s) return std::unexpected(s.error());
    Txn t(st.db_);
    if (auto s = t.begin(st.dir_); !s) return std::unexpected(s.error());
    if (auto s = exec(st.db_, st.dir_, kSchema); !s) return std::unexpected(s.error());
    Stmt ins(st.db_, "INSERT OR IGNORE INTO meta(name, value) VALUES('format', '1'), ('key_bits', ?1)");
    if (!ins.ok()) return db_fail(st.db_, st.dir_, "init");
    ins.bind(1, fmt::format("{}", key_bits.value_or(kDefaultKeyBits)));
    if (ins.step() != SQLITE_DONE) return db_fail(st.db_, st.dir_, "init");
    if (auto s = t.commit(st.dir_); !s) return std::unexpected(s.error());
    for (const char* sub : {kObjectsDir, kTmpDir})
      if (::mkdir((st.dir_ + "/" + sub).c_str(), 0755) != 0 && errno != EEXIST)
        return failf(Errc::StoreError, "store {}: cannot create {}/: {}", st.dir_, sub, errno_text(errno));
  }
  Stmt q(st.db_, "SELECT value FROM meta WHERE name = 'key_bits'");
  if (!q.ok()) return failf(Errc::StoreError, "{}: not a pxos store index: {}", index, sqlite3_errmsg(st.db_));
  if (q.step() != SQLITE_ROW) return failf(Errc::StoreError, "{}: not a pxos store index (no key_bits)", index);
  unsigned bits = unsigned(std::atoi(q.text(0).c_str()));
  if (bits < 1 || bits > 32) return failf(Errc::StoreError, "{}: bad key width {}", index, q.text(0));
  if (key_bits && *key_bits != bits)
    return failf(Errc::StoreError, "store {} uses {}-bit keys but {}-bit keys were asked for ({}); use another store",
                 st.dir_, bits, *key_bits, kKeyBitsEnv);
  st.bits_ = bits;
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
    // Same content already here: make sure its object is still sound (repair it from ours if not).
    if (r.entry.method == Method::Hash && z && !read_object(object_path(h), h)) {
      auto w = write_object(object_path(h), dir_ + "/" + kTmpDir, *z, h);
      if (!w) return std::unexpected(w.error());
      r.repaired = true;
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
  if (z) {
    auto w = write_object(object_path(h), dir_ + "/" + kTmpDir, *z, h);
    if (!w) return std::unexpected(w.error());
    r.repaired = *w;
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
  Stmt s(db_, "DELETE FROM keys WHERE key = ?1");
  if (!s.ok()) return db_fail(db_, dir_, "forget");
  s.bind(1, int64_t(k));
  if (s.step() != SQLITE_DONE) return db_fail(db_, dir_, "forget");
  return sqlite3_changes(db_) > 0;
}

Result<VerifyReport> Store::verify() {
  VerifyReport r;
  {
    Stmt ic(db_, "PRAGMA integrity_check");
    if (!ic.ok() || ic.step() != SQLITE_ROW) return db_fail(db_, dir_, "integrity_check");
    if (ic.text(0) != "ok") r.problems.push_back(fmt::format("{}/{}: {}", dir_, kIndexName, ic.text(0)));
  }
  auto rows = list();
  if (!rows) return std::unexpected(rows.error());
  std::set<std::string> referenced;
  for (const auto& e : *rows) {
    ++r.keys;
    if (e.method == Method::Hash) referenced.insert(hex(e.hash));
    auto p = get_entry(e);
    if (p) ++r.ok;
    else r.problems.push_back(p.error().to_string());
  }
  std::error_code ec;
  fs::path od = fs::path(dir_) / kObjectsDir;
  if (fs::is_directory(od, ec))
    for (auto it = fs::recursive_directory_iterator(od, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory()) continue;
      std::string name = it->path().filename().string();
      if (!it->is_regular_file() || !is_hex64(name) || it->path().parent_path().filename() != name.substr(0, 2)) {
        r.problems.push_back(fmt::format("{}: not a store object (unexpected file)", it->path().string()));
        continue;
      }
      ++r.objects;
      if (!referenced.count(name)) ++r.orphans;
    }
  return r;
}

Result<GcReport> Store::gc() {
  if (!writable_) return failf(Errc::Internal, "store {} was opened read-only", dir_);
  Txn t(db_);  // holds the write lock: no writer can be between "object written" and "key committed"
  if (auto s = t.begin(dir_); !s) return std::unexpected(s.error());
  auto rows = list();
  if (!rows) return std::unexpected(rows.error());
  std::set<std::string> referenced;
  for (const auto& e : *rows)
    if (e.method == Method::Hash) referenced.insert(hex(e.hash));
  GcReport r;
  std::error_code ec;
  fs::path od = fs::path(dir_) / kObjectsDir;
  std::vector<fs::path> doomed;
  for (auto it = fs::recursive_directory_iterator(od, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
    std::string name = it->path().filename().string();
    if (!is_hex64(name)) continue;  // not ours: leave it (verify reports it)
    if (referenced.count(name)) { ++r.kept; continue; }
    doomed.push_back(it->path());
  }
  for (const auto& p : doomed) {
    struct stat sb{};
    uint64_t sz = ::lstat(p.c_str(), &sb) == 0 ? uint64_t(sb.st_size) : 0;
    if (::unlink(p.c_str()) != 0)
      return failf(Errc::StoreError, "{}: cannot remove: {}", p.string(), errno_text(errno));
    ++r.removed;
    r.bytes += sz;
  }
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

}  // namespace pxos::god
