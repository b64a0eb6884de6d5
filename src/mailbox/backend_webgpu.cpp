// backend_webgpu.cpp: the webgpu backend's two hooks into the server: GPU_EXECUTE runs a named
// embedded WGSL kernel through the GPU runtime, and each ring batch is served by one dispatch of
// kernels/mailbox_runtime.wgsl (entries it cannot serve come back marked for the host).
#include <cstring>

#include "gpu/runtime.hpp"
#include "mailbox/backends.hpp"

namespace pxos::mailbox {

GpuExec webgpu_exec() {
  return [](std::string_view kernel, std::string_view entry, std::vector<Bytes> buffers,
            std::array<uint32_t, 3> wg) -> Result<std::vector<Bytes>> {
    if (kernel == "add_u32" || kernel == "fill_u32") return cpu_gpu_exec(kernel, entry, std::move(buffers), wg);
    return gpu::run_kernel(kernel, entry, std::move(buffers), wg);
  };
}

BatchExec webgpu_batch() {
  return [](std::span<const Sqe> in, std::span<Reply> out) -> bool {
    size_t n = in.size();
    if (n == 0 || out.size() < n) return false;
    Bytes sq(n * 16), cq(n * 16, 0), meta(4);
    std::memcpy(sq.data(), in.data(), n * 16);  // Sqe is 4 little-endian u32 (protocol.hpp)
    uint32_t count = uint32_t(n);
    std::memcpy(meta.data(), &count, 4);
    auto r = gpu::run_kernel("mailbox_runtime", "main", {std::move(sq), std::move(cq), std::move(meta)},
                             {uint32_t((n + 63) / 64), 1, 1});
    if (!r || r->size() < 2 || (*r)[1].size() < n * 16) return false;
    const uint8_t* c = (*r)[1].data();
    for (size_t i = 0; i < n; ++i) {
      uint32_t w[4];
      std::memcpy(w, c + 16 * i, 16);
      out[i] = Reply{w[1], w[2], w[3]};
    }
    return true;
  };
}

}  // namespace pxos::mailbox
