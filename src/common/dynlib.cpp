// dynlib.cpp: dlopen with one error line per failure, a cache by name, and the fault hook.
#include "common/dynlib.hpp"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "common/os.hpp"

namespace pxos::os {

Result<const Library*> open_library(std::initializer_list<std::string_view> names, std::string_view purpose,
                                    Errc kind) {
  static std::mutex mu;
  static std::map<std::string, Library, std::less<>> open;  // never closed: code may still point in
  std::lock_guard lock(mu);
  std::string tried;
  for (std::string_view n : names) {
    if (auto it = open.find(n); it != open.end()) return &it->second;
    std::string name(n);
    const bool injected = inject(Op::Dlopen);
    void* h = injected ? nullptr : dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      // dlerror() holds the last failure of any dl call, so it is read only for this one.
      const char* why = injected ? "fault injected" : dlerror();
      tried += fmt::format("{}{} ({})", tried.empty() ? "" : "; ", name, why ? why : "unknown dlopen failure");
      continue;
    }
    auto [it, _] = open.emplace(name, Library{h, name});
    return &it->second;
  }
  return failf(kind, "{} cannot be loaded: {}", purpose, tried);
}

Result<void*> library_symbol(const Library& lib, const char* symbol, Errc kind) {
  dlerror();
  void* p = dlsym(lib.handle, symbol);
  if (!p) return failf(kind, "{}: missing symbol {}", lib.name, symbol);
  return p;
}

}  // namespace pxos::os
