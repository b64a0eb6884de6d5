// archive_test.cpp: the .pxa writer and reader: round trips, and every kind of bad archive
// (truncation at every length, duplicates, bad hashes, bad offsets, unsafe names, wrong PNG kind).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "helpers.hpp"
#include "hv/pack.hpp"

namespace pxos::hv::test {
namespace {

Archive sample() {
  Archive a;
  a.entries.push_back({EntryType::Manifest, "manifest.json", bytes_of("{}"), {}, 0});
  a.entries.push_back({EntryType::Module, "main", bytes_of("not really bytecode"), {}, 0});
  a.entries.push_back({EntryType::Data, "data/notes/a.txt", bytes_of("hello"), {}, 0});
  return a;
}

TEST(Archive, RoundTripThroughPng) {
  Archive a = sample();
  auto png = encode_pxa(a);
  ASSERT_TRUE(png) << png.error().detail;
  ASSERT_GE(png->size(), 8u);
  EXPECT_EQ(0, std::memcmp(png->data(), "\x89PNG\r\n\x1a\n", 8));
  auto b = decode_pxa(*png, "x.pxa");
  ASSERT_TRUE(b) << b.error().detail;
  ASSERT_EQ(b->entries.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(b->entries[i].name, a.entries[i].name);
    EXPECT_EQ(b->entries[i].type, a.entries[i].type);
    EXPECT_EQ(b->entries[i].data, a.entries[i].data);
    EXPECT_EQ(b->entries[i].sha, sha256(a.entries[i].data));
  }
  EXPECT_EQ(b->hash, a.hash);
  EXPECT_NE(b->manifest(), nullptr);
  EXPECT_EQ(b->modules().size(), 1u);
}

TEST(Archive, ArchiveHashCoversTheIndex) {
  Archive a = sample(), b = sample();
  b.entries[2].data = bytes_of("hellO");  // one byte of one entry changes the archive hash
  auto pa = encode_archive(a), pb = encode_archive(b);
  ASSERT_TRUE(pa && pb);
  EXPECT_NE(a.hash, b.hash);
  EXPECT_EQ(a.hash, sha256(ByteView(*pa).subspan(kHeaderSize, get_u32le(pa->data() + 12))));
}

TEST(Archive, WriterRefusesDuplicatesAndUnsafeNames) {
  Archive a = sample();
  a.entries.push_back({EntryType::Module, "main", bytes_of("x"), {}, 0});
  auto r = encode_archive(a);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("duplicate entry 'main'"), std::string::npos);
  for (auto [t, n] : std::vector<std::pair<EntryType, std::string>>{{EntryType::Data, "data/../x"}, {EntryType::Data, "/etc/passwd"},
                                                                     {EntryType::Data, "data//x"}, {EntryType::Data, "data/a\\b"},
                                                                     {EntryType::Module, "1main"}, {EntryType::Module, "ma-in"},
                                                                     {EntryType::Manifest, "other.json"}, {EntryType::Data, "x"}}) {
    Archive b;
    b.entries.push_back({t, n, bytes_of("x"), {}, 0});
    EXPECT_FALSE(encode_archive(b)) << n;
  }
}

TEST(Archive, EveryTruncationIsAnErrorNamingAnOffset) {
  Archive a = sample();
  auto p = encode_archive(a);
  ASSERT_TRUE(p);
  for (size_t n = 0; n < p->size(); ++n) {
    auto r = parse_archive(ByteView(p->data(), n), "t.pxa");
    ASSERT_FALSE(r) << "prefix of " << n << " bytes was accepted";
    EXPECT_NE(r.error().detail.find("t.pxa: offset "), std::string::npos) << r.error().detail;
  }
  EXPECT_TRUE(parse_archive(*p, "t.pxa"));
}

TEST(Archive, TruncatedDataIsReported) {
  Bytes p = raw_payload({{2, "main", bytes_of("abcdef")}});
  p.resize(p.size() - 2);
  auto r = parse_archive(p, "t.pxa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::ArchiveInvalid);
  EXPECT_NE(r.error().detail.find("truncated"), std::string::npos) << r.error().detail;
}

TEST(Archive, DuplicateEntriesAreRejectedWithTheirOffset) {
  Bytes p = raw_payload({{1, "manifest.json", bytes_of("{}")}, {2, "main", bytes_of("a")}, {2, "main", bytes_of("b")}});
  auto r = parse_archive(p, "t.pxa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::ArchiveInvalid);
  EXPECT_NE(r.error().detail.find("duplicate entry 'main'"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("offset "), std::string::npos);
}

TEST(Archive, EntryHashMismatchNamesTheEntry) {
  Bytes p = raw_payload({{2, "main", bytes_of("abc")}, {3, "data/x", bytes_of("payload")}});
  p[p.size() - 1] ^= 1;  // last byte of data/x
  auto r = parse_archive(p, "t.pxa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::HashMismatch);
  EXPECT_NE(r.error().detail.find("'data/x'"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("SHA-256 mismatch"), std::string::npos);
}

TEST(Archive, ForgedEntryHashIsRejected) {
  Sha256 zero{};
  auto r = parse_archive(raw_payload({{2, "main", bytes_of("abc"), std::nullopt, zero}}), "t.pxa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::HashMismatch);
}

TEST(Archive, IndexHashMismatchIsRejected) {
  auto r = parse_archive(raw_payload({{2, "main", bytes_of("abc")}}, /*fix_index_hash=*/false), "t.pxa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::HashMismatch);
  EXPECT_NE(r.error().detail.find("offset 24: archive hash mismatch"), std::string::npos) << r.error().detail;
}

TEST(Archive, StructuralLiesAreRejected) {
  auto expect_bad = [](Bytes p, std::string_view what) {
    auto r = parse_archive(p, "t.pxa");
    ASSERT_FALSE(r) << what;
    EXPECT_NE(r.error().detail.find(what), std::string::npos) << r.error().detail;
  };
  Bytes good = raw_payload({{2, "main", bytes_of("abc")}});
  Bytes b = good;
  b[0] = 'Q';
  expect_bad(b, "no 'PXAR' magic");
  b = good;
  b[4] = 9;
  expect_bad(b, "version 9 not supported");
  b = good;
  b[6] = 1;
  expect_bad(b, "unknown flags");
  b = good;
  b.push_back(0);
  expect_bad(b, "trailing bytes");
  expect_bad(raw_payload({{2, "main", bytes_of("abc"), 1}}), "entries must be contiguous");
  expect_bad(raw_payload({{7, "main", bytes_of("abc")}}), "unknown entry type 7");
  expect_bad(raw_payload({{3, "data/../../etc/passwd", bytes_of("x")}}), "'..' path component");
  expect_bad(raw_payload({{3, "/etc/passwd", bytes_of("x")}}), "must start with 'data/'");
  expect_bad(raw_payload({{2, "no-dash", bytes_of("x")}}), "module name must be an identifier");
  expect_bad(raw_payload({{1, "main", bytes_of("x")}}), "must be named 'manifest.json'");
  b = good;
  put_u32le(b.data() + 8, 5000);  // entry count beyond the limit
  expect_bad(b, "5000 entries declared");
  b = good;
  put_u32le(b.data() + 8, 2);  // more entries than the index holds
  expect_bad(b, "index truncated at entry 1");
}

TEST(Archive, PngLayerErrors) {
  Archive a = sample();
  auto png = encode_pxa(a);
  ASSERT_TRUE(png);
  // Truncated file.
  Bytes t(png->begin(), png->begin() + png->size() / 2);
  EXPECT_FALSE(decode_pxa(t, "t.pxa"));
  // A pixel byte flipped: the .pxi payload hash catches it before the archive reader runs.
  auto raw = encode_archive(a);
  Bytes flipped = *raw;
  flipped[flipped.size() - 1] ^= 0x40;
  auto png2 = image::encode_pxi(flipped, image::Kind::Archive);  // a PNG whose own hash is right
  ASSERT_TRUE(png2);
  auto r = decode_pxa(*png2, "t.pxa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::HashMismatch);  // the entry hash, one layer down
  // Not an archive.
  auto raw_img = image::encode_pxi(*raw, image::Kind::Raw);
  auto r2 = decode_pxa(*raw_img, "t.pxa");
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().detail.find("not an archive"), std::string::npos);
  // Garbage.
  EXPECT_FALSE(decode_pxa(bytes_of("hello"), "t.pxa"));
}

TEST(Archive, PacksTheDemoDirectory) {
  auto a = pack_directory(kDemoDir);
  ASSERT_TRUE(a) << a.error().detail;
  ASSERT_EQ(a->entries.size(), 4u);
  EXPECT_EQ(a->entries[0].name, "manifest.json");
  EXPECT_EQ(a->entries[1].name, "main");
  EXPECT_EQ(a->entries[2].name, "sieve");
  EXPECT_EQ(a->entries[3].name, "util");
  auto m = isa::parse_module(a->entries[3].data, "util");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, "util.pxasm");  // debug maps travel with the module
  EXPECT_FALSE(m->lines.empty());
  EXPECT_TRUE(m->find("countdown_from"));
}

// ---- issue 19: a name that is also a directory; extraction all or nothing ----

TEST(Archive, FileThatIsAlsoADirectoryIsRejectedOnRead) {
  Bytes p = raw_payload({{1, "manifest.json", bytes_of("{}")}, {3, "data/a", bytes_of("x")}, {3, "data/a/b", bytes_of("y")}});
  auto r = parse_archive(p, "t.pxa");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::ArchiveInvalid);
  EXPECT_NE(r.error().detail.find("'data/a' is a file and also the directory of entry 'data/a/b'"), std::string::npos)
      << r.error().detail;
  Archive a;
  a.entries.push_back({EntryType::Manifest, "manifest.json", bytes_of("{}"), {}, 0});
  a.entries.push_back({EntryType::Data, "data/a", bytes_of("x"), {}, 0});
  a.entries.push_back({EntryType::Data, "data/a/b", bytes_of("y"), {}, 0});
  EXPECT_FALSE(encode_archive(a));
}

TEST(Archive, ExtractionIsAllOrNothing) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("pxos_extract_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "data" / "z");  // a directory where the last entry's file must go
  Archive a;
  a.entries.push_back({EntryType::Manifest, "manifest.json", bytes_of("{}"), {}, 0});
  a.entries.push_back({EntryType::Data, "data/a", bytes_of("x"), {}, 0});
  a.entries.push_back({EntryType::Data, "data/z", bytes_of("y"), {}, 0});
  auto st = extract_archive(a, dir.string());
  EXPECT_FALSE(st);
  EXPECT_FALSE(fs::exists(dir / "manifest.json"));
  EXPECT_FALSE(fs::exists(dir / "data" / "a"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pxos::hv::test
