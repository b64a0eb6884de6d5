// dynlib.hpp: shared libraries a command opens only when it first needs them (dlopen), so that
// the commands that never do (run, asm, inspect, hv) start without mapping and relocating them.
// A table of functions is declared from the library's own header: decltype(&::fn) is its type.
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pxos::os {

struct Library {
  void* handle = nullptr;
  std::string name;  // the soname or path that opened
};

// Opens the first of `names` (sonames or paths) that dlopen accepts. Libraries stay loaded for the
// life of the process; the same name opens once. The error names every candidate, why each
// failed, and `purpose` (what needed it: "the architect's HTTP client (libcurl)"), as `kind`.
Result<const Library*> open_library(std::initializer_list<std::string_view> names, std::string_view purpose,
                                    Errc kind = Errc::Unsupported);

// The address of `symbol` in `lib`, or an error naming both.
Result<void*> library_symbol(const Library& lib, const char* symbol, Errc kind = Errc::Unsupported);

// Fills a function table: PXOS_DYNLIB_BIND(lib, table, fn) sets table.fn from the symbol "fn",
// typed as the header declares it, or returns the error from the enclosing function.
#define PXOS_DYNLIB_BIND(lib, table, fn)                                    \
  do {                                                                     \
    auto s_ = ::pxos::os::library_symbol((lib), #fn);                      \
    if (!s_) return std::unexpected(s_.error());                           \
    (table).fn = reinterpret_cast<decltype(&::fn)>(*s_);                   \
  } while (0)

}  // namespace pxos::os
