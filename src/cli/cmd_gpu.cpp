// cmd_gpu.cpp: `pxos gpu info|check|run|bench`: the WGSL runtime from the command line.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/command.hpp"
#include "common/fs.hpp"
#include "gpu/bench.hpp"
#include "gpu/half.hpp"
#include "gpu/kernel_source.hpp"
#include "gpu/runtime.hpp"
#include "gpu/tunables.hpp"

namespace {
using namespace pxos;
using namespace pxos::gpu;

constexpr uint64_t kMaxBufferFile = 1ull << 30;  // `gpu run` input files: 1 GiB each at most

void print_info(bool json) {
  auto rt = must(Runtime::get());
  const auto& i = rt->info();
  const auto& L = i.limits;
  std::string feats;
  for (auto f : i.features) feats += (feats.empty() ? "" : " ") + feature_name(f);
  if (json) {
    nlohmann::ordered_json j = {{"library", i.library}, {"device", i.device}, {"vendor", i.vendor},
                                {"architecture", i.architecture}, {"description", i.description},
                                {"backend", i.backend}, {"adapter_type", i.adapter_type}, {"vendor_id", i.vendor_id},
                                {"device_id", i.device_id}, {"subgroup_min", i.subgroup_min},
                                {"subgroup_max", i.subgroup_max}, {"f16", i.f16}, {"subgroups", i.subgroups},
                                {"timestamps", i.timestamps}, {"features", nlohmann::json::array()},
                                {"max_storage_buffer_binding_size", L.maxStorageBufferBindingSize},
                                {"max_buffer_size", L.maxBufferSize},
                                {"max_workgroup_storage", L.maxComputeWorkgroupStorageSize},
                                {"max_invocations_per_workgroup", L.maxComputeInvocationsPerWorkgroup}};
    for (auto f : i.features) j["features"].push_back(feature_name(f));
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("Dawn library     %s\n", i.library.c_str());
  std::printf("adapter          %s (%s)\n", i.device.c_str(), i.adapter_type.c_str());
  std::printf("vendor           %s  id 0x%04x, device id 0x%04x, architecture '%s'\n", i.vendor.c_str(),
              i.vendor_id, i.device_id, i.architecture.c_str());
  std::printf("backend          %s\n", i.backend.c_str());
  std::printf("driver           %s\n", i.description.c_str());
  std::printf("subgroup size    %u..%u\n", i.subgroup_min, i.subgroup_max);
  std::printf("features         %s\n", feats.c_str());
  std::printf("timestamps       %s\n", i.timestamps ? "yes (kernel times from GPU timestamp queries)"
                                                    : "no (kernel times from the wall clock)");
  std::printf("subgroups        %s\n", i.subgroups ? "yes (matmul --kernel v3 available)" : "no");
  std::printf("f16              %s: %s\n", i.f16 ? "yes" : "no", i.f16_note.c_str());
  std::printf("limits           maxStorageBufferBindingSize %llu, maxBufferSize %llu,\n"
              "                 maxComputeWorkgroupStorageSize %u, maxComputeInvocationsPerWorkgroup %u,\n"
              "                 maxComputeWorkgroupSize %ux%ux%u, maxComputeWorkgroupsPerDimension %u,\n"
              "                 maxStorageBuffersPerShaderStage %u, maxBindGroups %u\n",
              (unsigned long long)L.maxStorageBufferBindingSize, (unsigned long long)L.maxBufferSize,
              L.maxComputeWorkgroupStorageSize, L.maxComputeInvocationsPerWorkgroup, L.maxComputeWorkgroupSizeX,
              L.maxComputeWorkgroupSizeY, L.maxComputeWorkgroupSizeZ, L.maxComputeWorkgroupsPerDimension,
              L.maxStorageBuffersPerShaderStage, L.maxBindGroups);
}

void check_files(const std::vector<std::string>& files) {
  auto rt = must(Runtime::get());
  size_t errors = 0;
  for (const auto& f : files) {
    KernelSource src = must(load_wgsl_file(f));  // #include lines expanded, mapped back for messages
    auto msgs = must(rt->compile(src.text));
    size_t file_errors = 0;
    for (auto& m : msgs) {
      std::fprintf(m.severity == "error" ? stderr : stdout, "%s:%llu: %s: %s\n", src.where(m.line).c_str(),
                   (unsigned long long)m.col, m.severity.c_str(), m.message.c_str());
      if (m.severity == "error") ++file_errors;
    }
    if (!file_errors) std::printf("%s: ok\n", f.c_str());
    errors += file_errors;
  }
  if (errors) throw Failure(Error{Errc::GpuError, fmt::format("{} WGSL error(s)", errors)});
}

std::array<uint32_t, 3> parse_groups(const std::string& s) {
  std::array<uint32_t, 3> g{1, 1, 1};
  size_t pos = 0;
  for (int i = 0; i < 3 && pos <= s.size(); ++i) {
    size_t c = s.find(',', pos);
    std::string part = s.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
    char* end = nullptr;
    unsigned long v = std::strtoul(part.c_str(), &end, 10);
    if (part.empty() || *end || v == 0 || v > 0xFFFFFFFFul)
      throw Failure(Error{Errc::Usage, fmt::format("--workgroups '{}': expected X[,Y[,Z]] of positive integers", s)});
    g[i] = uint32_t(v);
    if (c == std::string::npos) return g;
    pos = c + 1;
  }
  throw Failure(Error{Errc::Usage, fmt::format("--workgroups '{}': at most 3 numbers", s)});
}

// A --buffers item: a file path, or zeros:BYTES for an output buffer.
Bytes load_buffer(const std::string& spec) {
  if (spec.rfind("zeros:", 0) == 0) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(spec.c_str() + 6, &end, 10);
    if (*end || n == 0 || n > kMaxBufferFile)
      throw Failure(Error{Errc::Usage, fmt::format("--buffers '{}': zeros:BYTES with 1..{} bytes", spec, kMaxBufferFile)});
    return Bytes(n, 0);
  }
  Bytes b = must(read_file(spec, kMaxBufferFile));
  if (b.empty()) throw Failure(Error{Errc::Usage, fmt::format("{}: empty buffer file", spec)});
  return b;
}

void run_shader(const std::string& file, const std::string& entry, const std::vector<std::string>& specs,
                const std::string& groups, const std::string& out_dir, const std::string& print) {
  if (specs.empty()) throw Failure(Error{Errc::Usage, "gpu run: give at least one buffer with --buffers"});
  KernelSource src = must(load_wgsl_file(file));
  std::vector<Bytes> bufs;
  for (auto& s : specs) bufs.push_back(load_buffer(s));
  // A buffer smaller than one element of its binding (or not whole elements' worth of 4-byte
  // words) is refused here with its binding named; Dawn would bind it and read nothing.
  auto types = binding_types(src.text);
  auto type_of = [&](size_t i) -> const BindingType* {
    for (const auto& t : types)
      if (t.binding == i) return &t;
    return nullptr;
  };
  for (size_t i = 0; i < bufs.size(); ++i) {
    const BindingType* t = type_of(i);
    if (t && bufs[i].size() < t->element_bytes)
      throw Failure(Error{Errc::Usage, fmt::format("--buffers {} (binding {}): {} bytes, smaller than one element of {} ({} bytes)",
                                                   specs[i], i, bufs[i].size(), t->text, t->element_bytes)});
    if (bufs[i].size() % 4)
      throw Failure(Error{Errc::Usage, fmt::format("--buffers {} (binding {}): {} bytes is not a whole number of 4-byte words",
                                                   specs[i], i, bufs[i].size())});
  }
  // A file named like a kernel (kernels/softmax.wgsl, or a tuned copy) gets that kernel's
  // tunables, as the ops would set them; only those the file declares as `override`.
  std::string stem = std::filesystem::path(file).stem().string();
  auto consts = declared_constants(stem, src.text, must(Runtime::get())->info());
  auto out = must(run_source(src.text, file, entry, std::move(bufs), parse_groups(groups), consts, &src));
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out_dir.empty()) {
      std::string path = (std::filesystem::path(out_dir) / fmt::format("binding{}.bin", i)).string();
      must(write_file_atomic(path, out[i]));
      std::printf("binding %zu: %zu bytes -> %s\n", i, out[i].size(), path.c_str());
      continue;
    }
    // --print auto: the binding's declared scalar (array<u32> prints as u32), else f32.
    const BindingType* t = type_of(i);
    std::string as = print != "auto" ? print : t ? t->scalar : "f32";
    size_t width = as == "f16" ? 2 : 4;
    std::printf("binding %zu (%zu bytes, %s):", i, out[i].size(), as.c_str());
    size_t n = std::min<size_t>(out[i].size() / width, 16);
    for (size_t k = 0; k < n; ++k) {
      uint32_t u = 0;
      std::memcpy(&u, out[i].data() + width * k, width);
      float f;
      std::memcpy(&f, &u, 4);
      if (as == "u32") std::printf(" %u", u);
      else if (as == "i32") std::printf(" %d", int32_t(u));
      else if (as == "f16") std::printf(" %g", double(f16_to_f32(uint16_t(u))));
      else std::printf(" %g", f);
    }
    std::printf("%s\n", out[i].size() / width > n ? " ..." : "");
  }
}

static pxos::cli::Register reg(60, {"gpu"}, [](CLI::App& app) {
  auto* gpu = app.add_subcommand("gpu", "WGSL compute kernels through Dawn: info, check, run, bench");
  gpu->require_subcommand(1);

  auto* info = gpu->add_subcommand("info", "adapter, backend, driver, limits and features");
  auto info_json = std::make_shared<bool>(false);
  info->add_flag("--json", *info_json, "one JSON object");
  info->callback([=] { print_info(*info_json); });

  auto* check = gpu->add_subcommand("check", "compile WGSL only; errors as FILE:line:col: message");
  auto files = std::make_shared<std::vector<std::string>>();
  check->add_option("files", *files, "WGSL files")->required();
  check->callback([=] { check_files(*files); });

  auto* run = gpu->add_subcommand("run", "run a compute shader on buffers read from files");
  auto file = std::make_shared<std::string>();
  auto entry = std::make_shared<std::string>("main");
  auto specs = std::make_shared<std::vector<std::string>>();
  auto groups = std::make_shared<std::string>("1");
  auto out_dir = std::make_shared<std::string>();
  auto print = std::make_shared<std::string>("auto");
  run->add_option("kernel", *file, "WGSL file")->required();
  run->add_option("--entry", *entry, "entry point (default main)");
  run->add_option("--buffers", *specs,
                  "files bound at @group(0) @binding(0..n-1), in order; zeros:BYTES for a zeroed buffer")
      ->expected(1, -1);
  run->add_option("--workgroups", *groups, "X[,Y[,Z]] workgroups to dispatch (default 1)");
  run->add_option("--out", *out_dir, "write each buffer afterwards to DIR/binding<i>.bin");
  run->add_option("--print", *print, "without --out: show the first values as auto (each binding's declared type) | f32 | u32 | i32 | f16")
      ->check(CLI::IsMember({"auto", "f32", "u32", "i32", "f16"}));
  run->callback([=] { run_shader(*file, *entry, *specs, *groups, *out_dir, *print); });

  auto* bench = gpu->add_subcommand("bench", "time a kernel against its CPU reference (GFLOP/s or GB/s)");
  auto cfg = std::make_shared<BenchConfig>();
  bench->add_option("op", cfg->op, "matmul attention softmax layernorm rmsnorm relu leaky_relu gelu silu rotary");
  bench->add_option("--n", cfg->sizes, "sizes to sweep: matmul n^3; attention sequence length; "
                                       "rotary positions; others rows")->expected(1, -1);
  bench->add_option("--cols", cfg->cols, "row length for softmax / norms / activations (default 4096)");
  bench->add_option("--heads", cfg->heads, "heads for attention / rotary (default 32)");
  bench->add_option("--dtype", cfg->dtype, "f32 | f16 (matmul)");
  bench->add_option("--kernel", cfg->kernel, "Kernel version: matmul v1 naive | v2 tiled | v2s tiled, small tile on small products | v3 subgroup; attention v1 row per 8 invocations | v2 FlashAttention-2 tiles; rotary v1 per element pair | v2 across heads | v3 vec4 head groups");
  bench->add_flag("!--non-causal", cfg->causal, "attention without the causal mask");
  bench->add_option("--reps", cfg->reps, "timed repetitions (median reported; default 20)");
  bench->add_option("--seed", cfg->seed, "random seed (default: fresh)");
  bench->add_flag("--json", cfg->json, "one JSON object per result line");
  bench->callback([=] { must(run_bench(*cfg)); });
});

}  // namespace
