// serve.hpp: the cpu backend's serving loop: spin on step() for --spin-us after the last
// command, then back off with NEED_WAKEUP + futex sleeps (50 µs doubling to --max-sleep-us).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>

#include "mailbox/server.hpp"

namespace pxos::mailbox {

struct LoopOptions {
  uint32_t spin_us = 50;          // busy-poll this long after the last command
  uint32_t max_sleep_us = 4000;   // longest back-off sleep: bounds latency for clients that cannot futex-wake (a guest)
  uint32_t min_sleep_us = 50;     // first back-off sleep; doubles up to max_sleep_us
  double stats_every_s = 0;       // print the stats table this often (0: never while running)
  FILE* stats_out = stderr;
};

// Serves until the server halts or `stop` becomes true. `step` defaults to server.step().
void serve(Server& server, const LoopOptions& opt, const std::atomic<bool>& stop);

}  // namespace pxos::mailbox
