// asm_test.cpp: assembler diagnostics (file:line:col, all in one pass) and disassembler
// round trips on every example and on random valid programs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "asm/assembler.hpp"
#include "asm/disassembler.hpp"
#include "isa/decode.hpp"
#include "isa/isa.hpp"
#include "vm/program.hpp"

using namespace pxos;

namespace {
std::string errors_of(const std::string& src) {
  auto m = assembler::assemble(src, "e.pxasm");
  EXPECT_FALSE(m.has_value());
  return m ? "" : m.error().detail;
}
void roundtrip(const isa::Module& m, const std::string& what) {
  auto text = assembler::disassemble(m);
  ASSERT_TRUE(text) << what << ": " << text.error().detail;
  auto again = assembler::assemble(*text, "disasm.pxasm");
  ASSERT_TRUE(again) << what << ": " << again.error().detail << "\n" << *text;
  EXPECT_EQ(again->code, m.code) << what << "\n" << *text;
  EXPECT_EQ(again->relocs.size(), m.relocs.size());
}
}  // namespace

TEST(Asm, SeedSyntaxAssembles) {
  auto m = assembler::assemble("; comment\nstart: PUSH 0x2A ; hex\n  push 8\nADD\nPRINT\nJMP end\nend:\nHALT\n", "s.pxasm");
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->code[0], 0x01);
  EXPECT_EQ(m->code[1], 42);
  EXPECT_EQ(m->find("end"), std::optional<uint32_t>(17));
  EXPECT_EQ(m->line_at(5), std::optional<uint32_t>(3));
}

TEST(Asm, StringsAndEscapes) {
  auto m = assembler::assemble("PRINT_STR \"a\\tb\\n\\\"q\\\" \\\\ \\x41\"\nPUSH '\\n'\nHALT", "s.pxasm");
  ASSERT_TRUE(m) << m.error().detail;
  auto in = isa::decode(m->code, 0);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->text, "a\tb\n\"q\" \\ A");
  auto push = isa::decode(m->code, in->next);
  EXPECT_EQ(push->operand, 10);
}

TEST(Asm, DiagnosticsNameFileLineColumnAndAllComeAtOnce) {
  std::string e = errors_of("PUSH 1\n  FOO 3\nJMP nowhere\nx:\nx:\nLOAD 70000\nPRINT_STR \"bad \\q\"\nPUSH\nLOCALS 256\nADD 1\nPRINT_STR \"open\n");
  EXPECT_NE(e.find("e.pxasm:2:3: error: unknown mnemonic 'FOO'"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:3:5: error: undefined label 'nowhere'"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:5:1: error: duplicate label 'x' (first defined on line 4)"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:6:6: error: operand 70000 out of range for LOAD"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:7:16: error: bad escape '\\q'"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:8:5: error: PUSH expects an integer operand"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:9:8: error: operand 256 out of range for LOCALS"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:10:5: error: ADD takes no operand"), std::string::npos) << e;
  EXPECT_NE(e.find("e.pxasm:11:11: error: unterminated string"), std::string::npos) << e;
}

TEST(Asm, RangesOfOperandFormats) {
  EXPECT_TRUE(assembler::assemble("PUSH -2147483648\nPUSH 4294967295\nHALT", "r"));
  EXPECT_FALSE(assembler::assemble("PUSH 4294967296\nHALT", "r"));
  EXPECT_FALSE(assembler::assemble("PUSH -2147483649\nHALT", "r"));
  EXPECT_FALSE(assembler::assemble("HOST_CALL -1\nHALT", "r"));
  EXPECT_FALSE(assembler::assemble("PUSH 12abc\nHALT", "r"));
  EXPECT_FALSE(assembler::assemble("JMP a:b\nHALT", "r"));  // cross-module only for CALL
}

TEST(Asm, BinaryGarbageIsRejectedNotCrashed) {
  std::string junk("\x7f" "ELF\x02\x01\x01\0\0\0garbage\xff\xfe", 20);
  std::string e = errors_of(junk);
  EXPECT_NE(e.find("e.pxasm:1:"), std::string::npos) << e;
}

TEST(Asm, CrossModuleCallMakesRelocation) {
  auto m = assembler::assemble("CALL util:countdown\nHALT", "m.pxasm");
  ASSERT_TRUE(m) << m.error().detail;
  ASSERT_EQ(m->relocs.size(), 1u);
  EXPECT_EQ(m->relocs[0].at, 1u);
  EXPECT_EQ(m->relocs[0].target, "util:countdown");
  roundtrip(*m, "reloc");
}

TEST(Asm, ModuleSerialisationRoundTrips) {
  auto m = assembler::assemble("a: PUSH 1\nCALL u:f\nb: JMP a\n", "m.pxasm");
  ASSERT_TRUE(m);
  auto back = isa::parse_module(isa::serialize(*m).value(), "m");
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(*back, *m);
  auto bytes = isa::serialize(*m).value();
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(isa::parse_module(ByteView(bytes.data(), cut), "m")) << cut;
}

TEST(Disasm, ExamplesRoundTripToIdenticalBytes) {
  std::string dir = std::string(std::getenv("PXOS_SOURCE_DIR") ? std::getenv("PXOS_SOURCE_DIR") : ".") + "/examples";
  int n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".pxasm") continue;
    std::ifstream f(e.path());
    std::stringstream ss;
    ss << f.rdbuf();
    auto m = assembler::assemble(ss.str(), e.path().string());
    ASSERT_TRUE(m) << m.error().detail;
    roundtrip(*m, e.path().string());
    ++n;
  }
  EXPECT_GE(n, 7);
}

TEST(Disasm, RandomValidProgramsRoundTrip) {
  uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::vector<uint8_t> ops;
  for (const auto& oi : isa::table())
    if (oi.valid()) ops.push_back(oi.byte);
  for (int prog = 0; prog < 200; ++prog) {
    // Build random instructions, then point every jump at a random instruction start.
    std::vector<uint32_t> starts;
    isa::Module m;
    ByteWriter w(m.code);
    int n = 1 + int(rng() % 40);
    std::vector<uint32_t> addr_at;
    for (int i = 0; i < n; ++i) {
      uint8_t op = ops[rng() % ops.size()];
      starts.push_back(uint32_t(m.code.size()));
      w.u8(op);
      switch (isa::info(op).fmt) {
        case isa::Fmt::NONE: break;
        case isa::Fmt::U8: w.u8(uint8_t(rng())); break;
        case isa::Fmt::U16: w.u16(uint16_t(rng())); break;
        case isa::Fmt::I32: w.u32(uint32_t(rng())); break;
        case isa::Fmt::ADDR: addr_at.push_back(uint32_t(m.code.size())); w.u32(0); break;
        case isa::Fmt::STR: {
          uint32_t len = uint32_t(rng() % 12);
          w.u32(len);
          for (uint32_t k = 0; k < len; ++k) w.u8(uint8_t(rng()));
          break;
        }
      }
    }
    for (uint32_t at : addr_at) put_u32le(m.code.data() + at, starts[rng() % starts.size()]);
    roundtrip(m, "random program " + std::to_string(prog));
  }
}

// Issue 19.4: a 100,000-character label used to be written with its length cut to u16, and
// every reader then refused the image. The assembler refuses it with a line number...
TEST(Asm, OverlongLabelIsRefusedWithItsLine) {
  std::string big(100000, 'x');
  auto m = assembler::assemble("PUSH 1\n" + big + ": HALT\n", "long.pxasm");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::AsmError);
  EXPECT_NE(m.error().detail.find("long.pxasm:2:"), std::string::npos) << m.error().detail;
  EXPECT_NE(m.error().detail.find("over the limit of 1024"), std::string::npos) << m.error().detail;
  auto r = assembler::assemble("JMP " + big + "\n", "ref.pxasm");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("ref.pxasm:1:"), std::string::npos) << r.error().detail;
  // The longest allowed name still round-trips.
  std::string ok(isa::kMaxNameBytes, 'y');
  auto fine = assembler::assemble(ok + ": HALT\n", "ok.pxasm");
  ASSERT_TRUE(fine) << fine.error().detail;
  auto bytes = isa::serialize(*fine);
  ASSERT_TRUE(bytes) << bytes.error().detail;
  ASSERT_TRUE(isa::parse_module(*bytes, "ok"));
}

// ...and the writer enforces every limit of the format itself, for modules not made by the
// assembler (packers, generators): nothing it writes is refused by the next reader.
TEST(Module, WriterEnforcesEveryFormatLimit) {
  auto base = assembler::assemble("a: PUSH 1\nHALT\n", "m.pxasm").value();
  auto refused = [](const isa::Module& m) { auto b = isa::serialize(m); return !b && b.error().code == Errc::ModuleInvalid; };
  isa::Module m = base;
  m.symbols[0].name = std::string(70000, 'n');  // would wrap the u16 length field
  EXPECT_TRUE(refused(m));
  m = base;
  m.symbols[0].name = std::string(isa::kMaxNameBytes + 1, 'n');
  EXPECT_TRUE(refused(m));
  m = base;
  m.relocs.push_back({0, std::string(isa::kMaxNameBytes + 1, 'r')});
  EXPECT_TRUE(refused(m));
  m = base;
  m.source = std::string(isa::kMaxSourceNameBytes + 1, 's');
  EXPECT_TRUE(refused(m));
  m = base;
  m.code.resize(isa::kMaxCodeBytes + 1);
  EXPECT_TRUE(refused(m));
  m = base;
  m.symbols[0].offset = uint32_t(m.code.size() + 1);  // points past the code
  EXPECT_TRUE(refused(m));
  m = base;
  m.relocs.push_back({uint32_t(m.code.size() - 2), "u:f"});  // operand runs past the code
  EXPECT_TRUE(refused(m));
  m = base;
  m.lines = {{4, 1}, {0, 2}};  // unsorted
  EXPECT_TRUE(refused(m));
  EXPECT_TRUE(isa::serialize(base));
}
