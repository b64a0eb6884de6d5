// gguf_test.cpp: the GGUF reader on generated files: every metadata type, v2/v3, alignment,
// and every kind of damage (magic, version, truncation at each byte, hostile counts, tensor past
// the end, unknown type) is a ModelInvalid error naming an offset.
#include <gtest/gtest.h>

#include "gguf_writer.hpp"
#include "llm/gguf.hpp"

using namespace pxos;
using namespace pxos::llm;

TEST(Gguf, ReadsTinyLlamaV3AndV2) {
  for (uint32_t ver : {2u, 3u}) {
    Bytes f = testgguf::tiny_llama(1, ver);
    auto g = parse_gguf(f, "tiny.gguf");
    ASSERT_TRUE(g) << g.error().to_string();
    EXPECT_EQ(g->version, ver);
    EXPECT_EQ(*g->get_string("general.architecture"), "llama");
    EXPECT_EQ(*g->get_uint("llama.embedding_length"), 64u);
    EXPECT_FLOAT_EQ(float(*g->get_float("llama.rope.freq_base")), 10000.0f);
    auto* t = g->tensor("blk.1.ffn_down.weight");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->type, 3u);
    EXPECT_EQ(t->dims, (std::vector<uint64_t>{128, 64}));
    EXPECT_EQ(t->n_bytes, 128u * 64 / 32 * 20);
    EXPECT_EQ(size_t(t->data.data() - f.data()) % 32, 0u);
    auto* toks = g->find("tokenizer.ggml.tokens");
    ASSERT_TRUE(toks);
    EXPECT_EQ(toks->elem, KvType::String);
  }
}

TEST(Gguf, EveryMetadataType) {
  testgguf::GgufWriter w;
  w.kv_u32("a.u32", 7);
  w.kv_f32("a.f32", 1.5f);
  w.kv_str("a.str", "héllo");
  w.kv_i32s("a.arr", {-1, 2, -3});
  Bytes f = w.finish();
  // Append raw u8/i8/u16/i16/bool/u64/i64/f64 entries by hand: patch the count.
  auto add = [&](const std::string& k, uint32_t type, std::vector<uint8_t> v) {
    for (int i = 0; i < 8; ++i) f.push_back(uint8_t(uint64_t(k.size()) >> (8 * i)));
    f.insert(f.end(), k.begin(), k.end());
    for (int i = 0; i < 4; ++i) f.push_back(uint8_t(type >> (8 * i)));
    f.insert(f.end(), v.begin(), v.end());
    f[16]++;
  };
  testgguf::GgufWriter w2;
  Bytes g2 = w2.finish();
  f = Bytes(g2.begin(), g2.begin() + 24);  // header only, zero kvs
  add("b.u8", 0, {200});
  add("b.i8", 1, {0xff});
  add("b.u16", 2, {0x34, 0x12});
  add("b.i16", 3, {0xfe, 0xff});
  add("b.bool", 7, {1});
  add("b.u64", 10, {1, 0, 0, 0, 0, 0, 0, 0x80});
  add("b.i64", 11, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  add("b.f64", 12, {0, 0, 0, 0, 0, 0, 0xf8, 0x3f});
  auto g = parse_gguf(f, "t");
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(std::get<uint64_t>(g->find("b.u8")->v), 200u);
  EXPECT_EQ(std::get<int64_t>(g->find("b.i8")->v), -1);
  EXPECT_EQ(std::get<uint64_t>(g->find("b.u16")->v), 0x1234u);
  EXPECT_EQ(std::get<int64_t>(g->find("b.i16")->v), -2);
  EXPECT_EQ(kv_to_string(*g->find("b.bool")), "true");
  EXPECT_EQ(std::get<uint64_t>(g->find("b.u64")->v), 0x8000000000000001ull);
  EXPECT_EQ(std::get<int64_t>(g->find("b.i64")->v), -2);
  EXPECT_DOUBLE_EQ(std::get<double>(g->find("b.f64")->v), 1.5);
  auto a = parse_gguf(w.finish(), "t");
  ASSERT_TRUE(a);
  EXPECT_EQ(kv_to_string(*a->find("a.arr")), "[3 x i32] -1 2 -3");
  EXPECT_EQ(*a->get_string("a.str"), "héllo");
  EXPECT_FALSE(a->get_uint("a.str"));
  EXPECT_FALSE(a->get_uint("missing"));
}

static void expect_bad(const Bytes& f, const char* needle) {
  auto g = parse_gguf(f, "bad.gguf");
  ASSERT_FALSE(g) << needle;
  EXPECT_EQ(g.error().code, Errc::ModelInvalid);
  EXPECT_NE(g.error().detail.find("offset"), std::string::npos) << g.error().detail;
  EXPECT_NE(g.error().detail.find(needle), std::string::npos) << g.error().detail;
}

TEST(Gguf, DamagedFiles) {
  Bytes f = testgguf::tiny_llama();
  Bytes m = f; m[0] = 'X';
  expect_bad(m, "wrong magic");
  Bytes v = f; v[4] = 9;
  expect_bad(v, "version 9");
  Bytes c = f; c[15] = 0x7f;  // tensor count
  expect_bad(c, "tensors is over the limit");
  // Truncated at every byte up to the data section, and the data itself.
  auto g = parse_gguf(f, "x");
  ASSERT_TRUE(g);
  for (size_t n = 0; n < f.size(); n += (n < g->data_offset ? 1 : 997)) {
    auto r = parse_gguf(ByteView(f.data(), n), "trunc.gguf");
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error().code, Errc::ModelInvalid);
    EXPECT_NE(r.error().detail.find("offset"), std::string::npos) << r.error().detail;
  }
  Bytes last(f.begin(), f.end() - 1);
  expect_bad(last, "runs past the end of the file");
}

TEST(Gguf, UnknownTensorTypeAndBadAlignment) {
  testgguf::GgufWriter w;
  w.tensor("x", {32}, 99, Bytes(32));
  expect_bad(w.finish(), "unknown type 99");
  testgguf::GgufWriter a;
  a.kv_u32("general.alignment", 3);
  expect_bad(a.finish(), "power of two");
  testgguf::GgufWriter r;
  r.tensor("x", {33}, 3, Bytes(40));
  expect_bad(r.finish(), "whole number");
  EXPECT_STREQ(type_info(14)->name, "Q6_K");
  EXPECT_FALSE(type_info(14)->supported);
}

TEST(Gguf, MappedFileRefusesNonRegular) {
  auto d = MappedFile::open("/tmp");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().detail.find("not a regular file"), std::string::npos);
  EXPECT_FALSE(MappedFile::open("/nonexistent/x.gguf"));
}
