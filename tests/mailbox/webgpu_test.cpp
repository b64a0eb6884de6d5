// webgpu_test.cpp: the webgpu backend on a real WebGPU adapter (lavapipe in CI, the H100 via
// Vulkan): ring batches served by kernels/mailbox_runtime.wgsl, mixed with entries it defers
// to the host, keep order and give the same replies as the cpu table; GPU_EXECUTE runs an
// embedded WGSL kernel on buffers in the data area.
#include <gtest/gtest.h>

#include <cstring>

#include "../gpu/gpu_test_util.hpp"
#include "mailbox/backends.hpp"
#include "gpu/kernel_source.hpp"
#include "mailbox/client.hpp"

using namespace pxos;
using namespace pxos::mailbox;

TEST(MailboxWebgpu, TheEmbeddedPreludeIsTheTables) {
  // No GPU needed: the build embedded what pxos_mailbox_gen --wgsl writes from protocol.def.
  auto e = gpu::embedded_file("lib/mailbox_protocol.wgsl");
  ASSERT_TRUE(e.has_value()) << "lib/mailbox_protocol.wgsl was not embedded";
  EXPECT_EQ(std::string(*e), wgsl_prelude());
  auto k = gpu::load_kernel("mailbox_runtime");
  ASSERT_TRUE(k.has_value()) << k.error().to_string();
  EXPECT_NE(k->text.find("fn mb_known_opcode(v: u32) -> bool"), std::string::npos);
}

TEST(MailboxWebgpu, RingBatchThroughWgslMatchesTheCpuTable) {
  PXOS_REQUIRE_GPU();
  auto a = *Area::anonymous(), b = *Area::anonymous();
  ServerConfig cfg;
  cfg.uart_out = -1;
  cfg.log = nullptr;
  Server cpu(a.base(), a.size(), cfg);
  cfg.batch = webgpu_batch();
  Server gpu(b.base(), b.size(), cfg);
  cpu.start();
  gpu.start();
  Client ca(a), cb(b);
  std::vector<Sqe> batch;
  for (uint32_t i = 0; i < 150; ++i) {
    uint32_t k = i % 9;
    Sqe e{make_cmd(op::NOP, 1, uint16_t(i)), 0, 0, i};
    if (k == 1) e = {make_cmd(op::SYSCALL, 2, sys::ADD), i, 1000, i};
    if (k == 2) e = {make_cmd(op::SYSCALL, 2, sys::ECHO), i, ~i, i};
    if (k == 3) e = {make_cmd(0x42, 0, 0), 0, 0, i};                 // bad opcode
    if (k == 4) e = {make_cmd(op::NOP, 200, 0), 0, 0, i};            // bad thread
    if (k == 5) e = {make_cmd(op::ALLOC, 0, 0), 64, 0, i};           // deferred to the host
    if (k == 6) e = {make_cmd(op::SYSCALL, 0, 77), 0, 0, i};         // bad syscall
    if (k == 7) e = {make_cmd(op::MMIO_READ, 0, 0), c::MMIO_BASE, 0, i};  // deferred
    if (k == 8) e = {make_cmd(op::SYSCALL, 0, sys::VERSION), 0, 0, i};
    batch.push_back(e);
  }
  for (auto& e : batch) {
    ASSERT_TRUE(ca.submit(e));
    ASSERT_TRUE(cb.submit(e));
  }
  ca.flush();
  cb.flush();
  EXPECT_EQ(cpu.step(), batch.size());
  EXPECT_EQ(gpu.step(), batch.size());
  std::vector<Cqe> oa(256), ob(256);
  ASSERT_EQ(ca.reap(oa), batch.size());
  ASSERT_EQ(cb.reap(ob), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(ob[i].user_data, uint32_t(i));
    EXPECT_EQ(ob[i].status, oa[i].status) << i;
    EXPECT_EQ(ob[i].resp, oa[i].resp) << i;
    EXPECT_EQ(ob[i].resp1, oa[i].resp1) << i;
  }
  EXPECT_EQ(gpu.faults(), cpu.faults());
  // Everything but ALLOC and MMIO_READ (2 of every 9) was answered by the WGSL handler.
  EXPECT_EQ(gpu.batch_served(), batch.size() - 2 * (batch.size() / 9) - (batch.size() % 9 > 5 ? 1 : 0) -
                                    (batch.size() % 9 > 7 ? 1 : 0));
  EXPECT_EQ(cpu.batch_served(), 0u);
}

TEST(MailboxWebgpu, GpuExecuteRunsAnEmbeddedWgslKernel) {
  PXOS_REQUIRE_GPU();
  auto a = *Area::anonymous();
  ServerConfig cfg;
  cfg.uart_out = -1;
  cfg.log = nullptr;
  cfg.gpu = webgpu_exec();
  Server s(a.base(), a.size(), cfg);
  s.start();
  uint8_t* base = a.base();
  float x[5] = {-1, 2, -3, 4, 0.5f};
  uint32_t dims[4] = {1, 5, 0, 0};  // RowDims: rows cols eps alpha
  std::memcpy(base + 0x21000, x, 20);
  std::memset(base + 0x22000, 0xFF, 20);
  std::memcpy(base + 0x23000, dims, 16);
  uint8_t* d = base + 0x20000;
  std::memset(d, 0, 128);
  std::strcpy(reinterpret_cast<char*>(d), "activations");
  std::strcpy(reinterpret_cast<char*>(d + 32), "relu");
  uint32_t w[4] = {1, 1, 1, 3}, bufs[6] = {0x21000, 20, 0x22000, 20, 0x23000, 16};
  std::memcpy(d + 64, w, 16);
  std::memcpy(d + 80, bufs, 24);
  Client cl(a);
  ASSERT_TRUE(cl.send(make_cmd(op::GPU_EXECUTE, 0, 0), 0x20000, 104));
  EXPECT_EQ(s.step(), 1u);
  auto r = cl.poll();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, st::COMPLETE);
  float y[5];
  std::memcpy(y, base + 0x22000, 20);
  EXPECT_EQ(std::vector<float>(y, y + 5), (std::vector<float>{0, 2, 0, 4, 0.5f}));
}
