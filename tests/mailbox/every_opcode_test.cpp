// every_opcode_test.cpp: every opcode and every SYSCALL of protocol.def, with good arguments,
// through each backend built (cpu always; webgpu on a real adapter, lavapipe in CI), the way
// mailboxd configures it (backend_config): each is served (COMPLETE, never BAD_OPCODE or
// BAD_SYSCALL), the webgpu backend gives the cpu table's replies, and its WGSL handler serves
// exactly the rows whose gpu column says device while deferring the host rows.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "mailbox/backends.hpp"
#include "mailbox/client.hpp"
#ifdef PXOS_MAILBOX_HAVE_WEBGPU
#include "../gpu/gpu_test_util.hpp"
#endif

using namespace pxos;
using namespace pxos::mailbox;

namespace {

constexpr uint32_t kGpuDesc = 0x20000, kBuf0 = 0x21000, kBuf1 = 0x22000;  // data-area offsets

struct Case {
  std::string name;  // "NOP", "SYSCALL ECHO", ...
  Sqe e;
  bool device = false;         // the table's gpu column for this command
  bool deterministic = true;   // the reply may be compared across backends
};

// The good command of each row: a row without a case here fails the test (add one).
std::optional<Sqe> good_command(uint8_t o, uint32_t free_off) {
  switch (o) {
    case op::UART_WRITE: return Sqe{make_cmd(o, 1, 'x'), 0, 0, 0};
    case op::UART_READ: return Sqe{make_cmd(o, 1, 0), 0, 0, 0};
    case op::GPU_EXECUTE: return Sqe{make_cmd(o, 1, 0), kGpuDesc, c::GPU_DESC_SIZE + 16, 0};
    case op::MMIO_READ: return Sqe{make_cmd(o, 1, 0), c::MMIO_BASE, 0, 0};
    case op::MMIO_WRITE: return Sqe{make_cmd(o, 1, 0), c::MMIO_BASE + 8, 0x1234, 0};
    case op::SYSCALL: return std::nullopt;  // one case per MB_SYS row below
    case op::ALLOC: return Sqe{make_cmd(o, 1, 0), 256, 0, 0};
    case op::FREE: return Sqe{make_cmd(o, 1, 0), free_off, 0, 0};
    case op::NOP: return Sqe{make_cmd(o, 1, 77), 0, 0, 0};
    case op::MODULE: return Sqe{make_cmd(o, 1, 0), 0, 0, 0};
    case op::HALT: return Sqe{make_cmd(o, 1, 0), 0, 0, 0};
  }
  ADD_FAILURE() << "opcode 0x" << std::hex << int(o) << " (" << op_name(o)
                << ") has a protocol.def row but no case in every_opcode_test.cpp";
  return std::nullopt;
}

std::vector<Case> all_cases(uint32_t free_off) {
  std::vector<Case> v;
  for (const Row& r : kRows) {
    if (r.kind == Kind::Op && r.value != op::HALT) {
      auto e = good_command(uint8_t(r.value), free_off);
      if (e) v.push_back({std::string(r.name), *e, r.device});
    } else if (r.kind == Kind::Sys) {
      bool det = r.value != sys::TIME_US && r.value != sys::RANDOM && r.value != sys::STATS;
      v.push_back({"SYSCALL " + std::string(r.name), Sqe{make_cmd(op::SYSCALL, 2, uint16_t(r.value)), 40, 2, 0},
                   r.device, det});
    }
  }
  v.push_back({"HALT", *good_command(op::HALT, 0), op_on_device(op::HALT)});  // last: the server stops
  for (size_t i = 0; i < v.size(); ++i) v[i].e.user_data = uint32_t(i);
  return v;
}

struct Served {
  std::vector<Cqe> cqes;
  uint64_t batch_served = 0;
  uint32_t buf0_after[4] = {};
};

// One backend, one area: ALLOC a block (v1) for FREE to free, the GPU_EXECUTE descriptor in the
// data area, then every case in one ring batch.
Served serve_all(std::string_view backend) {
  Served out;
  auto area = Area::anonymous();
  EXPECT_TRUE(area) << area.error().to_string();
  if (!area) return out;
  ServerConfig base;
  base.uart_out = -1;
  base.uart_in = -1;
  base.log = nullptr;
  base.modules = [](uint32_t n) -> std::optional<Result<BootModule>> {
    if (n > 0) return std::nullopt;
    BootModule m;
    m.pxbc = Bytes{'P', 'X', 'B', 'C'};
    return Result<BootModule>(m);
  };
  auto cfg = backend_config(backend, base);
  EXPECT_TRUE(cfg) << cfg.error().to_string();
  if (!cfg) return out;
  Server s(area->base(), area->size(), *cfg);
  s.start();
  Client cl(*area);
  uint8_t* b = area->base();
  // GPU_EXECUTE add_u32: buf0[i] += buf1[i]
  std::memset(b + kGpuDesc, 0, c::GPU_DESC_SIZE + 16);
  std::strcpy(reinterpret_cast<char*>(b + kGpuDesc), "add_u32");
  std::strcpy(reinterpret_cast<char*>(b + kGpuDesc + 32), "main");
  uint32_t words[4 + 4] = {1, 1, 1, 2, kBuf0, 16, kBuf1, 16};
  std::memcpy(b + kGpuDesc + 64, words, sizeof words);
  uint32_t x[4] = {1, 2, 3, 4}, y[4] = {10, 20, 30, 40};
  std::memcpy(b + kBuf0, x, 16);
  std::memcpy(b + kBuf1, y, 16);

  EXPECT_TRUE(cl.send(make_cmd(op::ALLOC, 0, 0), 64, 0));
  EXPECT_EQ(s.step(), 1u);
  auto a = cl.poll();
  EXPECT_TRUE(a && a->status == st::COMPLETE);
  uint32_t free_off = a ? a->resp : 0;

  auto cases = all_cases(free_off);
  for (const Case& k : cases) EXPECT_TRUE(cl.submit(k.e)) << k.name;
  cl.flush();
  size_t served = 0;
  for (int i = 0; i < 8 && served < cases.size(); ++i) served += s.step();
  EXPECT_EQ(served, cases.size()) << backend;
  out.cqes.resize(cases.size());
  EXPECT_EQ(cl.reap(out.cqes), cases.size());
  EXPECT_TRUE(s.halted()) << backend << ": HALT was served";
  out.batch_served = s.batch_served();
  std::memcpy(out.buf0_after, b + kBuf0, 16);
  return out;
}

void check_every_row_served(std::string_view backend, const Served& got, const std::vector<Case>& cases) {
  ASSERT_EQ(got.cqes.size(), cases.size());
  std::set<uint8_t> ops_seen;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& k = cases[i];
    const Cqe& q = got.cqes[i];
    ops_seen.insert(cmd_opcode(k.e.cmd));
    EXPECT_EQ(q.user_data, uint32_t(i)) << backend << " " << k.name << ": completions keep submission order";
    EXPECT_EQ(q.status, st::COMPLETE) << backend << " " << k.name << ": status 0x" << std::hex << q.status << " ("
                                      << err_name(q.status & st::CODE_MASK) << ")";
  }
  for (const Row& r : kRows) {
    if (r.kind != Kind::Op) continue;
    EXPECT_TRUE(ops_seen.count(uint8_t(r.value))) << backend << ": opcode " << r.name << " not sent";
  }
  // GPU_EXECUTE add_u32 ran: buf0 = x + y
  EXPECT_EQ(std::vector<uint32_t>(got.buf0_after, got.buf0_after + 4), (std::vector<uint32_t>{11, 22, 33, 44})) << backend;
}

uint64_t device_cases(const std::vector<Case>& cases) {
  uint64_t n = 0;
  for (const Case& k : cases) n += cmd_on_device(k.e.cmd);
  return n;
}

}  // namespace

TEST(MailboxEveryOpcode, TheGpuColumnIsWhatTheHelpersSay) {
  // The column drives op_on_device / sys_on_device / cmd_on_device; SYSCALL defers per number.
  for (const Row& r : kRows) {
    if (r.kind == Kind::Op) {
      EXPECT_EQ(op_on_device(uint8_t(r.value)), r.device) << r.name;
    }
    if (r.kind == Kind::Sys) {
      EXPECT_EQ(sys_on_device(r.value), r.device) << r.name;
      EXPECT_EQ(cmd_on_device(make_cmd(op::SYSCALL, 0, uint16_t(r.value))), r.device && op_on_device(op::SYSCALL)) << r.name;
    }
  }
  EXPECT_FALSE(op_on_device(0x42)) << "an opcode without a row is nobody's";
  EXPECT_FALSE(sys_on_device(999));
  // The WGSL prelude carries the column as mb_device_opcode / mb_device_syscall.
  std::string p = wgsl_prelude();
  EXPECT_NE(p.find("fn mb_device_opcode(v: u32) -> bool"), std::string::npos);
  EXPECT_NE(p.find("fn mb_device_syscall(v: u32) -> bool"), std::string::npos);
  EXPECT_NE(p.find("case MB_OP_SYSCALL, MB_OP_NOP: { dev = true; }"), std::string::npos) << p;
}

TEST(MailboxEveryOpcode, CpuServesEveryRow) {
  auto got = serve_all("cpu");
  check_every_row_served("cpu", got, all_cases(0));
  EXPECT_EQ(got.batch_served, 0u) << "the cpu backend has no batch handler";
}

TEST(MailboxEveryOpcode, UnbuiltBackendIsUnsupportedNotSilent) {
  for (std::string_view b : {"cpu", "webgpu", "cuda"}) {
    auto c = backend_config(b, ServerConfig{});
    EXPECT_EQ(bool(c), backend_built(b)) << b;
    if (!c) {
      EXPECT_EQ(c.error().code, Errc::Unsupported) << b;
    }
  }
  EXPECT_FALSE(backend_config("vulkan", ServerConfig{}));
}

#ifdef PXOS_MAILBOX_HAVE_WEBGPU
TEST(MailboxEveryOpcode, WebgpuServesEveryRowAsTheCpuDoes) {
  PXOS_REQUIRE_GPU();
  auto cpu = serve_all("cpu");
  auto gpu = serve_all("webgpu");
  auto cases = all_cases(0);
  check_every_row_served("webgpu", gpu, cases);
  ASSERT_EQ(cpu.cqes.size(), gpu.cqes.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(gpu.cqes[i].status, cpu.cqes[i].status) << cases[i].name;
    if (!cases[i].deterministic) continue;
    EXPECT_EQ(gpu.cqes[i].resp, cpu.cqes[i].resp) << cases[i].name;
    EXPECT_EQ(gpu.cqes[i].resp1, cpu.cqes[i].resp1) << cases[i].name;
  }
  // The WGSL handler served exactly the device rows; the host rows were deferred, not refused.
  uint64_t dev = device_cases(cases);
  EXPECT_GT(dev, 0u);
  EXPECT_LT(dev, cases.size());
  EXPECT_EQ(gpu.batch_served, dev);
}
#endif
