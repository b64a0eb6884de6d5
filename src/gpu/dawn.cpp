// dawn.cpp: the dlopen/dlsym side of webgpu_decl.hpp's function table.
#include "gpu/dawn.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

namespace pxos::gpu {
namespace {

constexpr const char* kLibRel = "node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so";

constexpr const char* kInstalledRel = "../lib/pxos/libwebgpu_wrapper.so";  // `make install` puts it there

std::vector<std::string> candidates() {
  std::vector<std::string> c;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) c.push_back((exe.parent_path() / kInstalledRel).lexically_normal().string());
#ifdef PXOS_SOURCE_DIR
  c.push_back(std::string(PXOS_SOURCE_DIR) + "/" + kLibRel);
#endif
  if (!ec) {
    auto dir = exe.parent_path();
    c.push_back((dir / ".." / kLibRel).lexically_normal().string());
    c.push_back((dir / kLibRel).lexically_normal().string());
  }
  return c;
}

Result<Dawn*> do_load() {
  std::string tried;
  // PXOS_DAWN_LIB names the one library to use: one that is missing or broken is an error,
  // never a silent fall back to another Dawn.
  std::vector<std::string> paths = candidates();
  const char* env = std::getenv("PXOS_DAWN_LIB");
  bool named = env && *env;
  if (named) {
    if (access(env, R_OK) != 0)
      return failf(Errc::GpuUnavailable, "PXOS_DAWN_LIB={}: {}", env, std::strerror(errno));
    paths = {env};
  }
  for (const auto& path : paths) {
    if (access(path.c_str(), R_OK) != 0) {
      tried += "\n  " + path + ": not found";
      continue;
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h && named) return failf(Errc::GpuUnavailable, "PXOS_DAWN_LIB={}: {}", path, dlerror());
    if (!h) {
      tried += "\n  " + path + ": " + dlerror();
      continue;
    }
    auto* d = new Dawn{};  // lives for the process: Dawn is never unloaded
    d->path = path;
#define PXOS_WGPU_RESOLVE(name, ret, params)                                          \
  d->p.name = reinterpret_cast<decltype(d->p.name)>(dlsym(h, "wgpu" #name));                \
  if (!d->p.name) return failf(Errc::GpuUnavailable, "{}: missing symbol wgpu{}", path, #name);
    PXOS_WGPU_FUNCTIONS(PXOS_WGPU_RESOLVE)
#undef PXOS_WGPU_RESOLVE
    return d;
  }
  return failf(Errc::GpuUnavailable,
               "Dawn (libwebgpu_wrapper.so) not found; run `npm ci` (scripts/setup) or set "
               "PXOS_DAWN_LIB. Tried:{}", tried);
}

}  // namespace

Result<const Dawn*> load_dawn() {
  static std::once_flag once;
  static Result<Dawn*> r = fail(Errc::Internal, "unset");
  std::call_once(once, [] { r = do_load(); });
  if (!r) return std::unexpected(r.error());
  return *r;
}

}  // namespace pxos::gpu
