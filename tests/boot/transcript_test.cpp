// transcript_test.cpp: the kernel's "stat" lines as pxos boot reads them, and the exit table.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "boot/boot.hpp"

using pxos::boot::parse_stats;

TEST(BootTranscript, ReadsStatLines) {
  auto m = parse_stats("pxOS microkernel\nstat pci_scan_ns=196296\r\nnoise stat x=1\nstat mailbox_rtt_p50_ns=1234\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m["pci_scan_ns"], 196296u);
  EXPECT_EQ(m["mailbox_rtt_p50_ns"], 1234u);
}

TEST(BootTranscript, RejectsMalformedLines) {
  auto m = parse_stats("stat =1\nstat a=\nstat A=1\nstat a=1x\nstat b=-3\nstat c 4\n");
  EXPECT_TRUE(m.empty());
}

TEST(BootTranscript, LastValueWinsAndHugeValuesAreRefused) {
  auto m = parse_stats("stat a=1\nstat a=2\nstat big=123456789012345678901234\nstat max=18446744073709551615");
  EXPECT_EQ(m["a"], 2u);
  EXPECT_EQ(m.count("big"), 0u);
  EXPECT_EQ(m["max"], UINT64_MAX);
}

TEST(BootTranscript, SaturatesInsteadOfWrapping) {
  auto m = parse_stats("stat s=99999999999999999999\n");
  EXPECT_EQ(m["s"], UINT64_MAX);
}

// The EXIT_* symbols the kernel assembles against: "SYMBOL equ VALUE" lines of a NASM file.
std::map<std::string, unsigned long> exit_symbols(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::map<std::string, unsigned long> defs;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string sym, equ, val;
    if (is >> sym >> equ >> val && equ == "equ" && sym.starts_with("EXIT_")) defs[sym] = std::stoul(val, nullptr, 0);
  }
  return defs;
}

// Every row of exits.def is in the generated kernel_exits.inc, with its value, and nothing else.
TEST(BootExits, GeneratedIncludeMatchesTheTable) {
  const char* build = std::getenv("PXOS_BUILD_DIR");
  ASSERT_NE(build, nullptr);
  auto defs = exit_symbols(std::string(build) + "/gen/kernel_exits.inc");
  size_t rows = 0;
#define X(name, value, sym, errc, doc)                                 \
  ++rows;                                                          \
  ASSERT_EQ(defs.count(sym), 1u) << sym;                           \
  EXPECT_EQ(defs[sym], unsigned(value)) << sym;                    \
  EXPECT_FALSE(pxos::boot::kernel_exit_text(value).empty()) << sym;
#include "boot/exits.def"
#undef X
  EXPECT_EQ(defs.size(), rows) << "kernel_exits.inc has an EXIT_ code exits.def lacks";
  std::ifstream f(std::string(build) + "/gen/kernel_exits.inc");
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_EQ(text.str(), pxos::boot::exits_nasm_include()) << "kernel_exits.inc is stale";
  EXPECT_TRUE(pxos::boot::kernel_exit_text(0x7f).empty());
}

// No kernel source defines an exit code by hand: the generated include is the only one.
TEST(BootExits, KernelSourcesDefineNoExitCodes) {
  const char* src = std::getenv("PXOS_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(src) + "/kernel")) {
    auto ext = e.path().extension();
    if (ext != ".asm" && ext != ".inc") continue;
    ++files;
    EXPECT_TRUE(exit_symbols(e.path().string()).empty()) << e.path() << " defines EXIT_ codes; add a row to src/boot/exits.def";
  }
  EXPECT_GT(files, 0u);
}
