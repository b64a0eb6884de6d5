// test_kernel_source.cpp: the kernels' shared code and tunables without a GPU: #include
// expansion (file:line map, include-once, cycles, bad paths), and that every embedded kernel
// takes its tile sizes from tunables.hpp (an `override` without a default for each constant).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "gpu/kernel_source.hpp"
#include "gpu/runtime.hpp"
#include "gpu/tunables.hpp"

namespace pxos::gpu {
namespace {

IncludeReader files(std::map<std::string, std::string> m) {
  return [m = std::move(m)](const std::string& path) -> Result<std::optional<IncludedFile>> {
    auto it = m.find(path);
    if (it == m.end()) return std::optional<IncludedFile>();
    return std::optional<IncludedFile>(IncludedFile{it->second, "k/" + path});
  };
}

TEST(KernelSource, ExpandsIncludesAndMapsLinesBack) {
  auto r = files({{"lib/a.wgsl", "a1\na2\n#include \"b.wgsl\"\na4\n"}, {"lib/b.wgsl", "b1\n"}});
  auto k = expand_includes("t1\n#include \"lib/a.wgsl\"\nt3\n  #include \"lib/b.wgsl\"  \nt5", "top.wgsl", "k/top.wgsl", r);
  ASSERT_TRUE(k) << k.error().detail;
  // Directive lines become empty; lib/b.wgsl (relative to lib/a.wgsl) appears once only.
  EXPECT_EQ(k->text, "t1\n\na1\na2\n\nb1\na4\nt3\n\nt5\n");
  EXPECT_EQ(k->where(1), "k/top.wgsl:1");
  EXPECT_EQ(k->where(3), "k/lib/a.wgsl:1");
  EXPECT_EQ(k->where(6), "k/lib/b.wgsl:1");
  EXPECT_EQ(k->where(7), "k/lib/a.wgsl:4");
  EXPECT_EQ(k->where(8), "k/top.wgsl:3");
  EXPECT_EQ(k->where(10), "k/top.wgsl:5");
}

TEST(KernelSource, RefusesMissingCyclicAndEscapingIncludes) {
  auto missing = expand_includes("x\n#include \"lib/none.wgsl\"\n", "t.wgsl", "t.wgsl", files({}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
  EXPECT_NE(missing.error().detail.find("t.wgsl:2"), std::string::npos) << missing.error().detail;

  auto cyc = expand_includes("#include \"a.wgsl\"\n", "t.wgsl", "t.wgsl",
                             files({{"a.wgsl", "#include \"b.wgsl\"\n"}, {"b.wgsl", "#include \"a.wgsl\"\n"}}));
  ASSERT_FALSE(cyc);
  EXPECT_EQ(cyc.error().code, Errc::GpuError);

  for (const char* bad : {"#include \"../x.wgsl\"", "#include \"/etc/passwd\"", "#include x.wgsl", "#include \"\""}) {
    auto k = expand_includes(bad, "t.wgsl", "t.wgsl", files({}));
    ASSERT_FALSE(k) << bad;
    EXPECT_EQ(k.error().code, Errc::GpuError) << bad;
  }
}

// Each constant kernel_constants() hands a kernel is an `override` there, without a default: the
// value can only come from tunables.hpp. And no kernel is left with an unset override.
TEST(KernelSource, EveryKernelTakesItsTunablesFromTheHost) {
  AdapterSummary adapter;
  adapter.limits.maxComputeWorkgroupStorageSize = 16384;
  auto names = embedded_kernel_names();
  ASSERT_FALSE(names.empty());
  size_t with_constants = 0;
  for (const auto& name : names) {
    auto src = embedded_kernel(name);
    ASSERT_TRUE(src) << name;
    EXPECT_TRUE(src->find("\n#include") == std::string_view::npos && !src->starts_with("#include"))
        << name << ": an #include was not expanded";
    std::map<std::string, bool> overrides;  // name -> has a default
    std::string_view s = *src;
    for (size_t p = s.find("override "); p != std::string_view::npos; p = s.find("override ", p + 1)) {
      size_t b = p + 9, e = b;
      while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
      size_t end = s.find_first_of(";\n", e);  // "override NAME[: type][ = expr];"
      overrides[std::string(s.substr(b, e - b))] = s.substr(e, end - e).find('=') != std::string_view::npos;
    }
    auto consts = kernel_constants(name, adapter);
    with_constants += !consts.empty();
    for (const auto& c : consts) {
      ASSERT_EQ(overrides.count(c.name), 1u) << name << " lacks `override " << c.name << "`";
      EXPECT_FALSE(overrides[c.name]) << name << ": override " << c.name << " has a default in WGSL";
    }
    for (const auto& [o, has_default] : overrides) {
      bool set = std::any_of(consts.begin(), consts.end(), [&](const Constant& c) { return c.name == o; });
      EXPECT_TRUE(set || has_default) << name << ": override " << o << " is never set by the host";
    }
  }
  EXPECT_GE(with_constants, 10u);
}

TEST(KernelSource, MatmulVariantsShareTheirTiling) {
  for (const char* k : {"matmul_v2.wgsl", "matmul_v2_vec4.wgsl", "matmul_f16.wgsl"}) {
    auto raw = embedded_file(k);
    ASSERT_TRUE(raw) << k;
    EXPECT_NE(raw->find("#include \"lib/matmul_tiled.wgsl\""), std::string_view::npos) << k;
    EXPECT_EQ(raw->find("workgroupBarrier"), std::string_view::npos) << k << " has its own copy of the tiling";
  }
}

}  // namespace
}  // namespace pxos::gpu
