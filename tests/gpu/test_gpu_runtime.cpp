// test_gpu_runtime.cpp: the runtime layer: the build-specific enum constants checked by behaviour,
// WGSL errors with line:col, Dawn errors as pxos errors, the pipeline cache, run_kernel.
#include <cstring>

#include "gpu/ops.hpp"
#include "gpu/tunables.hpp"
#include "gpu_test_util.hpp"

namespace pxos::gpu {
namespace {

Bytes f32s(std::vector<float> v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
std::vector<uint32_t> u32s(const Bytes& b) {
  std::vector<uint32_t> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

TEST(GpuRuntime, AdapterInfoIsPlausible) {
  PXOS_REQUIRE_GPU();
  const auto& i = rt->info();
  EXPECT_EQ(i.backend, "Vulkan");
  EXPECT_FALSE(i.device.empty());
  // Limits struct layout: WebGPU's guaranteed minimums hold only if we read the right fields.
  EXPECT_GE(i.limits.maxComputeInvocationsPerWorkgroup, 256u);
  EXPECT_GE(i.limits.maxComputeWorkgroupSizeX, 256u);
  EXPECT_GE(i.limits.maxComputeWorkgroupStorageSize, 16384u);
  EXPECT_GE(i.limits.maxStorageBufferBindingSize, 128ull << 20);
  EXPECT_GE(i.limits.maxComputeWorkgroupsPerDimension, 65535u);
  EXPECT_GE(i.limits.maxBindGroups, 4u);
  if (i.subgroups) {  // AdapterInfo's subgroup sizes: powers of two in [4, 128]
    EXPECT_GE(i.subgroup_min, 4u);
    EXPECT_LE(i.subgroup_max, 128u);
    EXPECT_EQ(i.subgroup_min & (i.subgroup_min - 1), 0u);
  }
}

// FeatureSubgroups = 0x11 in this build: the device got it, so `enable subgroups` compiles and
// subgroup_size is what AdapterInfo says.
TEST(GpuRuntime, SubgroupsConstantWorksByBehaviour) {
  PXOS_REQUIRE_GPU();
  if (!rt->info().subgroups) GTEST_SKIP() << "adapter has no Subgroups feature";
  const char* src = R"(enable subgroups;
@group(0) @binding(0) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(subgroup_size) s: u32, @builtin(local_invocation_index) i: u32) {
  let total = subgroupAdd(1u);
  if (i == 0u) { o[0] = s; o[1] = total; }
})";
  auto out = run_source(src, "subgroups.wgsl", "main", {Bytes(8, 0)}, {1, 1, 1});
  ASSERT_TRUE(out) << out.error().detail;
  auto v = u32s((*out)[0]);
  EXPECT_GE(v[0], rt->info().subgroup_min);
  EXPECT_LE(v[0], rt->info().subgroup_max);
  EXPECT_EQ(v[1], v[0]);
}

// FeatureShaderF16 = 0xA in this build: where granted, `enable f16` compiles and computes.
TEST(GpuRuntime, ShaderF16ConstantWorksByBehaviour) {
  PXOS_REQUIRE_GPU();
  const char* src = R"(enable f16;
@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(1) fn main() { let h: f16 = 1.5h; o[0] = f32(h * 2.0h); })";
  auto msgs = rt->compile(src);
  ASSERT_TRUE(msgs) << msgs.error().detail;
  bool errors = false;
  for (auto& m : *msgs) errors |= m.severity == "error";
  EXPECT_EQ(errors, !rt->info().f16) << "f16 compiles iff the ShaderF16 feature was granted";
  if (rt->info().f16) {
    auto out = run_source(src, "f16.wgsl", "main", {Bytes(4, 0)}, {1, 1, 1});
    ASSERT_TRUE(out) << out.error().detail;
    float f;
    std::memcpy(&f, (*out)[0].data(), 4);
    EXPECT_EQ(f, 3.0f);
  } else {
    EXPECT_NE(rt->info().f16_note.find("ShaderF16"), std::string::npos);
  }
}

// TimestampQuery = 0x3 and the DawnTogglesDescriptor sType (0x0005000A, chained on the device
// descriptor to disable timestamp quantization): with a wrong sType the device request fails;
// with the toggle ignored, timestamps would be multiples of the quantum.
TEST(GpuRuntime, TimestampsMeasureKernels) {
  PXOS_REQUIRE_GPU();
  if (!rt->info().timestamps) GTEST_SKIP() << "adapter has no TimestampQuery";
  std::vector<float> A(64 * 64, 1.0f);
  auto L = prepare_matmul(A, A, 64, 64, 64, MatmulKernel::v1);
  ASSERT_TRUE(L) << L.error().detail;
  auto t = L->run(4, true);
  ASSERT_TRUE(t) << t.error().detail;
  EXPECT_TRUE(t->gpu_timestamps);
  ASSERT_EQ(t->ms.size(), 4u);
  for (double ms : t->ms) EXPECT_GT(ms, 0.0);
}

TEST(GpuRuntime, WgslErrorsCarryLineAndColumn) {
  PXOS_REQUIRE_GPU();
  const char* bad = "@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}\n";
  auto msgs = rt->compile(bad);
  ASSERT_TRUE(msgs) << msgs.error().detail;
  ASSERT_FALSE(msgs->empty());
  EXPECT_EQ((*msgs)[0].severity, "error");
  EXPECT_EQ((*msgs)[0].line, 3u);
  EXPECT_GT((*msgs)[0].col, 0u);
  auto p = rt->pipeline(bad, "main", {}, "bad.wgsl");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::GpuError);
  EXPECT_EQ(p.error().detail.rfind("bad.wgsl:3:", 0), 0u) << p.error().detail;
}

TEST(GpuRuntime, DawnValidationErrorsBecomeErrors) {
  PXOS_REQUIRE_GPU();
  // Missing entry point: Dawn's own message comes back.
  const char* ok = "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n"
                   "@compute @workgroup_size(1) fn main() { o[0] = 7u; }\n";
  auto p = rt->pipeline(ok, "nope", {}, "ok.wgsl");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().detail.find("nope"), std::string::npos) << p.error().detail;
  // Wrong number of bindings: a bind group validation error from Dawn.
  auto r = run_source(ok, "ok.wgsl", "main", {Bytes(4, 0), Bytes(4, 0)}, {1, 1, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::GpuError);
  EXPECT_NE(r.error().detail.find("Dawn"), std::string::npos) << r.error().detail;
  // The device is still usable afterwards.
  auto good = run_source(ok, "ok.wgsl", "main", {Bytes(4, 0)}, {1, 1, 1});
  ASSERT_TRUE(good) << good.error().detail;
  EXPECT_EQ(u32s((*good)[0])[0], 7u);
}

TEST(GpuRuntime, PipelineCacheKeyedBySourceEntryAndConstants) {
  PXOS_REQUIRE_GPU();
  const char* src = "override V: u32 = 1u;\n@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n"
                    "@compute @workgroup_size(1) fn main() { o[0] = V; }\n";
  size_t before = rt->pipeline_cache_size();
  std::vector<Constant> c5{{"V", 5}}, c9{{"V", 9}};
  auto a = rt->pipeline(src, "main", c5);
  auto b = rt->pipeline(src, "main", c5);
  auto c = rt->pipeline(src, "main", c9);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(rt->pipeline_cache_size(), before + 2);
  auto buf = rt->create_buffer(4);
  ASSERT_TRUE(buf);
  const Buffer* bp = &*buf;
  ASSERT_TRUE(rt->dispatch(**c, std::span(&bp, 1), {1, 1, 1}));
  auto out = rt->download(*buf);
  ASSERT_TRUE(out);
  EXPECT_EQ(u32s(*out)[0], 9u);
}

TEST(GpuRuntime, RunKernelOnEmbeddedKernel) {
  PXOS_REQUIRE_GPU();
  EXPECT_TRUE(embedded_kernel("matmul_v2").has_value());
  EXPECT_FALSE(embedded_kernel("no_such_kernel").has_value());
  // activations.wgsl relu: X, Y, {rows, cols, eps, alpha}
  Bytes dims(16, 0);
  uint32_t rc[2] = {1, 5};
  std::memcpy(dims.data(), rc, 8);
  auto out = run_kernel("activations", "relu", {f32s({-1, 2, -3, 4, 0.5f}), Bytes(20, 0xFF), dims}, {1, 1, 1});
  ASSERT_TRUE(out) << out.error().detail;
  ASSERT_EQ(out->size(), 3u);
  std::vector<float> y(5);
  std::memcpy(y.data(), (*out)[1].data(), 20);
  EXPECT_EQ(y, (std::vector<float>{0, 2, 0, 4, 0.5f}));
  auto missing = run_kernel("no_such_kernel", "main", {Bytes(4)}, {1, 1, 1});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
}

TEST(GpuRuntime, EveryEmbeddedKernelCompiles) {
  PXOS_REQUIRE_GPU();
  for (const auto& name : embedded_kernel_names()) {
    ASSERT_TRUE(embedded_kernel(name).has_value()) << name;
    auto src = *embedded_kernel(name);
    bool needs_f16 = src.find("enable f16") != std::string_view::npos;
    bool needs_sg = src.find("enable subgroups") != std::string_view::npos;
    if ((needs_f16 && !rt->info().f16) || (needs_sg && !rt->info().subgroups)) continue;
    auto msgs = rt->compile(src);
    ASSERT_TRUE(msgs) << name;
    for (auto& m : *msgs) EXPECT_NE(m.severity, "error") << name << ":" << m.line << ":" << m.col << ": " << m.message;
  }
}

// Every entry point of every embedded kernel becomes a pipeline with exactly the constants
// kernel_constants() gives it (an override left unset, or a constant the kernel does not
// declare, is a pipeline error).
TEST(GpuRuntime, EveryEmbeddedKernelBuildsWithItsTunables) {
  PXOS_REQUIRE_GPU();
  for (const auto& name : embedded_kernel_names()) {
    auto src = *embedded_kernel(name);
    if ((src.find("enable f16") != std::string_view::npos && !rt->info().f16) ||
        (src.find("enable subgroups") != std::string_view::npos && !rt->info().subgroups))
      continue;
    auto consts = kernel_constants(name, rt->info());
    size_t entries = 0;
    for (size_t p = src.find("@compute"); p != std::string_view::npos; p = src.find("@compute", p + 1)) {
      size_t f = src.find("fn ", p) + 3;
      std::string entry(src.substr(f, src.find('(', f) - f));
      ++entries;
      auto pl = rt->pipeline(src, entry, consts, name);
      EXPECT_TRUE(pl) << name << ":" << entry << ": " << (pl ? "" : pl.error().detail);
    }
    EXPECT_GE(entries, 1u) << name;
  }
}

}  // namespace
}  // namespace pxos::gpu
