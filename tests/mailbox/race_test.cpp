// race_test.cpp: data-area hand-offs between a client and a live serving thread, written and
// read with plain (non-atomic) memcpy, so that only the protocol's release/acquire edges
// (DOORBELL for v1, SQ_TAIL/CQ_TAIL for the rings) order them. Under `make check-tsan` a
// missing or weakened edge is a reported data race; in other builds these are plain tests.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "mailbox/area.hpp"
#include "mailbox/client.hpp"
#include "mailbox/serve.hpp"
#include "mailbox/server.hpp"

using namespace pxos;
using namespace pxos::mailbox;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kWords = 16;                    // u32 per buffer
constexpr uint32_t kSlot = 0x400;                  // data-area bytes per in-flight command
constexpr uint32_t kDesc = c::GPU_DESC_SIZE + 16;  // add_u32: two buffers

// Lays out one add_u32 command in slot `k`: descriptor, x[i] = seed + i, y[i] = 3 * i.
uint32_t put_add(Client& cl, uint32_t k, uint32_t seed) {
  uint32_t base = c::DATA_OFFSET + k * kSlot, x = base + 0x100, y = base + 0x200;
  uint8_t d[kDesc] = {};
  std::memcpy(d, "add_u32", 7);
  uint32_t w[8] = {1, 1, 1, 2, x, kWords * 4, y, kWords * 4};
  std::memcpy(d + 64, w, sizeof w);
  uint32_t xs[kWords], ys[kWords];
  for (uint32_t i = 0; i < kWords; ++i) xs[i] = seed + i, ys[i] = 3 * i;
  EXPECT_TRUE(cl.write_data(base, ByteView(d, sizeof d)));
  EXPECT_TRUE(cl.write_data(x, ByteView(reinterpret_cast<uint8_t*>(xs), sizeof xs)));
  EXPECT_TRUE(cl.write_data(y, ByteView(reinterpret_cast<uint8_t*>(ys), sizeof ys)));
  return base;
}

// The served result in slot `k`: x[i] == seed + 4 * i.
void check_add(Client& cl, uint32_t k, uint32_t seed) {
  auto got = cl.read_data(c::DATA_OFFSET + k * kSlot + 0x100, kWords * 4);
  ASSERT_TRUE(got);
  for (uint32_t i = 0; i < kWords; ++i) {
    uint32_t v;
    std::memcpy(&v, got->data() + 4 * i, 4);
    ASSERT_EQ(v, seed + 4 * i) << "slot " << k << " word " << i;
  }
}

struct Live {
  Area area = *Area::anonymous();
  std::unique_ptr<Server> server;
  std::atomic<bool> stop{false};
  std::thread t;
  Live() {
    ServerConfig cfg;
    cfg.uart_out = -1;
    cfg.uart_in = -1;
    cfg.log = nullptr;
    cfg.gpu = cpu_gpu_exec;
    server = std::make_unique<Server>(area.base(), area.size(), cfg);
    server->start();
    LoopOptions lo;
    lo.spin_us = 5;  // fall asleep between commands now and then: the wake-up path runs too
    lo.min_sleep_us = 50;
    lo.max_sleep_us = 200;
    t = std::thread([this, lo] { serve(*server, lo, stop); });
  }
  ~Live() {
    stop = true;
    t.join();
  }
};

}  // namespace

TEST(MailboxRace, V1DataAreaHandOff) {
  Live L;
  Client cl(L.area);
  for (uint32_t i = 0; i < 300; ++i) {
    uint32_t desc = put_add(cl, 0, i * 1000);
    auto r = cl.call(make_cmd(op::GPU_EXECUTE, 0, 0), desc, kDesc, 10s);
    ASSERT_TRUE(r) << "iteration " << i;
    ASSERT_EQ(r->status, st::COMPLETE);
    check_add(cl, 0, i * 1000);
  }
}

TEST(MailboxRace, RingDataAreaHandOff) {
  Live L;
  Client cl(L.area);
  std::vector<Cqe> out(c::RING_ENTRIES);
  uint32_t seed = 0;
  for (uint32_t round = 0; round < 60; ++round) {
    uint32_t n = 1 + round % 16;  // a batch of n commands, each on its own data-area slot
    for (uint32_t k = 0; k < n; ++k) {
      uint32_t desc = put_add(cl, k, seed + k * 100);
      ASSERT_TRUE(cl.submit({make_cmd(op::GPU_EXECUTE, 0, 0), desc, kDesc, k}));
    }
    cl.flush();
    size_t got = 0;
    while (got < n) {
      auto m = cl.wait(std::span<Cqe>(out.data() + got, n - got), 1, 10s);
      ASSERT_TRUE(m) << "round " << round;
      got += *m;
    }
    for (uint32_t k = 0; k < n; ++k) {
      ASSERT_EQ(out[k].user_data, k);
      ASSERT_EQ(out[k].status, st::COMPLETE);
      check_add(cl, k, seed + k * 100);
    }
    seed += 7919;
  }
}
