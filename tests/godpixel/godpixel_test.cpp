// godpixel_test.cpp: keys and probing, objects, the store (collisions, seed method, damage,
// missing index, gc, verify), key/bootstrap images and the generator families.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/fs.hpp"
#include "godpixel/config.hpp"
#include "godpixel/generators.hpp"
#include "godpixel/image.hpp"
#include "godpixel/object.hpp"
#include "godpixel/ops.hpp"
#include "godpixel/store.hpp"
#include "image/png.hpp"
#include "isa/module.hpp"

namespace fs = std::filesystem;
using namespace pxos;
using namespace pxos::god;

namespace {

struct TempDir {
  fs::path p;
  TempDir() {
    char t[] = "/tmp/pxos-god-test.XXXXXX";
    p = ::mkdtemp(t);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  std::string str(const char* sub = "store") const { return (p / sub).string(); }
};

Bytes program(uint32_t i) {  // distinct, somewhat compressible payloads
  Bytes b;
  for (uint32_t j = 0; j < 200 + i % 50; ++j) b.push_back(uint8_t((i * 31 + j * (j % 7)) & 0xff));
  put_u32le(b.data(), i);
  return b;
}

void flip_byte(const std::string& path, size_t off) {
  ::chmod(path.c_str(), 0644);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(off));
  char c;
  f.get(c);
  f.seekp(std::streamoff(off));
  f.put(char(c ^ 0x40));
}

}  // namespace

TEST(GodKey, NaturalKeyIsTheHashPrefix) {
  Sha256 h{};
  h[0] = 0xd6, h[1] = 0x2a, h[2] = 0xb2, h[3] = 0x5b;
  EXPECT_EQ(natural_key(h, 32), 0xd62ab25bu);
  EXPECT_EQ(natural_key(h, 8), 0xd6u);
  auto px = key_rgba(0xd62ab25b);
  EXPECT_EQ(px[0], 214);
  EXPECT_EQ(px[3], 0x5b);
  EXPECT_EQ(key_from_rgba(px.data()), 0xd62ab25bu);
  EXPECT_EQ(key_hex(0xd62ab25b), "0xd62ab25b");
  EXPECT_EQ(*parse_key("0xd62ab25b"), 0xd62ab25bu);
  EXPECT_FALSE(parse_key("0x123456789"));
  EXPECT_FALSE(parse_key("zz"));
}

TEST(GodKey, ProbeSequenceVisitsEveryKeyOnce) {
  for (unsigned bits : {1u, 3u, 8u, 12u}) {
    Sha256 h = sha256(as_bytes("probe"));
    uint32_t step = probe_step(h, bits);
    EXPECT_EQ(step & 1u, 1u);
    std::set<Key> seen;
    uint64_t n = uint64_t(key_mask(bits)) + 1;
    for (uint64_t i = 0; i < n; ++i) seen.insert(probe(natural_key(h, bits), step, i, bits));
    EXPECT_EQ(seen.size(), n) << bits;
  }
}

TEST(GodObject, RoundTripAndRefusals) {
  Bytes p = program(7);
  Sha256 h = sha256(p);
  Bytes z = *compress(p, kZstdLevel);
  auto back = decode_object(z, h, "o", kMaxPayload);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, p);
  Sha256 other = sha256(as_bytes("other"));
  auto wrong = decode_object(z, other, "o", kMaxPayload);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::HashMismatch);
  Bytes trailing = z;
  trailing.push_back(0);
  EXPECT_FALSE(decode_object(trailing, h, "o", kMaxPayload));
  EXPECT_FALSE(decode_object(ByteView(z).first(z.size() - 1), h, "o", kMaxPayload));
  EXPECT_FALSE(decode_object(z, h, "o", p.size() - 1));  // declared size over the cap
  EXPECT_FALSE(decode_object(as_bytes("xyz"), h, "o", kMaxPayload));
}

TEST(GodStore, PutGetDedupAndRatios) {
  TempDir t;
  auto st = Store::open(t.str(), true, 32);
  ASSERT_TRUE(st) << st.error().to_string();
  Bytes p = program(1);
  auto r = st->put(p, image::Kind::Bytecode);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->existed);
  EXPECT_EQ(r->entry.key, natural_key(sha256(p), 32));
  EXPECT_EQ(r->entry.size, p.size());
  EXPECT_EQ(r->entry.stored, fs::file_size(st->object_path(sha256(p))));
  auto again = st->put(p, image::Kind::Bytecode);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->existed);
  EXPECT_EQ(again->entry.key, r->entry.key);
  Entry e;
  auto got = st->get(r->entry.key, &e);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(*got, p);
  EXPECT_EQ(e.hash, sha256(p));
  auto unknown = st->get(r->entry.key ^ 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::NotFound);
  std::string lines = ratio_lines(1000, 250, "zstd object on disk");
  EXPECT_NE(lines.find("250.00:1"), std::string::npos);  // key reference ratio: 1000 : 4
  EXPECT_NE(lines.find("4.00:1"), std::string::npos);    // stored ratio: 1000 : 250
}

TEST(GodStore, ForcedCollisionsStillResurrectExactly) {
  TempDir t;
  auto st = Store::open(t.str(), true, 8);  // 256 keys: collisions all the time
  ASSERT_TRUE(st);
  std::vector<std::pair<Key, Bytes>> kept;
  size_t collided = 0;
  for (uint32_t i = 0; i < 200; ++i) {
    auto r = st->put(program(i), image::Kind::Raw);
    ASSERT_TRUE(r) << r.error().to_string();
    collided += !r->collisions.empty();
    EXPECT_EQ(r->entry.probes, r->collisions.size());
    kept.push_back({r->entry.key, program(i)});
  }
  EXPECT_GT(collided, 50u);
  std::set<Key> keys;
  for (auto& [k, p] : kept) {
    keys.insert(k);
    auto got = st->get(k);
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_EQ(*got, p);
  }
  EXPECT_EQ(keys.size(), kept.size());
  // Re-putting finds each program at its existing key, along the same probe sequence.
  for (uint32_t i = 0; i < 200; i += 17) {
    auto r = st->put(program(i), image::Kind::Raw);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->existed);
    EXPECT_EQ(r->entry.key, kept[i].first);
  }
  for (uint32_t i = 200; i < 256; ++i) ASSERT_TRUE(st->put(program(i), image::Kind::Raw));
  auto full = st->put(program(999), image::Kind::Raw);
  ASSERT_FALSE(full);
  EXPECT_NE(full.error().detail.find("no free key"), std::string::npos);
  // Another key width is refused on an existing store.
  EXPECT_FALSE(Store::open(t.str(), true, 32));
}

TEST(GodStore, SeedMethodRegeneratesAndVerifies) {
  TempDir t;
  auto st = Store::open(t.str(), true, 32);
  ASSERT_TRUE(st);
  GenSpec g = *parse_spec("countdown:10");
  auto r = st->put_seed(g);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->entry.key, (1u << 24) | 10u);  // the key is the seed
  EXPECT_EQ(r->entry.stored, 0u);
  EXPECT_EQ(r->entry.generator, "countdown:10");
  EXPECT_FALSE(fs::exists(st->object_path(r->entry.hash)));
  auto got = st->get(r->entry.key);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(*got, *generate(g));
  // A record whose generator no longer matches its hash is refused, not returned.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((t.str() + "/index.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE keys SET generator = 'countdown:11'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto bad = st->get(r->entry.key);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::HashMismatch);
}

TEST(GodStore, MissingAndCorruptObjectsAreReportedAndRepaired) {
  TempDir t;
  auto st = Store::open(t.str(), true, 32);
  ASSERT_TRUE(st);
  Bytes p = program(3);
  auto r = st->put(p, image::Kind::Bytecode);
  ASSERT_TRUE(r);
  std::string obj = st->object_path(r->entry.hash);
  flip_byte(obj, fs::file_size(obj) / 2);
  auto bad = st->get(r->entry.key);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("corrupted object"), std::string::npos) << bad.error().detail;
  auto v = st->verify();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->problems.size(), 1u);
  auto heal = st->put(p, image::Kind::Bytecode);
  ASSERT_TRUE(heal);
  EXPECT_TRUE(heal->repaired);
  EXPECT_EQ(*st->get(r->entry.key), p);
  fs::remove(obj);
  auto missing = st->get(r->entry.key);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
  EXPECT_NE(missing.error().detail.find("missing"), std::string::npos);
  // An object replaced by a symbolic link is refused (O_NOFOLLOW).
  std::string elsewhere = t.str("elsewhere");
  ASSERT_TRUE(write_file_atomic(elsewhere, *compress(p, 3)));
  fs::create_symlink(elsewhere, obj);
  auto link = st->get(r->entry.key);
  ASSERT_FALSE(link);
  EXPECT_NE(link.error().detail.find("symbolic link"), std::string::npos);
}

TEST(GodStore, MissingIndexIsRefusedAndNothingIsLost) {
  TempDir t;
  {
    auto st = Store::open(t.str(), true, 32);
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->put(program(5), image::Kind::Raw));
  }
  fs::remove(t.str() + "/index.sqlite");
  size_t objects = 0;
  for (auto& e : fs::recursive_directory_iterator(t.str() + "/objects")) objects += e.is_regular_file();
  EXPECT_EQ(objects, 1u);
  auto w = Store::open(t.str(), true);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().detail.find("index.sqlite is missing"), std::string::npos);
  EXPECT_FALSE(Store::open(t.str(), false));
  EXPECT_FALSE(fs::exists(t.str() + "/index.sqlite"));  // no fresh index was started
  size_t after = 0;
  for (auto& e : fs::recursive_directory_iterator(t.str() + "/objects")) after += e.is_regular_file();
  EXPECT_EQ(after, 1u);
  auto empty = Store::open(t.str("never-created"), false);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Errc::NotFound);
}

TEST(GodStore, GcRemovesOnlyUnreferencedObjectsAndStaleTemps) {
  TempDir t;
  auto st = Store::open(t.str(), true, 32);
  ASSERT_TRUE(st);
  auto a = st->put(program(10), image::Kind::Raw);
  auto b = st->put(program(11), image::Kind::Raw);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(*st->forget(b->entry.key));
  EXPECT_FALSE(*st->forget(b->entry.key));
  std::string stale = t.str() + "/tmp/obj.stale", fresh = t.str() + "/tmp/obj.fresh";
  ASSERT_TRUE(write_file_atomic(stale, as_bytes("x")));
  ASSERT_TRUE(write_file_atomic(fresh, as_bytes("y")));
  struct utimbuf old{100, 100};
  ::utime(stale.c_str(), &old);
  auto r = st->gc();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->removed, 1u);
  EXPECT_EQ(r->kept, 1u);
  EXPECT_EQ(r->tmp_removed, 1u);
  EXPECT_FALSE(fs::exists(st->object_path(b->entry.hash)));
  EXPECT_TRUE(fs::exists(st->object_path(a->entry.hash)));
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_EQ(*st->get(a->entry.key), program(10));
  auto v = st->verify();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->problems.empty());
  EXPECT_EQ(v->orphans, 0u);
}

size_t count_files(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto& e : fs::recursive_directory_iterator(dir, ec)) n += e.is_regular_file();
  return n;
}

// Issue 19.3: an index truncated to 0 bytes must not let create or gc delete the objects.
TEST(GodStore, TruncatedIndexIsRefusedAndGcDeletesNothing) {
  TempDir t;
  {
    auto st = Store::open(t.str(), true, 32);
    ASSERT_TRUE(st);
    for (uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(st->put(program(40 + i), image::Kind::Raw));
  }
  std::string index = t.str() + "/index.sqlite";
  fs::resize_file(index, 0);
  auto w = Store::open(t.str(), true);
  if (w) {
    (void)w->put(program(50), image::Kind::Raw);
    (void)w->gc();
  }
  EXPECT_FALSE(w);
  if (!w) {
    EXPECT_NE(w.error().detail.find("index.sqlite is empty"), std::string::npos) << w.error().detail;
  }
  EXPECT_EQ(count_files(t.str() + "/objects"), 3u);
  EXPECT_EQ(fs::file_size(index), 0u);
}

// An index that lost rows (still a valid database) is not healthy: gc refuses, nothing goes.
TEST(GodStore, IndexMissingRowsIsUnhealthy) {
  TempDir t;
  {
    auto st = Store::open(t.str(), true, 32);
    ASSERT_TRUE(st);
    for (uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(st->put(program(60 + i), image::Kind::Raw));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((t.str() + "/index.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM keys WHERE rowid IN (SELECT rowid FROM keys LIMIT 2)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_FALSE(Store::open(t.str(), true));  // writes refused
  auto ro = Store::open(t.str(), false);
  ASSERT_TRUE(ro);
  auto v = ro->verify();
  ASSERT_TRUE(v);
  ASSERT_FALSE(v->problems.empty());
  EXPECT_NE(v->problems[0].find("holds 1 key rows but recorded 3"), std::string::npos) << v->problems[0];
  EXPECT_EQ(count_files(t.str() + "/objects"), 3u);
}

// An index restored from a backup is consistent in itself but older than the store's objects:
// their headers carry a later generation, so gc refuses instead of deleting them.
TEST(GodStore, IndexOlderThanTheObjectsIsUnhealthy) {
  TempDir t;
  std::string index = t.str() + "/index.sqlite";
  {
    auto st = Store::open(t.str(), true, 32);
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->put(program(70), image::Kind::Raw));
  }
  fs::copy_file(index, t.str("backup.sqlite"));
  {
    auto st = Store::open(t.str(), true, 32);
    ASSERT_TRUE(st);
    for (uint32_t i = 1; i < 4; ++i) ASSERT_TRUE(st->put(program(70 + i), image::Kind::Raw));
  }
  fs::copy_file(t.str("backup.sqlite"), index, fs::copy_options::overwrite_existing);
  auto st = Store::open(t.str(), true, 32);
  ASSERT_TRUE(st);
  auto g = st->gc();
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().detail.find("older than the store"), std::string::npos) << g.error().detail;
  EXPECT_EQ(count_files(t.str() + "/objects"), 4u);
}

TEST(GodStore, RebuildIndexRecoversKeysAndKeepsWhatItCannotAttribute) {
  TempDir t;
  std::vector<std::pair<Key, Bytes>> kept;
  Key seed_key = 0, raw_twin = 0;
  Sha256 legacy_hash{};
  {
    auto st = Store::open(t.str(), true, 8);  // collisions: probed keys must come back as they were
    ASSERT_TRUE(st);
    for (uint32_t i = 0; i < 40; ++i) {
      auto r = st->put(program(80 + i), image::Kind::Bytecode);
      ASSERT_TRUE(r);
      kept.push_back({r->entry.key, program(80 + i)});
    }
    auto twin = st->put(program(80), image::Kind::Raw);  // same bytes, second key on one object
    ASSERT_TRUE(twin);
    raw_twin = twin->entry.key;
    auto s = st->put_seed(*parse_spec("fib:9"));
    ASSERT_TRUE(s);
    seed_key = s->entry.key;
    // A forgotten key whose key is then reused: the newer claim must win on rebuild.
    auto gone = st->put(program(200), image::Kind::Raw);
    ASSERT_TRUE(gone);
    ASSERT_TRUE(*st->forget(gone->entry.key));
    // An object from before headers: a bare zstd frame, no claims.
    Bytes legacy = program(300);
    legacy_hash = sha256(legacy);
    ASSERT_TRUE(write_object(st->object_path(legacy_hash), t.str() + "/tmp", *compress(legacy, 3), legacy_hash));
  }
  fs::resize_file(t.str() + "/index.sqlite", 0);
  auto r = Store::rebuild_index(t.str(), std::nullopt, false);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->key_bits, 8u);
  ASSERT_EQ(r->unattributed.size(), 1u);
  EXPECT_NE(r->unattributed[0].find("no header"), std::string::npos) << r->unattributed[0];
  auto st = Store::open(t.str(), true);
  ASSERT_TRUE(st) << st.error().to_string();
  for (auto& [k, p] : kept) {
    Entry e;
    auto got = st->get(k, &e);
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_EQ(*got, p);
    EXPECT_EQ(e.kind, image::Kind::Bytecode);
  }
  Entry e;
  ASSERT_TRUE(st->get(raw_twin, &e));
  EXPECT_EQ(e.kind, image::Kind::Raw);
  ASSERT_TRUE(st->get(seed_key, &e));
  EXPECT_EQ(e.generator, "fib:9");
  auto v = st->verify();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->problems.empty()) << v->problems[0];
  EXPECT_EQ(v->unattributed, 1u);
  // gc never removes what rebuild could not attribute.
  auto g = st->gc();
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->unattributed, 1u);
  EXPECT_TRUE(fs::exists(st->object_path(legacy_hash)));
  // Creating it again gives it a header and a key: it is attributed from then on.
  auto again = st->put(program(300), image::Kind::Raw);
  ASSERT_TRUE(again);
  EXPECT_EQ(st->verify()->unattributed, 0u);
  // A healthy index is replaced only when asked to.
  EXPECT_FALSE(Store::rebuild_index(t.str(), std::nullopt, false));
  EXPECT_TRUE(Store::rebuild_index(t.str(), std::nullopt, true));
}

TEST(GodObject, HeaderRoundTripAndRefusals) {
  ObjectHeader h;
  h.size = 281;
  h.generation = 7;
  h.hash = sha256(as_bytes("x"));
  h.claims = {{0x35621ed7, 0, image::Kind::Bytecode, 123}, {0x11, 2, image::Kind::Raw, 456}};
  Bytes b = encode_header(h);
  size_t used = 0;
  auto back = parse_header(b, "h", &used);
  ASSERT_TRUE(back && *back) << back.error().to_string();
  EXPECT_EQ(used, b.size());
  EXPECT_EQ((*back)->claims.size(), 2u);
  EXPECT_EQ((*back)->claims[1].kind, image::Kind::Raw);
  EXPECT_EQ((*back)->generation, 7u);
  // Not a header at all: a bare zstd frame (an old object) reads as "no header".
  auto none = parse_header(*compress(as_bytes("abc"), 3), "h", &used);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  for (size_t cut = 4; cut < b.size(); cut += 7) EXPECT_FALSE(parse_header(ByteView(b).first(cut), "h", &used));
  Bytes bad = b;
  bad[13] = 9;  // method
  EXPECT_FALSE(parse_header(bad, "h", &used));
  bad = b;
  bad[b.size() - 2] = 1;  // reserved byte of the last claim
  auto e = parse_header(bad, "h", &used);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().detail.find("offset"), std::string::npos);
  bad = b;
  bad[0] = 0x50;  // another skippable frame
  EXPECT_FALSE(parse_header(bad, "h", &used));
  // An object with a header still decodes, and its header must agree with its name.
  Bytes p = program(9);
  ObjectHeader oh;
  oh.size = p.size();
  oh.hash = sha256(p);
  oh.claims = {{1, 0, image::Kind::Raw, 0}};
  Bytes obj = encode_header(oh);
  Bytes z = *compress(p, 3);
  obj.insert(obj.end(), z.begin(), z.end());
  std::optional<ObjectHeader> got;
  auto d = decode_object(obj, oh.hash, "o", kMaxPayload, &got);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(*d, p);
  ASSERT_TRUE(got);
  oh.size += 1;
  Bytes lie = encode_header(oh);
  lie.insert(lie.end(), z.begin(), z.end());
  EXPECT_FALSE(decode_object(lie, oh.hash, "o", kMaxPayload));
}

TEST(GodImage, KeyImageRoundTripAndWrongStore) {
  TempDir t;
  auto st = Store::open(t.str(), true, 32);
  ASSERT_TRUE(st);
  Bytes p = program(20);
  auto r = st->put(p, image::Kind::Bytecode);
  ASSERT_TRUE(r);
  GodImage k;
  k.key = r->entry.key;
  k.kind = image::Kind::Bytecode;
  k.length = p.size();
  k.sha = r->entry.hash;
  Bytes png = *encode_key_image(k);
  auto g = decode_god_image(png, "key.png");
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->key, r->entry.key);
  EXPECT_EQ(g->width, 1u);
  auto res = resurrect_image(png, "key.png", t.str());
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->payload, p);
  // The same key naming other content (another store, or a forged image) is refused.
  k.sha = sha256(as_bytes("something else"));
  auto wrong = resurrect_image(*encode_key_image(k), "key.png", t.str());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::HashMismatch);
  auto none = resurrect_image(png, "key.png", t.str("empty"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::NotFound);
}

TEST(GodImage, BadKeyImages) {
  image::PngImage img;
  img.width = 2;
  img.height = 1;
  img.channels = 4;
  img.pixels.assign(8, 7);
  Bytes plain = *image::png_encode(img);
  auto e1 = decode_god_image(plain, "big.png");
  ASSERT_FALSE(e1);
  EXPECT_NE(e1.error().detail.find("no pxGp chunk"), std::string::npos);
  img.width = 1;
  img.pixels.resize(4);
  auto e2 = decode_god_image(*image::png_encode(img), "one.png");
  ASSERT_FALSE(e2);
  EXPECT_NE(e2.error().detail.find("1x1 PNG, but it carries no god-pixel key"), std::string::npos);
  // A key chunk on a 2x1 image.
  GodImage k;
  k.sha = sha256(as_bytes("p"));
  Bytes key = *encode_key_image(k);
  auto dec = image::png_decode(key, "k", 4);
  ASSERT_TRUE(dec);
  dec->width = 2;
  dec->pixels.resize(8, 0);
  auto e3 = decode_god_image(*image::png_encode(*dec), "wide.png");
  ASSERT_FALSE(e3);
  EXPECT_NE(e3.error().detail.find("a key image is 1x1, this one is 2x1"), std::string::npos);
  EXPECT_FALSE(decode_god_image(as_bytes("not a png at all"), "x"));
  // Every truncation of a key image is an error, never a crash.
  for (size_t n = 0; n < key.size(); ++n) EXPECT_FALSE(decode_god_image(ByteView(key).first(n), "cut.png")) << n;
}

TEST(GodImage, BootstrapNeedsNoStoreAndRefusesDamage) {
  Bytes p;
  for (int i = 0; i < 5000; ++i) p.push_back(uint8_t(i * i % 251));
  Bytes png = *encode_bootstrap_image(p, image::Kind::Raw, 32);
  auto g = decode_god_image(png, "self.png");
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->type, image::Kind::GodBootstrap);
  EXPECT_EQ(g->key, natural_key(sha256(p), 32));
  auto back = resurrect_image(png, "self.png", "/nonexistent/store");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->payload, p);
  for (size_t n : {png.size() / 2, png.size() - 13, size_t(60)})
    EXPECT_FALSE(resurrect_image(ByteView(png).first(n), "cut.png", "/nonexistent/store")) << n;
  // A pixel changed inside the payload: the hash (or zstd) refuses it.
  auto dec = image::png_decode(png, "s", 4);
  ASSERT_TRUE(dec);
  dec->pixels[40] ^= 1;
  auto bad = resurrect_image(*image::png_encode(*dec), "bad.png", "/nonexistent/store");
  ASSERT_FALSE(bad);
  // The key pixel must be the payload's key.
  dec->pixels[40] ^= 1;
  dec->pixels[0] ^= 1;
  auto key = resurrect_image(*image::png_encode(*dec), "key.png", "/nonexistent/store");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().detail.find("key pixel"), std::string::npos);
}

TEST(GodGenerators, EveryFamilyAssemblesDeterministically) {
  for (const auto& f : families()) {
    for (uint32_t n : {f.min_n, f.max_n, (f.min_n + f.max_n) / 2}) {
      GenSpec g{&f, n};
      auto a = generate(g), b = generate(g);
      ASSERT_TRUE(a) << a.error().to_string();
      EXPECT_EQ(*a, *b);
      auto m = isa::parse_module(*a, "gen");
      ASSERT_TRUE(m);
      EXPECT_EQ(m->source, g.to_string());
      EXPECT_EQ(parse_spec(g.to_string())->seed(), g.seed());
    }
  }
  EXPECT_NE(*generate(*parse_spec("countdown:3")), *generate(*parse_spec("countdown:4")));
  EXPECT_FALSE(parse_spec("sieve:1"));
  EXPECT_FALSE(parse_spec("sieve:5000"));
  EXPECT_FALSE(parse_spec("nosuch:3"));
  EXPECT_FALSE(parse_spec("countdown"));
  EXPECT_FALSE(parse_spec("countdown:x"));
  EXPECT_TRUE(parse_spec("fib(10)"));
}
