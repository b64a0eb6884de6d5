// fuzz_wgsl_bindings.cpp: any text through gpu::binding_types (what `pxos gpu run` reads of a
// kernel's declarations). Must never crash or hang, and every row it returns must be sane.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gpu/kernel_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& b : pxos::gpu::binding_types(text)) {
    if (b.element_bytes == 0 || b.element_bytes > 16) std::abort();
    if (b.scalar != "f32" && b.scalar != "u32" && b.scalar != "i32" && b.scalar != "f16") std::abort();
    if (b.text.size() > size) std::abort();
  }
  return 0;
}
