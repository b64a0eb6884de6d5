// serve.hpp: the cpu backend's serving loop: spin on step() for --spin-us after the last
// command, then back off with NEED_WAKEUP + futex sleeps (50 µs doubling to --max-sleep-us).
// A shared file truncated under it stops it with an error, not a SIGBUS death.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>

#include "common/error.hpp"

#include "mailbox/server.hpp"

namespace pxos::mailbox {

struct LoopOptions {
  uint32_t spin_us = 50;          // busy-poll this long after the last command
  uint32_t max_sleep_us = 4000;   // longest back-off sleep: bounds latency for clients that cannot futex-wake (a guest)
  uint32_t min_sleep_us = 50;     // first back-off sleep; doubles up to max_sleep_us
  double stats_every_s = 0;       // print the stats table this often (0: never while running)
  FILE* stats_out = stderr;
  // Is the area still whole? (Area::check_size.) Asked after every sleep, about once a
  // millisecond while spinning, and after an access faulted; an error stops serving.
  std::function<Status()> check;
};

// Serves until the server halts or `stop` becomes true. Every access to the area is guarded
// (os::guard_mapped): a file truncated under the server makes this return check()'s error
// (or a MailboxError) instead of the process dying of SIGBUS.
Status serve(Server& server, const LoopOptions& opt, const std::atomic<bool>& stop);

}  // namespace pxos::mailbox
