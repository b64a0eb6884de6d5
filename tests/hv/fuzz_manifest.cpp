// fuzz_manifest.cpp: the strict manifest.json reader and the runtime check on any bytes.
#include <cstdint>
#include <string_view>

#include "hv/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = pxos::hv::parse_manifest(text, "fuzz.json");
  if (m) {
    (void)pxos::hv::check_runtime(*m, "fuzz.json");
    (void)m->entry_names();
    for (auto v : {0, 1, 2, 1000}) (void)m->vm_version.satisfied_by(v);
  }
  return 0;
}
