// dynlib_test.cpp: open_library/library_symbol on real system libraries, their errors, and the
// dlopen fault hook (how the commands behave when an optional library is not installed).
#include <gtest/gtest.h>

#include <zlib.h>

#include "common/dynlib.hpp"
#include "common/os.hpp"

namespace pxos::os {
namespace {

struct Z {
  decltype(&::zlibVersion) zlibVersion;
};

Result<Z> bind_z(const Library& lib) {
  Z z{};
  PXOS_DYNLIB_BIND(lib, z, zlibVersion);
  return z;
}

TEST(Dynlib, OpensAndBindsTypedSymbols) {
  auto lib = open_library({"libz.so.1"}, "compression (zlib)");
  ASSERT_TRUE(lib) << lib.error().detail;
  EXPECT_EQ((*lib)->name, "libz.so.1");
  auto z = bind_z(**lib);
  ASSERT_TRUE(z) << z.error().detail;
  EXPECT_STREQ(z->zlibVersion(), ZLIB_VERSION);  // the header's version is the library's
  // The same name opens once.
  auto again = open_library({"libz.so.1"}, "compression (zlib)");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *lib);
}

TEST(Dynlib, FallsBackToTheNextNameAndNamesEveryFailure) {
  auto lib = open_library({"libpxos-no-such-library.so.9", "libz.so.1"}, "compression (zlib)");
  ASSERT_TRUE(lib) << lib.error().detail;
  EXPECT_EQ((*lib)->name, "libz.so.1");
  auto none = open_library({"libpxos-none-a.so", "libpxos-none-b.so"}, "the widget renderer", Errc::GpuUnavailable);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::GpuUnavailable);
  const std::string& d = none.error().detail;
  EXPECT_EQ(d.rfind("the widget renderer cannot be loaded: libpxos-none-a.so (", 0), 0u) << d;
  EXPECT_NE(d.find("; libpxos-none-b.so ("), std::string::npos) << d;
  EXPECT_EQ(d.find('\n'), std::string::npos) << "one line: " << d;
}

TEST(Dynlib, MissingSymbolIsNamed) {
  auto lib = open_library({"libz.so.1"}, "compression (zlib)");
  ASSERT_TRUE(lib);
  auto s = library_symbol(**lib, "pxos_no_such_symbol");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::Unsupported);
  EXPECT_EQ(s.error().detail, "libz.so.1: missing symbol pxos_no_such_symbol");
}

TEST(Dynlib, FaultHookStandsInForAMissingLibrary) {
  set_fault(Op::Dlopen, 1);
  auto lib = open_library({"libm.so.6"}, "maths");  // not opened by this name before
  set_fault(Op::Dlopen, 0);
  ASSERT_FALSE(lib);
  EXPECT_EQ(lib.error().detail, "maths cannot be loaded: libm.so.6 (fault injected)");
  auto ok = open_library({"libm.so.6"}, "maths");  // the hook fired once
  EXPECT_TRUE(ok) << ok.error().detail;
}

}  // namespace
}  // namespace pxos::os
