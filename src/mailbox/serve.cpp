// serve.cpp: spin, then sleep with the NEED_WAKEUP handshake (flag, full fence, re-check, wait).
#include "mailbox/serve.hpp"

#include <algorithm>
#include <string>

#include "mailbox/area.hpp"
#include "mailbox/tsc.hpp"

namespace pxos::mailbox {

void serve(Server& server, const LoopOptions& opt, const std::atomic<bool>& stop) {
  Header& h = server.header();
  const double tpn = tsc_ticks_per_ns();
  const uint64_t spin_ticks = uint64_t(double(opt.spin_us) * 1000.0 * tpn);
  const uint64_t stats_ticks = uint64_t(opt.stats_every_s * 1e9 * tpn);
  uint64_t last_work = tsc_now(), last_stats = last_work;
  uint32_t sleep_us = opt.min_sleep_us, beat = 0;
  while (!server.halted() && !stop.load(std::memory_order_relaxed)) {
    if (server.step()) {
      last_work = tsc_now();
      sleep_us = opt.min_sleep_us;
      continue;
    }
    uint64_t now = tsc_now();
    if ((++beat & 1023) == 0) st_rlx(h.heartbeat, ld_rlx(h.heartbeat) + 1);
    if (stats_ticks && now - last_stats >= stats_ticks) {
      last_stats = now;
      std::fputs(server.stats_table(tpn).c_str(), opt.stats_out);
      std::fflush(opt.stats_out);
    }
    if (now - last_work < spin_ticks) {
      cpu_relax();
      continue;
    }
    // Going to sleep: announce it, full fence, re-check (the lost-wake-up window), then wait.
    uint32_t seen = ld_acq(h.wake);
    st_rlx(h.ring_flags, ld_rlx(h.ring_flags) | flag::NEED_WAKEUP);
    full_fence();
    if (server.step()) {
      st_rlx(h.ring_flags, ld_rlx(h.ring_flags) & ~flag::NEED_WAKEUP);
      last_work = tsc_now();
      continue;
    }
    futex_wait(h.wake, seen, sleep_us);
    st_rlx(h.ring_flags, ld_rlx(h.ring_flags) & ~flag::NEED_WAKEUP);
    st_rlx(h.heartbeat, ld_rlx(h.heartbeat) + 1);
    bool woken = ld_acq(h.wake) != seen;
    if (woken) {
      last_work = tsc_now();  // a client is active: spin again
      sleep_us = opt.min_sleep_us;
    } else {
      sleep_us = std::min(opt.max_sleep_us, std::max(opt.min_sleep_us, sleep_us * 2));
    }
  }
}

}  // namespace pxos::mailbox
