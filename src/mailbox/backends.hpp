// backends.hpp: how mailboxd serves: cpu (a polling thread), webgpu (GPU_EXECUTE through the
// WGSL runtime, ring batches through kernels/mailbox_runtime.wgsl) and cuda (a persistent kernel
// polling the area in pinned, mapped host memory). Each is built only where its pieces exist.
#pragma once
#include <atomic>
#include <cstdio>
#include <functional>
#include <string_view>

#include "common/error.hpp"
#include "mailbox/area.hpp"
#include "mailbox/serve.hpp"
#include "mailbox/server.hpp"

namespace pxos::mailbox {

struct BackendRun {
  Area& area;
  ServerConfig cfg;
  LoopOptions loop;
  const std::atomic<bool>& stop;
  FILE* log;  // start line and exit statistics; nullptr = quiet
};

// The server configuration the named backend serves with (its GPU_EXECUTE executor and, for
// webgpu, the WGSL batch handler) on top of `base`; run_backend uses it, and so does
// test_mailbox_every_opcode. Unsupported when the backend is not built.
Result<ServerConfig> backend_config(std::string_view name, ServerConfig base);
// Runs the named backend until HALT or stop; prints the stats table to log at exit.
Status run_backend(std::string_view name, BackendRun& run, const std::function<void(Server&)>& announce);
bool backend_built(std::string_view name);

#ifdef PXOS_MAILBOX_HAVE_WEBGPU
GpuExec webgpu_exec();     // GPU_EXECUTE through pxos::gpu::run_kernel
BatchExec webgpu_batch();  // ring batches through kernels/mailbox_runtime.wgsl
#endif
#ifdef PXOS_MAILBOX_HAVE_CUDA
// The persistent-kernel server: the GPU serves NOP/SYSCALL itself and defers the rest to
// `host` (a Server on the same area) through a pinned control block.
Status cuda_serve(BackendRun& run, Server& host, const std::function<void(Server&)>& announce);
#endif

}  // namespace pxos::mailbox
