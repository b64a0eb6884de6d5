// cuda_kernel.cu: the cuda backend's persistent kernel. One GPU thread polls the v1 slot in
// pinned, mapped host memory (the shared area registered with cudaHostRegister), serves NOP
// and the pure SYSCALLs itself, and defers every other command to the host's Server through a
// pinned control block. Plain C interface: the C++23 side (cuda_backend.cpp) never sees CUDA.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>

#define MB_CONST(name, value, doc) static constexpr uint32_t k##name = value;
#include "mailbox/protocol.def"
#define MB_REG(name, offset, field, writer, doc) static constexpr uint32_t kReg##name = offset;
#include "mailbox/protocol.def"
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) static constexpr uint32_t kOp##name = byte;
#include "mailbox/protocol.def"
#define MB_SYS(name, number, handler, gpu, doc) static constexpr uint32_t kSys##name = number;
#include "mailbox/protocol.def"
#define MB_STATUS(name, value, doc) static constexpr uint32_t kSt##name = value;
#include "mailbox/protocol.def"

// The table's gpu column (device | host) must be what serve_here() below serves: NOP and the
// SYSCALLs ECHO, ADD, VERSION. A row changed to device without a body here fails the build.
namespace gpucol {
static constexpr int device = 1, host = 0;
constexpr int op_device(uint32_t o) {
  switch (o) {
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) case byte: return gpu;
#include "mailbox/protocol.def"
  }
  return host;
}
constexpr int sys_device(uint32_t n) {
  switch (n) {
#define MB_SYS(name, number, handler, gpu, doc) case number: return gpu;
#include "mailbox/protocol.def"
  }
  return host;
}
constexpr int device_rows() {
  int n = 0;
  for (uint32_t o = 0; o < 256; ++o) n += op_device(o);
  for (uint32_t s = 0; s < 0x10000; ++s) n += sys_device(s);
  return n;
}
static_assert(op_device(kOpNOP) && op_device(kOpSYSCALL) && sys_device(kSysECHO) && sys_device(kSysADD) &&
                  sys_device(kSysVERSION) && device_rows() == 5,
              "protocol.def's gpu column names device rows that cuda_kernel.cu does not serve (or the reverse)");
}  // namespace gpucol

extern "C" {
struct PxmbCudaCtl {
  uint32_t defer;       // GPU sets 1: the host serves the v1 command, then writes 0
  uint32_t stop;        // host sets 1: the kernel returns
  uint32_t gpu_served;  // commands the GPU completed itself
  uint32_t alive;       // GPU sets 1 once polling
};
}

namespace {
__device__ __forceinline__ uint4 ld_v4(const uint32_t* p) {  // one 16-byte read across PCIe
  uint4 v;
  asm volatile("ld.volatile.global.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  return v;
}
__device__ __forceinline__ uint32_t ld_u32(const uint32_t* p) { return *reinterpret_cast<const volatile uint32_t*>(p); }
__device__ __forceinline__ void st_u32(uint32_t* p, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(p) = v; }

// Serves one v1 command the GPU can do itself; false: defer it to the host.
__device__ __forceinline__ bool serve_here(uint32_t* w, uint4 r, uint32_t& served, PxmbCudaCtl* ctl) {
  uint32_t cmd = r.x, opc = cmd >> kOPCODE_SHIFT, tid = (cmd >> kTHREAD_SHIFT) & 0xFF, pay = cmd & kPAYLOAD_MASK;
  bool mine = r.w == 1 && tid < kMAX_THREADS &&
              (opc == kOpNOP || (opc == kOpSYSCALL && (pay == kSysECHO || pay == kSysADD || pay == kSysVERSION)));
  if (!mine) return false;
  uint32_t resp = pay, resp1 = 0;
  if (opc == kOpSYSCALL) {
    uint32_t a0 = ld_u32(&w[kRegARG0 / 4]), a1 = ld_u32(&w[kRegARG1 / 4]);
    if (pay == kSysECHO) resp = a0, resp1 = a1;
    else if (pay == kSysADD) resp = a0 + a1;
    else resp = kVERSION, resp1 = kMAGIC;
  }
  st_u32(&w[kRegRESP1 / 4], resp1);
  st_u32(&w[kRegSTATUS / 4], kStCOMPLETE);
  __threadfence_system();  // STATUS and RESP1 before the hand-over (release)
  // RESP (0x8) and DOORBELL (0xC) share one aligned 8-byte store: they land together.
  static_assert(kRegDOORBELL == kRegRESP + 4 && kRegRESP % 8 == 0, "RESP/DOORBELL layout");
  asm volatile("st.volatile.global.v2.u32 [%0], {%1,%2};" ::"l"(&w[kRegRESP / 4]), "r"(resp), "r"(0u) : "memory");
  st_u32(&ctl->gpu_served, ++served);
  return true;
}

// Reads of host memory take about a microsecond across PCIe. With POLLS > 1 the thread keeps
// POLLS reads of the registers in flight, issued DELAY_NS apart, so a new doorbell is seen about
// one read latency after it is rung instead of up to two. After a hand-over every read still in
// flight may predate it, so the pipeline is drained and re-primed (a read issued after our own
// DOORBELL store sees that store or newer: same-address coherence).
template <int POLLS>
__global__ void pxmb_persistent(uint32_t* area, PxmbCudaCtl* ctl, uint32_t delay_ns) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  uint32_t* w = area;
  st_u32(&ctl->alive, 1);
  __threadfence_system();
  uint32_t served = 0, polls = 0;
  uint4 v[POLLS];
  for (;;) {
#pragma unroll
    for (int i = 0; i < POLLS; ++i) {  // prime
      v[i] = ld_v4(w);
      if (POLLS > 1) __nanosleep(delay_ns);
    }
    bool handed = false;
    while (!handed) {
#pragma unroll
      for (int i = 0; i < POLLS && !handed; ++i) {
        uint4 r = v[i];  // waits for the oldest read only
        if (r.w != 0) {
          if (!serve_here(w, r, served, ctl)) {  // the host's Server does all of it
            st_u32(&ctl->defer, 1);
            __threadfence_system();
            while (ld_u32(&ctl->defer)) {
            }
          }
          handed = true;
        } else {
          v[i] = ld_v4(w);
          if (POLLS > 1) __nanosleep(delay_ns);
        }
      }
      if ((++polls & 255) == 0 && ld_u32(&ctl->stop)) return;
    }
    if (ld_u32(&ctl->stop)) return;
  }
}

PxmbCudaCtl* g_ctl = nullptr;
void* g_area = nullptr;
cudaStream_t g_stream;

int failed(cudaError_t e, const char* what, char* err, size_t n) {
  std::snprintf(err, n, "cuda: %s: %s", what, cudaGetErrorString(e));
  return 1;
}
}  // namespace

extern "C" int pxmb_cuda_start(void* area, size_t size, int polls, unsigned delay_ns, char* err, size_t errlen) {
  cudaError_t e;
  // No GPU (or no NVIDIA driver, which the runtime reports as "driver version is insufficient"):
  // say that first, in those words, rather than the first call's error.
  int devices = 0;
  e = cudaGetDeviceCount(&devices);
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || (e == cudaSuccess && devices == 0)) {
    std::snprintf(err, errlen, "cuda: no CUDA device (%s)",
                  e == cudaSuccess ? "cudaGetDeviceCount found none" : cudaGetErrorString(e));
    return 1;
  }
  if (e != cudaSuccess) return failed(e, "cudaGetDeviceCount", err, errlen);
  if ((e = cudaSetDeviceFlags(cudaDeviceMapHost)) != cudaSuccess && e != cudaErrorSetOnActiveProcess)
    return failed(e, "cudaSetDeviceFlags", err, errlen);
  if ((e = cudaHostRegister(area, size, cudaHostRegisterMapped | cudaHostRegisterPortable)) != cudaSuccess)
    return failed(e, "cudaHostRegister(shared area)", err, errlen);
  g_area = area;
  if ((e = cudaHostAlloc(reinterpret_cast<void**>(&g_ctl), sizeof(PxmbCudaCtl), cudaHostAllocMapped)) != cudaSuccess)
    return failed(e, "cudaHostAlloc(control)", err, errlen);
  *g_ctl = PxmbCudaCtl{};
  uint32_t* d_area = nullptr;
  PxmbCudaCtl* d_ctl = nullptr;
  if ((e = cudaHostGetDevicePointer(reinterpret_cast<void**>(&d_area), area, 0)) != cudaSuccess)
    return failed(e, "cudaHostGetDevicePointer(area)", err, errlen);
  if ((e = cudaHostGetDevicePointer(reinterpret_cast<void**>(&d_ctl), g_ctl, 0)) != cudaSuccess)
    return failed(e, "cudaHostGetDevicePointer(control)", err, errlen);
  if ((e = cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking)) != cudaSuccess)
    return failed(e, "cudaStreamCreate", err, errlen);
  switch (polls) {
    case 1: pxmb_persistent<1><<<1, 32, 0, g_stream>>>(d_area, d_ctl, delay_ns); break;
    case 2: pxmb_persistent<2><<<1, 32, 0, g_stream>>>(d_area, d_ctl, delay_ns); break;
    case 8: pxmb_persistent<8><<<1, 32, 0, g_stream>>>(d_area, d_ctl, delay_ns); break;
    default: pxmb_persistent<4><<<1, 32, 0, g_stream>>>(d_area, d_ctl, delay_ns); break;
  }
  if ((e = cudaGetLastError()) != cudaSuccess) return failed(e, "launch", err, errlen);
  for (int i = 0; i < 10000000 && !reinterpret_cast<volatile PxmbCudaCtl*>(g_ctl)->alive; ++i) {
  }
  if (!reinterpret_cast<volatile PxmbCudaCtl*>(g_ctl)->alive) {
    std::snprintf(err, errlen, "cuda: the persistent kernel did not start");
    return 1;
  }
  return 0;
}

extern "C" volatile PxmbCudaCtl* pxmb_cuda_ctl() { return g_ctl; }

extern "C" int pxmb_cuda_stop(char* err, size_t errlen) {
  if (!g_ctl) return 0;
  reinterpret_cast<volatile PxmbCudaCtl*>(g_ctl)->stop = 1;
  reinterpret_cast<volatile PxmbCudaCtl*>(g_ctl)->defer = 0;
  cudaError_t e = cudaStreamSynchronize(g_stream);
  cudaHostUnregister(g_area);
  cudaFreeHost(g_ctl);
  g_ctl = nullptr;
  if (e != cudaSuccess) return failed(e, "persistent kernel", err, errlen);
  return 0;
}
