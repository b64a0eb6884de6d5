// httpd.cpp: finds and opens libpxos_httpd.so (the cpp-httplib plugin) for `llm serve`.
#include "llm/httpd.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/dynlib.hpp"

namespace pxos::llm {

// Where the plugin is looked for, after PXOS_HTTPD_PLUGIN: beside the binary (the build tree), then
// where `make install` puts it relative to PREFIX/bin/pxos (src/cli/CMakeLists.txt), then the
// loader's own search path.
constexpr const char* kPlugin = "libpxos_httpd.so";
constexpr const char* kInstalledDir = "../lib/pxos/";

Result<const HttpdApi*> open_httpd() {
  std::string beside = kPlugin, installed = kPlugin;
  char exe[PATH_MAX];
  if (ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1); n > 0) {
    std::string p(exe, size_t(n));
    std::string dir = p.substr(0, p.rfind('/') + 1);
    beside = dir + kPlugin;
    installed = dir + kInstalledDir + kPlugin;
  }
  const char* env = std::getenv("PXOS_HTTPD_PLUGIN");
  auto lib = env && *env ? os::open_library({env}, "the HTTP server of `llm serve` (libpxos_httpd.so, cpp-httplib)")
                         : os::open_library({beside, installed, kPlugin}, "the HTTP server of `llm serve` (libpxos_httpd.so, cpp-httplib)");
  if (!lib) return std::unexpected(lib.error());
  auto sym = os::library_symbol(**lib, "pxos_httpd_v1");
  if (!sym) return std::unexpected(sym.error());
  auto fn = reinterpret_cast<const HttpdApi* (*)()>(*sym);
  return fn();
}

}  // namespace pxos::llm
