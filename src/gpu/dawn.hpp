// dawn.hpp: finds and dlopens Dawn (libwebgpu_wrapper.so from bun-webgpu-linux-x64) at run time,
// so `pxos` starts without it and can say why the GPU is unavailable.
#pragma once
#include <string>

#include "common/error.hpp"
#include "gpu/webgpu_decl.hpp"

namespace pxos::gpu {

struct Dawn {
  wg::Procs p;
  std::string path;  // the file that was loaded
};

// Search order: $PXOS_DAWN_LIB, <source tree>/node_modules/bun-webgpu-linux-x64/, then
// <dir of the running binary>/../node_modules/... and <dir>/node_modules/... . Loaded once.
Result<const Dawn*> load_dawn();

}  // namespace pxos::gpu
