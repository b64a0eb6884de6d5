// cuda_backend.cpp: the host half of the cuda backend: starts the persistent kernel on the
// area, serves what it defers (any opcode the GPU does not do itself) and the rings, stops on
// HALT or a signal. The GPU side is cuda_kernel.cu.
#include <time.h>

#include <algorithm>
#include <cstdlib>

#include "mailbox/backends.hpp"
#include "mailbox/tsc.hpp"

extern "C" {
struct PxmbCudaCtl {
  uint32_t defer, stop, gpu_served, alive;
};
int pxmb_cuda_start(void* area, size_t size, int polls, unsigned delay_ns, char* err, size_t errlen);
volatile PxmbCudaCtl* pxmb_cuda_ctl();
int pxmb_cuda_stop(char* err, size_t errlen);
}

namespace pxos::mailbox {

Status cuda_serve(BackendRun& run, Server& host, const std::function<void(Server&)>& announce) {
  char err[256] = {0};
  // Reads kept in flight by the polling thread (1, 2, 4, 8) and their spacing; see cuda_kernel.cu.
  const char* pe = std::getenv("PXOS_MAILBOX_CUDA_POLLS");
  const char* de = std::getenv("PXOS_MAILBOX_CUDA_DELAY_NS");
  int polls = pe ? std::atoi(pe) : 1;  // measured on the H100: 1 poll p50 3.2 µs, 4 polls 6.3, 8 polls 9.8
  unsigned delay = de ? unsigned(std::atoi(de)) : 250;
  if (pxmb_cuda_start(run.area.base(), run.area.size(), polls, delay, err, sizeof err) != 0) {
    char e2[256];
    pxmb_cuda_stop(e2, sizeof e2);
    return fail(Errc::GpuUnavailable, err);
  }
  announce(host);
  volatile PxmbCudaCtl* ctl = pxmb_cuda_ctl();
  const double tpn = tsc_ticks_per_ns();
  const uint64_t spin_ticks = uint64_t(double(run.loop.spin_us) * 1000.0 * tpn);
  uint64_t last = tsc_now();
  uint32_t sleep_us = run.loop.min_sleep_us;
  Status shrunk{};
  // The host thread: deferred v1 commands and the rings. It backs off like the cpu loop, but
  // with plain sleeps: the GPU, not this thread, is what watches the v1 doorbell.
  while (!host.halted() && !run.stop.load(std::memory_order_relaxed)) {
    size_t n = 0;
    if (ctl->defer) {
      n += host.step_v1();
      std::atomic_thread_fence(std::memory_order_seq_cst);
      ctl->defer = 0;
    }
    n += host.step_ring();
    if (n) {
      last = tsc_now();
      sleep_us = run.loop.min_sleep_us;
      continue;
    }
    if (tsc_now() - last < spin_ticks) {
      cpu_relax();
      continue;
    }
    timespec ts{0, long(sleep_us) * 1000};
    nanosleep(&ts, nullptr);
    sleep_us = std::min(run.loop.max_sleep_us, sleep_us * 2);
    if (run.loop.check) {  // a truncated file: stop before the next access would SIGBUS
      if (auto s = run.loop.check(); !s) {
        shrunk = s;
        break;
      }
    }
  }
  uint32_t gpu_served = ctl->gpu_served;
  int rc = pxmb_cuda_stop(err, sizeof err);
  if (run.log) std::fprintf(run.log, "mailboxd: the GPU served %u commands itself\n", gpu_served);
  if (!shrunk) return shrunk;
  if (rc != 0) return fail(Errc::GpuError, err);
  return {};
}

}  // namespace pxos::mailbox
