// mailbox_bench.cpp: mailbox round-trip latency (RDTSC, calibrated against steady_clock;
// p50/p99/p99.9), ring throughput with batches 1/8/64, and the serving side's CPU cost idle
// and loaded. Serves in-process (cpu backend on its own pinned thread) or measures an external
// `pxos mailboxd --shm NAME` (e.g. --backend cuda). Prints one "RESULT key value" line per figure.
//   pxos_mailbox_bench [--n N] [--shm NAME] [--client-cpu C] [--server-cpu S] [--idle-s SEC]
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mailbox/client.hpp"
#include "mailbox/serve.hpp"
#include "mailbox/stats.hpp"
#include "mailbox/tsc.hpp"

using namespace pxos;
using namespace pxos::mailbox;
using namespace std::chrono_literals;

namespace {
void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}
double thread_cpu_s(pthread_t t) {
  clockid_t id;
  if (pthread_getcpuclockid(t, &id) != 0) return 0;
  timespec ts{};
  clock_gettime(id, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
void report(const char* what, const Histogram& h, double tpn) {
  std::printf("RESULT %s_p50_ns %.0f\nRESULT %s_p99_ns %.0f\nRESULT %s_p999_ns %.0f\n", what,
              double(h.quantile(0.5)) / tpn, what, double(h.quantile(0.99)) / tpn, what,
              double(h.quantile(0.999)) / tpn);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 1'000'000;
  std::string shm;
  int ccpu = -1, scpu = -1;
  double idle_s = 2.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--n") n = std::strtoull(argv[i + 1], nullptr, 0);
    else if (a == "--shm") shm = argv[i + 1];
    else if (a == "--client-cpu") ccpu = std::atoi(argv[i + 1]);
    else if (a == "--server-cpu") scpu = std::atoi(argv[i + 1]);
    else if (a == "--idle-s") idle_s = std::atof(argv[i + 1]);
    else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
  }
  double tpn = tsc_calibrate(200);
  std::printf("RESULT tsc_ticks_per_ns %.4f\n", tpn);
  auto area = shm.empty() ? Area::anonymous() : Area::open_shm(shm);
  if (!area) { std::fprintf(stderr, "%s\n", area.error().to_string().c_str()); return 1; }

  std::atomic<bool> stop{false};
  std::unique_ptr<Server> server;
  std::thread th;
  if (shm.empty()) {
    ServerConfig cfg;
    cfg.uart_out = -1;
    cfg.log = nullptr;
    cfg.gpu = cpu_gpu_exec;
    server = std::make_unique<Server>(area->base(), area->size(), cfg);
    server->start();
    th = std::thread([&server, &stop, scpu] {
      pin(scpu);
      serve(*server, LoopOptions{}, stop);  // mailboxd's defaults (serve.hpp)
    });
  }
  // Every return below stops and joins the server thread (a joinable std::thread destroyed
  // unjoined calls std::terminate).
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& th;
    ~Joiner() {
      stop.store(true);
      if (th.joinable()) th.join();
    }
  } joiner{stop, th};
  pin(ccpu);
  Client cl(*area);
  for (int i = 0; i < 2000 && !cl.server_ready(); ++i) std::this_thread::sleep_for(1ms);
  if (!cl.server_ready()) { std::fprintf(stderr, "no server\n"); return 1; }

  // 1. v1 single-slot round trip
  {
    Histogram h;
    for (uint64_t i = 0; i < n / 10; ++i) (void)cl.call(make_cmd(op::NOP, 0, 1));  // warm up
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t t0 = tsc_now();
      auto r = cl.call(make_cmd(op::NOP, 0, uint16_t(i)));
      uint64_t t1 = tsc_now();
      if (!r || r->resp != uint16_t(i)) { std::fprintf(stderr, "v1 call %llu failed\n", (unsigned long long)i); return 1; }
      h.add(t1 - t0);
    }
    report("v1", h, tpn);
  }
  // 2. ring round trip, one in flight
  std::vector<Cqe> out(c::RING_ENTRIES);
  {
    Histogram h;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t t0 = tsc_now();
      if (!cl.submit({make_cmd(op::NOP, 0, 0), 0, 0, uint32_t(i)})) { std::fprintf(stderr, "ring: submit refused with nothing in flight\n"); return 1; }
      cl.flush();
      auto k = cl.wait(out, 1, 1s);
      uint64_t t1 = tsc_now();
      if (!k || out[0].user_data != uint32_t(i)) { std::fprintf(stderr, "ring call failed\n"); return 1; }
      h.add(t1 - t0);
    }
    report("ring", h, tpn);
  }
  // 3. ring throughput: `batch` commands per publish (flush), up to a full ring in flight,
  //    and the server's CPU while loaded
  for (uint32_t batch : {1u, 8u, 64u}) {
    uint64_t total = std::max<uint64_t>(n, 200'000) / batch * batch, sent = 0, got = 0;
    double cpu0 = server ? thread_cpu_s(th.native_handle()) : 0;
    auto w0 = std::chrono::steady_clock::now();
    auto last_progress = w0;
    while (got < total) {
      if (sent < total && cl.in_flight() + batch <= c::RING_ENTRIES) {
        uint32_t j = 0;  // submit() may refuse (ring full): count only what went in
        while (j < batch && cl.submit({make_cmd(op::NOP, 0, 0), 0, 0, uint32_t(sent + j)})) ++j;
        cl.flush();
        sent += j;
      }
      size_t k = cl.reap(out);
      for (size_t i = 0; i < k; ++i, ++got)
        if (out[i].user_data != uint32_t(got)) { std::fprintf(stderr, "throughput: completion out of order\n"); return 1; }
      if (k) {
        last_progress = std::chrono::steady_clock::now();
      } else if ((got & 0xFF) == 0 && std::chrono::steady_clock::now() - last_progress > 2s) {
        std::fprintf(stderr, "throughput: no completions for 2 s\n");
        return 1;
      }
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::printf("RESULT ring_batch%u_Mcmds_per_s %.2f\n", batch, double(total) / wall / 1e6);
    if (server) std::printf("RESULT loaded_server_cpu_batch%u_pct %.1f\n", batch, 100 * (thread_cpu_s(th.native_handle()) - cpu0) / wall);
    std::fflush(stdout);
  }
  // 4. idle cost: no commands for idle_s seconds (after the spin window has passed)
  if (server) {
    std::this_thread::sleep_for(100ms);
    double cpu0 = thread_cpu_s(th.native_handle());
    uint32_t beats0 = ld_acq(area->header().heartbeat);
    auto w0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(idle_s));
    std::printf("RESULT idle_server_wakeups_per_s %.0f\n", double(ld_acq(area->header().heartbeat) - beats0) / idle_s);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::printf("RESULT idle_server_cpu_pct %.2f\n", 100 * (thread_cpu_s(th.native_handle()) - cpu0) / wall);
    // latency of a command that finds the server asleep (the back-off's cost, with the futex wake)
    Histogram h;
    for (int i = 0; i < 200; ++i) {
      std::this_thread::sleep_for(3ms);
      uint64_t t0 = tsc_now();
      (void)cl.call(make_cmd(op::NOP, 0, 0));
      h.add(tsc_now() - t0);
    }
    report("v1_wake_from_sleep", h, tpn);
    (void)cl.call(make_cmd(op::HALT, 0, 0));
    th.join();
  } else if (std::getenv("PXOS_BENCH_HALT")) {
    (void)cl.call(make_cmd(op::HALT, 0, 0));  // stop the external mailboxd (it prints its table)
  }
  return 0;
}
