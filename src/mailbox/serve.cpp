// serve.cpp: spin, then sleep with the NEED_WAKEUP handshake (flag, full fence, re-check, wait);
// each pass over the area runs under os::guard_mapped, so a truncated file is an error, not SIGBUS.
#include "mailbox/serve.hpp"

#include <algorithm>
#include <string>

#include "common/os.hpp"
#include "mailbox/area.hpp"
#include "mailbox/tsc.hpp"

namespace pxos::mailbox {

Status serve(Server& server, const LoopOptions& opt, const std::atomic<bool>& stop) {
  os::SigbusTrap trap;
  Header& h = server.header();
  const double tpn = tsc_ticks_per_ns();
  const uint64_t spin_ticks = uint64_t(double(opt.spin_us) * 1000.0 * tpn);
  const uint64_t stats_ticks = uint64_t(opt.stats_every_s * 1e9 * tpn);
  const uint64_t check_ticks = uint64_t(1e6 * tpn);  // a spinning server fstats about once a ms
  uint64_t last_work = tsc_now(), last_stats = last_work, last_check = last_work;
  uint32_t sleep_us = opt.min_sleep_us, beat = 0;
  bool want_stats = false, want_check = false;
  // One pass of the loop. Every access to the area is in here and nothing in here holds a lock
  // or is half-way through an allocation when it touches the area, so a SIGBUS may abandon it.
  auto pass = [&] {
    if (server.step()) {
      last_work = tsc_now();
      sleep_us = opt.min_sleep_us;
      return;
    }
    uint64_t now = tsc_now();
    if ((++beat & 1023) == 0) st_rlx(h.heartbeat, ld_rlx(h.heartbeat) + 1);
    if (stats_ticks && now - last_stats >= stats_ticks) {
      last_stats = now;
      want_stats = true;
    }
    if (now - last_check >= check_ticks) {
      last_check = now;
      want_check = true;
    }
    if (now - last_work < spin_ticks) {
      cpu_relax();
      return;
    }
    // Going to sleep: announce it, full fence, re-check (the lost-wake-up window), then wait.
    uint32_t seen = ld_acq(h.wake);
    st_rlx(h.ring_flags, ld_rlx(h.ring_flags) | flag::NEED_WAKEUP);
    full_fence();
    if (server.step()) {
      st_rlx(h.ring_flags, ld_rlx(h.ring_flags) & ~flag::NEED_WAKEUP);
      last_work = tsc_now();
      return;
    }
    futex_wait(h.wake, seen, sleep_us);  // a truncated page: EFAULT at once, and the next access faults
    want_check = true;
    st_rlx(h.ring_flags, ld_rlx(h.ring_flags) & ~flag::NEED_WAKEUP);
    st_rlx(h.heartbeat, ld_rlx(h.heartbeat) + 1);
    bool woken = ld_acq(h.wake) != seen;
    if (woken) {
      last_work = tsc_now();  // a client is active: spin again
      sleep_us = opt.min_sleep_us;
    } else {
      sleep_us = std::min(opt.max_sleep_us, std::max(opt.min_sleep_us, sleep_us * 2));
    }
  };
  while (!server.halted() && !stop.load(std::memory_order_relaxed)) {
    if (!os::guard_mapped(server.base(), server.size(), pass)) {
      if (opt.check)
        if (auto s = opt.check(); !s) return s;
      return fail(Errc::MailboxError, "mailboxd: an access to the shared area faulted (SIGBUS); stopping");
    }
    if (want_stats) {
      want_stats = false;
      std::fputs(server.stats_table(tpn).c_str(), opt.stats_out);
      std::fflush(opt.stats_out);
    }
    if (want_check && opt.check) {
      want_check = false;
      if (auto s = opt.check(); !s) return s;
    }
  }
  return {};
}

}  // namespace pxos::mailbox
