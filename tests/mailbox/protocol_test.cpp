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

TEST(MailboxProtocol, WgslPreludeCarriesEveryRowAndTheRuntimeNoCopy) {
  // The prelude: one `const <prefix><name>: u32 = 0x..u;` per row, in row order, with its value.
  std::string pre = wgsl_prelude();
  size_t pos = 0, n = 0;
  for (const Row& r : kRows) {
    std::string decl = "const " + std::string(kind_prefix(r.kind)) + std::string(r.name) + ": u32 = ";
    size_t at = pre.find(decl, pos);
    ASSERT_NE(at, std::string::npos) << decl;
    size_t semi = pre.find(';', at);
    std::string val = pre.substr(at + decl.size(), semi - at - decl.size());
    ASSERT_TRUE(!val.empty() && val.back() == 'u') << val;
    EXPECT_EQ(std::stoul(val, nullptr, 0), r.value) << decl;
    pos = semi;
    ++n;
  }
  EXPECT_EQ(n, std::size(kRows));
  // ... and the known-opcode and known-syscall switches list exactly the Op and Sys rows.
  auto cases_of = [&](const std::string& fn) {
    size_t f = pre.find("fn " + fn + "(");
    EXPECT_NE(f, std::string::npos) << fn;
    size_t c = pre.find("case ", f) + 5, colon = pre.find(':', c);
    return pre.substr(c, colon - c);
  };
  std::string ops, syss;
  for (const Row& r : kRows) {
    std::string id = std::string(kind_prefix(r.kind)) + std::string(r.name);
    if (r.kind == Kind::Op) ops += (ops.empty() ? "" : ", ") + id;
    if (r.kind == Kind::Sys) syss += (syss.empty() ? "" : ", ") + id;
  }
  EXPECT_EQ(cases_of("mb_known_opcode"), ops);
  EXPECT_EQ(cases_of("mb_known_syscall"), syss);
  // The runtime keeps no copy of a value: it includes the prelude and declares no MB_ constant,
  // and every MB_ name it uses is one the prelude declares.
  std::string src = slurp(fs::path(PXOS_SOURCE_DIR_STR) / "kernels" / "mailbox_runtime.wgsl");
  ASSERT_FALSE(src.empty());
  EXPECT_NE(src.find("#include \"lib/mailbox_protocol.wgsl\""), std::string::npos);
  EXPECT_EQ(src.find("const MB_"), std::string::npos);
  EXPECT_FALSE(fs::exists(fs::path(PXOS_SOURCE_DIR_STR) / "kernels" / "lib" / "mailbox_protocol.wgsl"))
      << "the prelude is generated into the build, never kept in the source tree";
  size_t used = 0;
  for (pos = src.find("MB_"); pos != std::string::npos; pos = src.find("MB_", pos)) {
    size_t e = src.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", pos);
    std::string id = src.substr(pos, e - pos);
    pos = e;
    if (id.back() == '_') continue;  // prose ("the MB_ constants"), not a name
    EXPECT_NE(pre.find("const " + id + ": u32"), std::string::npos) << id << " is not in the prelude";
    ++used;
  }
  EXPECT_GE(used, 10u);
}

TEST(MailboxProtocol, OpAndSyscallPropertiesFollowTheRows) {
  int ops = 0, slow = 0;
  for (int o = 0; o < 256; ++o) {
    const Row* row = nullptr;
    for (const Row& r : kRows)
      if (r.kind == Kind::Op && r.value == uint32_t(o)) row = &r;
    EXPECT_EQ(op_known(uint8_t(o)), row != nullptr) << o;
    EXPECT_EQ(op_is_slow(uint8_t(o)), row && row->slow) << o;
    ops += row != nullptr;
    slow += row && row->slow;
  }
  EXPECT_GE(ops, 10);  // the seed's ten, and any added since
  EXPECT_GE(slow, 3);
  // The seed's BUSY rule: I/O and GPU work report BUSY first, the register-only ones do not.
  EXPECT_TRUE(op_is_slow(op::UART_WRITE) && op_is_slow(op::UART_READ) && op_is_slow(op::GPU_EXECUTE));
  EXPECT_FALSE(op_is_slow(op::NOP) || op_is_slow(op::SYSCALL) || op_is_slow(op::ALLOC));
  EXPECT_TRUE(sys_known(sys::VERSION) && sys_known(sys::STATS));
  EXPECT_FALSE(sys_known(sys::STATS + 1) || sys_known(0xFFFF) || sys_known(0x10000));
}
