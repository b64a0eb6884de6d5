// protocol_test.cpp: the generated NASM include and the C++ header agree. Assembles a file that
// emits every table value (and the MB_CMD macro) as dwords with `nasm -f bin`, then compares
// each dword with the C++ constant; also checks docs/mailbox.md carries the current tables.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "mailbox/protocol.hpp"

using namespace pxos::mailbox;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST(MailboxProtocol, NasmIncludeAgreesWithCxx) {
  fs::path dir = fs::temp_directory_path() / ("pxos_mb_nasm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string asm_text = "%include \"" PXOS_MAILBOX_INC "\"\n";
  size_t n = 0;
  for (const Row& r : kRows) {
    asm_text += "dd " + std::string(kind_prefix(r.kind)) + std::string(r.name) + "\n";
    ++n;
  }
  asm_text += "dd MB_CMD(MB_OP_UART_WRITE, 3, 0x41)\n";
  asm_text += "dd MB_CMD(MB_OP_HALT, 0x3F, 0xFFFF)\n";
  std::ofstream(dir / "check.asm") << asm_text;
  std::string cmd = "nasm -f bin -o '" + (dir / "check.bin").string() + "' '" + (dir / "check.asm").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::string bin = slurp(dir / "check.bin");
  ASSERT_EQ(bin.size(), (n + 2) * 4);
  auto word = [&](size_t i) {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= uint32_t(uint8_t(bin[i * 4 + b])) << (8 * b);
    return v;
  };
  size_t i = 0;
  for (const Row& r : kRows) {
    EXPECT_EQ(word(i), r.value) << kind_prefix(r.kind) << r.name;
    ++i;
  }
  EXPECT_EQ(word(i), make_cmd(op::UART_WRITE, 3, 0x41));
  EXPECT_EQ(word(i + 1), make_cmd(op::HALT, 0x3F, 0xFFFF));
  fs::remove_all(dir);
}

TEST(MailboxProtocol, NamesAreUniqueAndValuesDistinctPerKind) {
  std::set<std::string> names;
  std::set<std::pair<int, uint32_t>> values;
  for (const Row& r : kRows) {
    EXPECT_TRUE(names.insert(std::string(kind_prefix(r.kind)) + std::string(r.name)).second) << r.name;
    if (r.kind != Kind::Const && r.kind != Kind::Status) {
      EXPECT_TRUE(values.insert({int(r.kind), r.value}).second) << "duplicate value for " << r.name;
    }
  }
}

TEST(MailboxProtocol, SeedValuesKept) {
  // The seed's registers and encodings are the version-1 contract (DESIGN.md).
  EXPECT_EQ(reg::CMD, 0x0u); EXPECT_EQ(reg::STATUS, 0x4u);
  EXPECT_EQ(reg::RESP, 0x8u); EXPECT_EQ(reg::DOORBELL, 0xCu);
  EXPECT_EQ(st::READY, 1u); EXPECT_EQ(st::BUSY, 2u); EXPECT_EQ(st::COMPLETE, 4u);
  EXPECT_EQ(st::ERROR, 0x80000000u);
  EXPECT_EQ(op::UART_WRITE, 0x80); EXPECT_EQ(op::UART_READ, 0x81); EXPECT_EQ(op::GPU_EXECUTE, 0x82);
  EXPECT_EQ(op::MMIO_READ, 0x83); EXPECT_EQ(op::MMIO_WRITE, 0x84); EXPECT_EQ(op::SYSCALL, 0x85);
  EXPECT_EQ(op::ALLOC, 0x86); EXPECT_EQ(op::FREE, 0x87); EXPECT_EQ(op::HALT, 0x8F);
  uint32_t w = make_cmd(0x80, 0x12, 0xBEEF);
  EXPECT_EQ(w, 0x8012BEEFu);
  EXPECT_EQ(cmd_opcode(w), 0x80); EXPECT_EQ(cmd_thread(w), 0x12); EXPECT_EQ(cmd_payload(w), 0xBEEF);
}

TEST(MailboxProtocol, DocsCarryTheCurrentTables) {
  std::string doc = slurp(fs::path(PXOS_SOURCE_DIR_STR) / "docs" / "mailbox.md");
  ASSERT_FALSE(doc.empty());
  EXPECT_NE(doc.find(markdown_tables()), std::string::npos)
      << "docs/mailbox.md is stale: paste `pxos_mailbox_gen --markdown` between the markers";
}

TEST(MailboxProtocol, WgslHandlerConstantsMatchTheTable) {
  // kernels/mailbox_runtime.wgsl carries its own copy of the constants it uses (WGSL has no
  // include); every `const MB_...: u32 = ...u;` must equal the table's value.
  std::string src = slurp(fs::path(PXOS_SOURCE_DIR_STR) / "kernels" / "mailbox_runtime.wgsl");
  ASSERT_FALSE(src.empty());
  size_t checked = 0, pos = 0;
  while ((pos = src.find("const MB_", pos)) != std::string::npos) {
    size_t colon = src.find(':', pos), eq = src.find('=', pos), semi = src.find(';', pos);
    ASSERT_TRUE(colon != std::string::npos && eq != std::string::npos && semi != std::string::npos);
    std::string name = src.substr(pos + 6, colon - pos - 6);
    std::string val = src.substr(eq + 1, semi - eq - 1);
    uint32_t v = uint32_t(std::stoul(val, nullptr, 0));
    bool found = false;
    for (const Row& r : kRows) {
      if (std::string(kind_prefix(r.kind)) + std::string(r.name) == name) {
        EXPECT_EQ(v, r.value) << name;
        found = true;
      }
    }
    EXPECT_TRUE(found) << name << " is not in protocol.def";
    ++checked;
    pos = semi;
  }
  EXPECT_GE(checked, 15u);
}
