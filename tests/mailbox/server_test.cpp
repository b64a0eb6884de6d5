// server_test.cpp: mailboxd's server and client in one process: every opcode, the v1
// handshake, rings (batching, full rings, user_data), the allocator, and the bad inputs of
// issue 7 (garbage registers, corrupt ring indices, out-of-range offsets, dead clients,
// restarted servers), plus the NEED_WAKEUP sleep/wake handshake under a real serving thread,
// and issue 19.5: a served file truncated, served twice, or not a mailbox at all.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "common/os.hpp"
#include "mailbox/allocator.hpp"
#include "mailbox/area.hpp"
#include "mailbox/client.hpp"
#include "mailbox/serve.hpp"
#include "mailbox/server.hpp"

using namespace pxos;
using namespace pxos::mailbox;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  Area area = *Area::anonymous();
  int out[2]{-1, -1}, in[2]{-1, -1};
  std::unique_ptr<Server> server;
  Fixture(GpuExec gpu = cpu_gpu_exec) {
    EXPECT_EQ(pipe(out), 0);
    EXPECT_EQ(pipe(in), 0);
    ServerConfig cfg;
    cfg.uart_out = out[1];
    cfg.uart_in = in[0];
    cfg.gpu = std::move(gpu);
    cfg.log = nullptr;
    server = std::make_unique<Server>(area.base(), area.size(), cfg);
    server->start();
  }
  ~Fixture() {
    for (int fd : {out[0], out[1], in[0], in[1]}) close(fd);
  }
  Header& h() { return area.header(); }
  // One v1 command, served synchronously.
  Reply v1(uint32_t cmd, uint32_t a0 = 0, uint32_t a1 = 0) {
    Client cl(area);
    EXPECT_TRUE(cl.send(cmd, a0, a1, 10ms));
    EXPECT_EQ(server->step(), 1u);
    auto r = cl.poll(10ms);
    EXPECT_TRUE(r.has_value());
    return r.value_or(Reply{});
  }
  std::string uart_output() {
    std::string s(4096, '\0');
    ssize_t n = read(out[0], s.data(), s.size());
    s.resize(n > 0 ? size_t(n) : 0);
    return s;
  }
};

uint16_t code_of(const Reply& r) { return (r.status & st::ERROR) ? uint16_t(r.status & st::CODE_MASK) : 0; }
constexpr uint32_t cmd(uint8_t o, uint16_t p = 0, uint8_t t = 0) { return make_cmd(o, t, p); }

}  // namespace

TEST(MailboxServer, StartWritesHeaderAndReady) {
  Fixture f;
  EXPECT_EQ(f.h().magic, c::MAGIC);
  EXPECT_EQ(f.h().version, c::VERSION);
  EXPECT_EQ(f.h().status, st::READY);
  EXPECT_EQ(f.h().size, c::MIN_SIZE);
  EXPECT_EQ(f.h().data_size, c::MIN_SIZE - c::DATA_OFFSET);
  EXPECT_EQ(f.h().epoch, 1u);
  EXPECT_EQ(f.server->step(), 0u);  // nothing rung: nothing served
}

TEST(MailboxServer, V1HandshakeNopAndDoorbell) {
  Fixture f;
  Client cl(f.area);
  ASSERT_TRUE(cl.send(cmd(op::NOP, 0x1234, 7), 0, 0, 10ms));
  EXPECT_EQ(f.h().doorbell, 1u);
  EXPECT_FALSE(cl.send(cmd(op::NOP), 0, 0, 1ms));  // slot busy: one command in flight
  EXPECT_EQ(f.server->step(), 1u);
  EXPECT_EQ(f.h().doorbell, 0u);
  auto r = cl.poll(10ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, st::COMPLETE);
  EXPECT_EQ(r->resp, 0x1234u);
  EXPECT_EQ(f.h().served, 1u);
}

TEST(MailboxServer, UartWriteByteAndBuffer) {
  Fixture f;
  EXPECT_EQ(f.v1(cmd(op::UART_WRITE, 'h')).resp, 1u);
  EXPECT_EQ(f.v1(cmd(op::UART_WRITE, 'i')).resp, 1u);
  const char msg[] = "hello, mailbox";
  std::memcpy(f.area.base() + 0x20000, msg, sizeof msg - 1);
  Reply r = f.v1(cmd(op::UART_WRITE, c::BUF_FLAG), 0x20000, sizeof msg - 1);
  EXPECT_EQ(r.status, st::COMPLETE);
  EXPECT_EQ(r.resp, sizeof msg - 1);
  EXPECT_EQ(f.uart_output(), "hi" + std::string(msg));
  // out of range: before the data area, past the end, and an overflowing length
  EXPECT_EQ(code_of(f.v1(cmd(op::UART_WRITE, c::BUF_FLAG), 0x10, 4)), err::OUT_OF_RANGE);
  EXPECT_EQ(code_of(f.v1(cmd(op::UART_WRITE, c::BUF_FLAG), c::MIN_SIZE - 2, 4)), err::OUT_OF_RANGE);
  EXPECT_EQ(code_of(f.v1(cmd(op::UART_WRITE, c::BUF_FLAG), c::DATA_OFFSET, 0xFFFFFFFF)), err::OUT_OF_RANGE);
  EXPECT_EQ(code_of(f.v1(cmd(op::UART_WRITE, 0x1FF))), err::BAD_ARG);
  EXPECT_EQ(f.h().last_fault, err::BAD_ARG);
  EXPECT_EQ(f.h().faults, 4u);
}

TEST(MailboxServer, UartReadNonBlocking) {
  Fixture f;
  EXPECT_EQ(f.v1(cmd(op::UART_READ)).resp, c::UART_NONE);
  ASSERT_EQ(write(f.in[1], "xyz!", 4), 4);
  EXPECT_EQ(f.v1(cmd(op::UART_READ)).resp, uint32_t('x'));
  Reply r = f.v1(cmd(op::UART_READ, c::BUF_FLAG), 0x30000, 16);
  EXPECT_EQ(r.resp, 3u);
  EXPECT_EQ(std::memcmp(f.area.base() + 0x30000, "yz!", 3), 0);
  EXPECT_EQ(code_of(f.v1(cmd(op::UART_READ, c::BUF_FLAG), 0xFFFF0, 0x100)), err::OUT_OF_RANGE);
  EXPECT_EQ(code_of(f.v1(cmd(op::UART_READ, 3))), err::BAD_ARG);
}

TEST(MailboxServer, AllocFreeDoubleFreeAndExhaustion) {
  Fixture f;
  Reply a = f.v1(cmd(op::ALLOC), 100);
  Reply b = f.v1(cmd(op::ALLOC), 1);
  ASSERT_EQ(a.status, st::COMPLETE);
  ASSERT_EQ(b.status, st::COMPLETE);
  EXPECT_EQ(a.resp % c::ALLOC_ALIGN, 0u);
  EXPECT_GE(a.resp, c::DATA_OFFSET);
  EXPECT_GE(b.resp, a.resp + 100);
  EXPECT_EQ(f.v1(cmd(op::FREE), a.resp).resp, 128u);
  EXPECT_EQ(code_of(f.v1(cmd(op::FREE), a.resp)), err::BAD_FREE);       // double free
  EXPECT_EQ(code_of(f.v1(cmd(op::FREE), b.resp + 64)), err::BAD_FREE);  // never allocated
  EXPECT_EQ(code_of(f.v1(cmd(op::ALLOC), 0)), err::BAD_ARG);
  EXPECT_EQ(code_of(f.v1(cmd(op::ALLOC), c::MIN_SIZE)), err::NO_MEMORY);
  EXPECT_EQ(f.v1(cmd(op::FREE), b.resp).status, st::COMPLETE);
  // Everything free again: the whole data area in one block.
  Reply all = f.v1(cmd(op::ALLOC), c::MIN_SIZE - c::DATA_OFFSET);
  EXPECT_EQ(all.status, st::COMPLETE);
  EXPECT_EQ(all.resp, c::DATA_OFFSET);
  EXPECT_TRUE(f.server->allocator().check());
}

TEST(MailboxServer, MmioOnlyInsideTheWindow) {
  Fixture f;
  EXPECT_EQ(f.v1(cmd(op::MMIO_READ), c::MMIO_BASE).resp, c::MAGIC);
  EXPECT_EQ(f.v1(cmd(op::MMIO_READ), c::MMIO_BASE + 4).resp, c::MMIO_SIZE);
  EXPECT_EQ(f.v1(cmd(op::MMIO_WRITE), c::MMIO_BASE + 0x10, 0xCAFEF00D).status, st::COMPLETE);
  EXPECT_EQ(f.v1(cmd(op::MMIO_READ), c::MMIO_BASE + 0x10).resp, 0xCAFEF00Du);
  f.v1(cmd(op::MMIO_WRITE), c::MMIO_BASE, 1);  // read-only word
  EXPECT_EQ(f.v1(cmd(op::MMIO_READ), c::MMIO_BASE).resp, c::MAGIC);
  EXPECT_EQ(f.v1(cmd(op::MMIO_READ), c::MMIO_BASE + c::MMIO_SIZE - 4).status, st::COMPLETE);
  for (uint32_t bad : {c::MMIO_BASE - 4, c::MMIO_BASE + c::MMIO_SIZE, c::MMIO_BASE + 2, 0u, 0xFFFFFFFCu}) {
    EXPECT_EQ(code_of(f.v1(cmd(op::MMIO_READ), bad)), err::MMIO_DENIED) << std::hex << bad;
    EXPECT_EQ(code_of(f.v1(cmd(op::MMIO_WRITE), bad, 5)), err::MMIO_DENIED) << std::hex << bad;
  }
}

TEST(MailboxServer, SyscallTable) {
  Fixture f;
  Reply v = f.v1(cmd(op::SYSCALL, sys::VERSION));
  EXPECT_EQ(v.resp, c::VERSION);
  EXPECT_EQ(v.resp1, c::MAGIC);
  Reply e = f.v1(cmd(op::SYSCALL, sys::ECHO), 11, 22);
  EXPECT_EQ(e.resp, 11u);
  EXPECT_EQ(e.resp1, 22u);
  EXPECT_EQ(f.v1(cmd(op::SYSCALL, sys::ADD), 0xFFFFFFFF, 3).resp, 2u);
  Reply t0 = f.v1(cmd(op::SYSCALL, sys::TIME_US));
  Reply t1 = f.v1(cmd(op::SYSCALL, sys::TIME_US));
  EXPECT_GE((uint64_t(t1.resp1) << 32 | t1.resp), (uint64_t(t0.resp1) << 32 | t0.resp));
  Reply r0 = f.v1(cmd(op::SYSCALL, sys::RANDOM)), r1 = f.v1(cmd(op::SYSCALL, sys::RANDOM));
  EXPECT_NE(uint64_t(r0.resp1) << 32 | r0.resp, uint64_t(r1.resp1) << 32 | r1.resp);
  EXPECT_EQ(f.v1(cmd(op::SYSCALL, sys::STATS)).resp, 7u);  // 7 served before this one
  EXPECT_EQ(code_of(f.v1(cmd(op::SYSCALL, sys::STATS + 1))), err::BAD_SYSCALL);
  EXPECT_EQ(code_of(f.v1(cmd(op::SYSCALL, 0xFFFF))), err::BAD_SYSCALL);
  for (uint32_t n = 0; n < 0x10000; n += n < 64 ? 1 : 257) {  // a row is served, any other number refused
    bool row = false;
    for (const Row& r : kRows) row |= r.kind == Kind::Sys && r.value == n;
    EXPECT_EQ(sys_known(n), row) << n;
    EXPECT_EQ(code_of(f.v1(cmd(op::SYSCALL, uint16_t(n)))) == err::BAD_SYSCALL, !row) << n;
  }
}

namespace {
void put_desc(uint8_t* p, const char* kernel, uint32_t wgx, std::vector<std::pair<uint32_t, uint32_t>> bufs) {
  std::memset(p, 0, c::GPU_DESC_SIZE + 8 * bufs.size());
  std::strncpy(reinterpret_cast<char*>(p), kernel, 31);
  uint32_t w[4] = {wgx, 1, 1, uint32_t(bufs.size())};
  std::memcpy(p + 64, w, 16);
  for (size_t i = 0; i < bufs.size(); ++i) std::memcpy(p + 80 + 8 * i, &bufs[i], 8);
}
}  // namespace

TEST(MailboxServer, GpuExecuteCpuReferenceAndBadDescriptors) {
  Fixture f;
  uint8_t* b = f.area.base();
  std::vector<uint32_t> x(64), y(64);
  for (uint32_t i = 0; i < 64; ++i) x[i] = i, y[i] = 1000 + 2 * i;
  std::memcpy(b + 0x21000, x.data(), 256);
  std::memcpy(b + 0x22000, y.data(), 256);
  put_desc(b + 0x20000, "add_u32", 1, {{0x21000, 256}, {0x22000, 256}});
  Reply r = f.v1(cmd(op::GPU_EXECUTE), 0x20000, c::GPU_DESC_SIZE + 16);
  ASSERT_EQ(r.status, st::COMPLETE);
  for (uint32_t i = 0; i < 64; ++i) {
    uint32_t v;
    std::memcpy(&v, b + 0x21000 + 4 * i, 4);
    EXPECT_EQ(v, 1000 + 3 * i);
  }
  put_desc(b + 0x20000, "no_such_kernel", 1, {{0x21000, 256}});
  EXPECT_EQ(code_of(f.v1(cmd(op::GPU_EXECUTE), 0x20000, 96)), err::GPU_FAILED);
  put_desc(b + 0x20000, "fill_u32", 7, {{0x1000, 256}});  // buffer over the rings
  EXPECT_EQ(code_of(f.v1(cmd(op::GPU_EXECUTE), 0x20000, 96)), err::OUT_OF_RANGE);
  put_desc(b + 0x20000, "fill_u32", 7, {{c::MIN_SIZE - 4, 8}});  // runs off the end
  EXPECT_EQ(code_of(f.v1(cmd(op::GPU_EXECUTE), 0x20000, 96)), err::OUT_OF_RANGE);
  put_desc(b + 0x20000, "fill_u32", 7, {});  // no buffers
  EXPECT_EQ(code_of(f.v1(cmd(op::GPU_EXECUTE), 0x20000, 96)), err::BAD_ARG);
  EXPECT_EQ(code_of(f.v1(cmd(op::GPU_EXECUTE), 0x20000, 10)), err::OUT_OF_RANGE);  // short descriptor
  EXPECT_EQ(code_of(f.v1(cmd(op::GPU_EXECUTE), 0x8, 96)), err::OUT_OF_RANGE);
  Fixture nogpu(GpuExec{});
  EXPECT_EQ(code_of(nogpu.v1(cmd(op::GPU_EXECUTE), 0x20000, 96)), err::UNSUPPORTED);
}

TEST(MailboxServer, UnknownOpcodesAndThreadsKeepServing) {
  Fixture f;
  for (int o = 0; o < 256; ++o) {
    bool known = false;
    for (const Row& r : kRows) known |= r.kind == Kind::Op && r.value == uint32_t(o);
    EXPECT_EQ(known, op_known(uint8_t(o))) << o;
    if (known) continue;
    EXPECT_EQ(code_of(f.v1(cmd(uint8_t(o), 0xFFFF, 3))), err::BAD_OPCODE) << o;
  }
  EXPECT_EQ(code_of(f.v1(cmd(op::NOP, 0, c::MAX_THREADS))), err::BAD_THREAD);
  EXPECT_EQ(code_of(f.v1(cmd(op::NOP, 0, 0xFF))), err::BAD_THREAD);
  EXPECT_EQ(f.v1(cmd(op::NOP, 5, c::MAX_THREADS - 1)).resp, 5u);
  EXPECT_FALSE(f.server->halted());
}

TEST(MailboxServer, HaltCompletesThenStops) {
  Fixture f;
  Reply r = f.v1(cmd(op::HALT));
  EXPECT_EQ(r.status, st::COMPLETE);
  EXPECT_TRUE(f.server->halted());
  Client cl(f.area);
  ASSERT_TRUE(cl.send(cmd(op::NOP)));
  EXPECT_EQ(f.server->step(), 0u);  // a halted server serves nothing more
}

TEST(MailboxServer, GarbageDoorbellAndRegisters) {
  Fixture f;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Header& h = f.h();
    h.cmd = rng(); h.arg0 = rng(); h.arg1 = rng();
    h.doorbell = (i % 3 == 0) ? rng() | 2 : 1;  // sometimes a doorbell that is neither 0 nor 1
    if ((f.h().cmd >> 24) == op::HALT) h.cmd ^= 0x01000000;  // keep it serving
    EXPECT_EQ(f.server->step_v1(), 1u);
    EXPECT_EQ(h.doorbell, 0u);
    if (i % 3 == 0) {
      EXPECT_EQ(h.status, error_status(err::BAD_DOORBELL));
    }
  }
  EXPECT_EQ(f.v1(cmd(op::NOP, 9)).resp, 9u);  // still serving
  EXPECT_GT(f.server->faults(), 600u);
}

TEST(MailboxRing, BatchesKeepOrderAndUserData) {
  Fixture f;
  Client cl(f.area);
  std::vector<Cqe> out(c::RING_ENTRIES);
  uint32_t next = 0, seen = 0;
  for (int batch : {1, 8, 64, 256, 3}) {
    for (int i = 0; i < batch; ++i, ++next) ASSERT_TRUE(cl.submit({cmd(op::SYSCALL, sys::ADD), next, 1, next}));
    cl.flush();
    EXPECT_EQ(f.server->step(), size_t(batch));
    size_t n = cl.reap(out);
    ASSERT_EQ(n, size_t(batch));
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(out[i].user_data, seen);
      EXPECT_EQ(out[i].status, st::COMPLETE);
      EXPECT_EQ(out[i].resp, seen + 1);
      ++seen;
    }
  }
  EXPECT_EQ(f.h().sq_head, next);
  EXPECT_EQ(f.h().cq_tail, next);
}

TEST(MailboxRing, FullRingsRefuseAndCompletionsWaitForRoom) {
  Fixture f;
  Client cl(f.area);
  for (uint32_t i = 0; i < c::RING_ENTRIES; ++i) ASSERT_TRUE(cl.submit({cmd(op::NOP, 1), 0, 0, i}));
  EXPECT_FALSE(cl.submit({cmd(op::NOP), 0, 0, 999}));  // SQ full
  cl.flush();
  EXPECT_EQ(f.server->step(), c::RING_ENTRIES);
  EXPECT_FALSE(cl.submit({cmd(op::NOP), 0, 0, 999}));  // CQ full: nothing reaped yet
  // A raw client that ignores CQ room: the server holds its submissions until we reap.
  Header& h = f.h();
  Layout& L = f.area.layout();
  L.sq[h.sq_tail & c::RING_MASK] = Sqe{cmd(op::NOP, 2), 0, 0, 4242};
  st_rel(h.sq_tail, h.sq_tail + 1);
  EXPECT_EQ(f.server->step(), 0u);
  std::vector<Cqe> out(300);
  EXPECT_EQ(cl.reap(out), c::RING_ENTRIES);
  EXPECT_EQ(f.server->step(), 1u);
}

TEST(MailboxRing, CorruptIndicesAreFaultsNotCrashes) {
  Fixture f;
  Header& h = f.h();
  // backwards
  st_rel(h.sq_tail, h.sq_head - 1);
  EXPECT_EQ(f.server->step(), 0u);
  EXPECT_EQ(h.last_fault, err::RING_CORRUPT);
  EXPECT_TRUE(h.ring_flags & flag::SQ_FAULT);
  EXPECT_EQ(h.sq_head, h.sq_tail);  // resynchronised: the bad span is dropped
  // past the size
  st_rel(h.sq_tail, h.sq_head + c::RING_ENTRIES + 1);
  EXPECT_EQ(f.server->step(), 0u);
  EXPECT_EQ(h.sq_head, h.sq_tail);
  uint64_t faults = f.server->faults();
  EXPECT_EQ(faults, 2u);
  // the ring still works after a resync
  Client cl(f.area);
  ASSERT_TRUE(cl.submit({cmd(op::NOP, 3), 0, 0, 77}));
  cl.flush();
  EXPECT_EQ(f.server->step(), 1u);
  std::vector<Cqe> out(4);
  ASSERT_EQ(cl.reap(out), 1u);
  EXPECT_EQ(out[0].user_data, 77u);
  // CQ_HEAD garbage: completions are held (not written over unread ones), then released
  uint32_t good = h.cq_head;
  st_rel(h.cq_head, good + 5000);
  ASSERT_TRUE(cl.submit({cmd(op::NOP, 4), 0, 0, 78}));
  cl.flush();
  EXPECT_EQ(f.server->step(), 0u);
  EXPECT_TRUE(h.ring_flags & flag::CQ_FAULT);
  st_rel(h.cq_head, good);
  EXPECT_EQ(f.server->step(), 1u);
  EXPECT_FALSE(h.ring_flags & flag::CQ_FAULT);
  ASSERT_EQ(cl.reap(out), 1u);
  EXPECT_EQ(out[0].user_data, 78u);
  // payload offsets outside the area through the ring
  ASSERT_TRUE(cl.submit({cmd(op::UART_WRITE, c::BUF_FLAG), 0xFFFFFFF0, 0x100, 79}));
  cl.flush();
  f.server->step();
  ASSERT_EQ(cl.reap(out), 1u);
  EXPECT_EQ(code_of(Reply{out[0].status, 0, 0}), err::OUT_OF_RANGE);
}

TEST(MailboxRing, ServerNeverWritesOutsideTheArea) {
  // The area sits between two PROT_NONE guard pages: any stray access faults the test.
  size_t pg = 4096, sz = c::MIN_SIZE;
  auto* raw = static_cast<uint8_t*>(mmap(nullptr, sz + 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(raw, MAP_FAILED);
  mprotect(raw, pg, PROT_NONE);
  mprotect(raw + pg + sz, pg, PROT_NONE);
  uint8_t* base = raw + pg;
  std::mt19937 rng(11);
  ServerConfig cfg;
  cfg.uart_out = -1;
  cfg.uart_in = -1;
  cfg.log = nullptr;
  cfg.gpu = cpu_gpu_exec;
  for (int round = 0; round < 200; ++round) {
    auto* w = reinterpret_cast<uint32_t*>(base);
    for (size_t i = 0; i < c::CQ_OFFSET / 4 + c::RING_ENTRIES * 4; ++i) w[i] = rng();
    // make some commands well-formed-ish so deeper paths run
    for (uint32_t i = 0; i < c::RING_ENTRIES; ++i) {
      Sqe& s = reinterpret_cast<Layout*>(base)->sq[i];
      s.cmd = make_cmd(uint8_t(0x80 + rng() % 16), uint8_t(rng() % 80), uint16_t(rng()));
      if ((s.cmd >> 24) == op::HALT) s.cmd = make_cmd(op::NOP, 0, 0);
      if (rng() % 2) s.arg0 = c::DATA_OFFSET + rng() % (sz - c::DATA_OFFSET);
    }
    Server s(base, sz, cfg);
    s.start();
    Header& h = *reinterpret_cast<Header*>(base);
    for (int k = 0; k < 4; ++k) {
      h.sq_tail = h.sq_head + rng() % (c::RING_ENTRIES + 8);
      h.cq_head = h.cq_tail - rng() % 4;
      s.step();
    }
  }
  munmap(raw, sz + 2 * pg);
}

TEST(MailboxRobust, ClientDiesMidCommand) {
  Fixture f;
  // 1. dies after ringing: the command still completes and the slot is free again
  pid_t p = fork();
  if (p == 0) {
    Client cl(f.area);
    (void)cl.send(cmd(op::UART_WRITE, 'Z'));
    _exit(0);
  }
  int stv = 0;
  waitpid(p, &stv, 0);
  EXPECT_EQ(f.server->step(), 1u);
  EXPECT_EQ(f.h().doorbell, 0u);
  EXPECT_EQ(f.uart_output(), "Z");
  // 2. dies after writing CMD but before ringing: nothing is served
  p = fork();
  if (p == 0) {
    f.h().cmd = cmd(op::UART_WRITE, 'Q');
    _exit(0);
  }
  waitpid(p, &stv, 0);
  EXPECT_EQ(f.server->step(), 0u);
  // 3. dies with ring entries in flight and unreaped completions: a new client takes them over
  p = fork();
  if (p == 0) {
    Client cl(f.area);
    for (uint32_t i = 0; i < 5; ++i) (void)cl.submit({cmd(op::NOP, 1), 0, 0, 100 + i});
    cl.flush();
    (void)cl.submit({cmd(op::NOP, 1), 0, 0, 666});  // queued, never published
    _exit(0);
  }
  waitpid(p, &stv, 0);
  EXPECT_EQ(f.server->step(), 5u);
  Client next(f.area);
  std::vector<Cqe> out(16);
  ASSERT_EQ(next.reap(out), 5u);
  EXPECT_EQ(out[4].user_data, 104u);
  EXPECT_EQ(f.v1(cmd(op::NOP, 1)).status, st::COMPLETE);
}

TEST(MailboxRobust, ServerRestartedUnderALiveClient) {
  Fixture f;
  Client cl(f.area);
  ASSERT_TRUE(cl.submit({cmd(op::NOP, 1), 0, 0, 1}));
  cl.flush();
  EXPECT_EQ(f.server->step(), 1u);
  // In flight when the server "dies": a v1 command and two ring entries.
  ASSERT_TRUE(cl.send(cmd(op::SYSCALL, sys::ADD), 40, 2));
  ASSERT_TRUE(cl.submit({cmd(op::NOP, 1), 0, 0, 2}));
  ASSERT_TRUE(cl.submit({cmd(op::NOP, 1), 0, 0, 3}));
  cl.flush();
  f.server.reset();
  ServerConfig cfg;
  cfg.uart_out = -1;
  cfg.log = nullptr;
  Server again(f.area.base(), f.area.size(), cfg);
  again.start();
  EXPECT_EQ(f.h().epoch, 2u);
  EXPECT_EQ(again.step(), 3u);
  auto r = cl.poll(10ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->resp, 42u);
  std::vector<Cqe> out(8);
  ASSERT_EQ(cl.reap(out), 3u);  // the first completion was never reaped
  EXPECT_EQ(out[1].user_data, 2u);
  EXPECT_EQ(out[2].user_data, 3u);
}

TEST(MailboxServe, SleepingServerIsWokenEveryTime) {
  // The server backs off at once (spin 0) and would sleep 10 s: only the NEED_WAKEUP
  // handshake can answer these within the 2 s timeout. A lost wake-up fails the test.
  Fixture f;
  LoopOptions lo;
  lo.spin_us = 0;
  lo.min_sleep_us = lo.max_sleep_us = 10'000'000;
  std::atomic<bool> stop{false};
  std::thread t([&] { serve(*f.server, lo, stop); });
  Client cl(f.area);
  std::vector<Cqe> out(8);
  for (int i = 0; i < 300; ++i) {
    if (i % 2) {
      auto r = cl.call(cmd(op::NOP, uint16_t(i)), 0, 0, 2s);
      ASSERT_TRUE(r) << "iteration " << i;
      EXPECT_EQ(r->resp, uint32_t(i));
    } else {
      ASSERT_TRUE(cl.submit({cmd(op::NOP), 0, 0, uint32_t(i)}));
      cl.flush();
      auto n = cl.wait(out, 1, 2s);
      ASSERT_TRUE(n) << "iteration " << i;
      EXPECT_EQ(out[0].user_data, uint32_t(i));
    }
    if (i % 50 == 0) std::this_thread::sleep_for(2ms);  // let it fall asleep
  }
  ASSERT_TRUE(cl.call(cmd(op::HALT), 0, 0, 2s));
  t.join();
  EXPECT_TRUE(f.server->halted());
}

TEST(MailboxAllocator, RandomAllocFreeKeepsInvariants) {
  DataAllocator a(c::DATA_OFFSET, c::MIN_SIZE, c::ALLOC_ALIGN);
  std::mt19937 rng(3);
  std::vector<uint32_t> live;
  for (int i = 0; i < 20000; ++i) {
    if (live.empty() || rng() % 3) {
      if (auto o = a.alloc(1 + rng() % 9000)) live.push_back(*o);
    } else {
      size_t k = rng() % live.size();
      ASSERT_TRUE(a.free(live[k]));
      EXPECT_FALSE(a.free(live[k]));
      live.erase(live.begin() + ptrdiff_t(k));
    }
    if (i % 997 == 0) {
      ASSERT_TRUE(a.check());
    }
  }
  for (uint32_t o : live) ASSERT_TRUE(a.free(o));
  EXPECT_TRUE(a.check());
  EXPECT_EQ(a.free_bytes(), c::MIN_SIZE - c::DATA_OFFSET);
  EXPECT_EQ(a.fragments(), 1u);
}

// Issue 19.2: many rounds of random batch sizes against a live serving thread (spinning and
// sleeping), filling the ring to the brim. Every user_data arrives exactly once and in order,
// and submit() never refuses while fewer than RING_ENTRIES are in flight: a reaped completion
// means its submission slot is free (the server publishes SQ_HEAD before CQ_TAIL).
TEST(MailboxRing, StressRandomBatchesExactlyOnceInOrder) {
  Fixture f;
  LoopOptions lo;
  lo.spin_us = 20;  // fall asleep often: the NEED_WAKEUP path is part of the stress
  lo.min_sleep_us = 50;
  lo.max_sleep_us = 200;
  std::atomic<bool> stop{false};
  std::thread t([&] { serve(*f.server, lo, stop); });
  Client cl(f.area);
  std::mt19937 rng(19);
  std::vector<Cqe> out(c::RING_ENTRIES);
  uint32_t sent = 0, got = 0;
  constexpr uint32_t kRounds = 4000;
  for (uint32_t round = 0; round < kRounds; ++round) {
    uint32_t want = (rng() % 4 == 0) ? c::RING_ENTRIES : 1 + rng() % c::RING_ENTRIES;  // often a full ring
    while (cl.in_flight() < c::RING_ENTRIES && want > 0) {
      ASSERT_TRUE(cl.submit({cmd(op::SYSCALL, sys::ECHO), sent, ~sent, sent}))
          << "refused with " << cl.in_flight() << " in flight, round " << round;
      ++sent;
      --want;
    }
    if (want > 0) {
      EXPECT_FALSE(cl.submit({cmd(op::NOP), 0, 0, 0}));  // full: refused
    }
    cl.flush();
    // reap a random amount: sometimes nothing (the ring stays full), sometimes everything
    size_t need = rng() % 3 == 0 ? 0 : 1 + rng() % cl.in_flight();
    auto n = cl.wait(std::span<Cqe>(out.data(), std::max<size_t>(need, 1)), need, 10s);
    ASSERT_TRUE(n) << "round " << round;
    for (size_t i = 0; i < *n; ++i, ++got) {
      ASSERT_EQ(out[i].user_data, got) << "round " << round;
      ASSERT_EQ(out[i].status, st::COMPLETE);
      ASSERT_EQ(out[i].resp, got);
      ASSERT_EQ(out[i].resp1, ~got);
    }
  }
  while (got < sent) {
    auto n = cl.wait(out, 1, 10s);
    ASSERT_TRUE(n);
    for (size_t i = 0; i < *n; ++i, ++got) ASSERT_EQ(out[i].user_data, got);
  }
  EXPECT_EQ(f.server->faults(), 0u);
  ASSERT_TRUE(cl.call(cmd(op::HALT), 0, 0, 10s));
  t.join();
}

// Issue 19.7b(i): a client overwrote CQ_TAIL and then followed it with CQ_HEAD. The server
// used to hold completions forever (CQ_FAULT) and never rewrote CQ_TAIL, so no client could
// learn the true tail. Now the server restores CQ_TAIL at its next step, and Client::resync()
// restarts CQ_HEAD from it: completions flow again and CQ_FAULT clears.
TEST(MailboxRing, OverwrittenCqTailRecovers) {
  Fixture f;
  Header& h = f.h();
  Client cl(f.area);
  std::vector<Cqe> out(4);
  ASSERT_TRUE(cl.submit({cmd(op::NOP), 0, 0, 1}));
  cl.flush();
  ASSERT_EQ(f.server->step(), 1u);
  ASSERT_EQ(cl.reap(out), 1u);
  st_rel(h.cq_tail, 0x12345678);  // the hostile or confused client
  st_rel(h.cq_head, 0x12345678);
  ASSERT_TRUE(cl.submit({cmd(op::NOP), 0, 0, 2}));
  cl.flush();
  EXPECT_EQ(f.server->step(), 0u);  // held: CQ_HEAD is insane against the true tail
  EXPECT_TRUE(ld_acq(h.ring_flags) & flag::CQ_FAULT);
  EXPECT_EQ(ld_acq(h.cq_tail), 1u);  // restored
  cl.resync();                       // the documented reset
  EXPECT_EQ(ld_acq(h.cq_head), 1u);
  EXPECT_EQ(f.server->step(), 1u);
  EXPECT_FALSE(ld_acq(h.ring_flags) & flag::CQ_FAULT);
  ASSERT_EQ(cl.reap(out), 1u);
  EXPECT_EQ(out[0].user_data, 2u);
}

// Issue 19.7b(ii): client bytes in the fault log (a GPU_EXECUTE kernel name holding ESC and a
// newline) are escaped: the log line stays one line and carries no terminal control bytes.
TEST(MailboxServer, FaultLogEscapesClientBytes) {
  Area area = *Area::anonymous();
  FILE* log = tmpfile();
  ASSERT_NE(log, nullptr);
  ServerConfig cfg;
  cfg.uart_out = -1;
  cfg.log = log;
  cfg.gpu = cpu_gpu_exec;
  Server s(area.base(), area.size(), cfg);
  s.start();
  Client cl(area);
  uint8_t desc[c::GPU_DESC_SIZE + 8] = {};
  const char evil[] = "\x1b]52;c;eA==\x07\nmailboxd: forged";
  std::memcpy(desc, evil, std::min(sizeof evil - 1, size_t(c::GPU_NAME_LEN)));
  uint32_t nbuf = 1, off = c::DATA_OFFSET + 0x1000, len = 16;
  std::memcpy(desc + 76, &nbuf, 4);
  std::memcpy(desc + 80, &off, 4);
  std::memcpy(desc + 84, &len, 4);
  ASSERT_TRUE(cl.write_data(c::DATA_OFFSET, ByteView(desc, sizeof desc)));
  ASSERT_TRUE(cl.send(cmd(op::GPU_EXECUTE), c::DATA_OFFSET, sizeof desc, 10ms));
  ASSERT_EQ(s.step(), 1u);
  auto r = cl.poll(10ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(code_of(*r), err::GPU_FAILED);
  std::fflush(log);
  std::rewind(log);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), log));
  std::fclose(log);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_NE(text.find("\\x1b"), std::string::npos) << text;
}

// ---- issue 19.5: the file mailboxd serves ---------------------------------------------------

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/pxos-mbtest-XXXXXX";
    path = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    if (!path.empty()) std::filesystem::remove_all(path);
  }
  std::string file(const std::string& name, const std::string& head, size_t size) const {
    std::string p = path + "/" + name;
    std::ofstream(p, std::ios::binary) << head << std::string(size - head.size(), '\0');
    return p;
  }
};
std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
// A hang guard only: a serve() that never stops is told to after a minute (the test then
// fails on its result instead of hanging ctest).
struct Watchdog {
  std::atomic<bool>& stop;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread t;
  explicit Watchdog(std::atomic<bool>& s) : stop(s), t([this] {
    std::unique_lock lk(mu);
    if (!cv.wait_for(lk, std::chrono::seconds(60), [this] { return done; })) stop = true;
  }) {}
  ~Watchdog() {
    {
      std::lock_guard lk(mu);
      done = true;
    }
    cv.notify_all();
    t.join();
  }
};
void* sigbus_handler() {
  struct sigaction sa{};
  sigaction(SIGBUS, nullptr, &sa);
  return (sa.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(sa.sa_sigaction) : reinterpret_cast<void*>(sa.sa_handler);
}
}  // namespace

TEST(MailboxServe, TruncatedFileStopsServingInsteadOfSigbus) {
  // Truncated to 0 under a spinning server: its next access to the header faults. Before the
  // guard this test died of SIGBUS; now serve() returns the error and the handler is restored.
  TempDir d;
  std::string p = d.path + "/mb.bin";
  auto area = Area::serve_file(p);
  ASSERT_TRUE(area) << area.error().to_string();
  ServerConfig cfg;
  cfg.log = nullptr;
  cfg.uart_out = -1;
  Server s(area->base(), area->size(), cfg);
  s.start();
  void* before = sigbus_handler();
  ASSERT_EQ(truncate(p.c_str(), 0), 0);
  LoopOptions lo;
  lo.spin_us = 600'000'000;  // spinning: no sleep, so no wake-up check before the fault
  lo.check = [&] { return area->check_size(); };
  std::atomic<bool> stop{false};
  Watchdog guard(stop);
  Status st = serve(s, lo, stop);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::MailboxError);
  EXPECT_EQ(st.error().detail, "mailboxd: " + p + " shrank to 0 bytes while served (needs 1048576); stopping");
  EXPECT_EQ(sigbus_handler(), before);

  // Shrunk only past the header: nothing faults while idle; the check after a sleep stops it.
  ASSERT_EQ(truncate(p.c_str(), 1 << 20), 0);
  Server s2(area->base(), area->size(), cfg);
  s2.start();
  ASSERT_EQ(truncate(p.c_str(), 65536), 0);
  lo.spin_us = 0;
  lo.min_sleep_us = lo.max_sleep_us = 100;
  st = serve(s2, lo, stop);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().detail.find("shrank to 65536 bytes"), std::string::npos) << st.error().detail;
}

TEST(MailboxServe, FaultOutsideTheGuardedRangeStillKills) {
  // The trap only catches accesses inside the guarded area: any other SIGBUS keeps its old
  // disposition (here the default: the child dies of SIGBUS).
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char tmpl[] = "/tmp/pxos-mbbus-XXXXXX";
    int fd = mkstemp(tmpl);
    unlink(tmpl);
    if (fd < 0 || ftruncate(fd, 4096) != 0) _exit(2);
    auto* other = static_cast<volatile uint8_t*>(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0));
    if (ftruncate(fd, 0) != 0) _exit(2);
    signal(SIGBUS, SIG_DFL);
    Area a = *Area::anonymous();
    os::SigbusTrap trap;
    os::guard_mapped(a.base(), a.size(), [&] { (void)other[0]; });
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGBUS);
}

TEST(MailboxArea, ServeRefusesAFileThatIsNotAMailbox) {
  TempDir d;
  std::string junk = d.file("junk.bin", "precious data", 1 << 20);
  std::string before = slurp(junk);
  auto a = Area::serve_file(junk);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::MailboxError);
  EXPECT_NE(a.error().detail.find(junk + ": not a mailbox"), std::string::npos) << a.error().detail;
  EXPECT_NE(a.error().detail.find("first non-zero byte 0x70 at offset 0"), std::string::npos) << a.error().detail;
  EXPECT_EQ(slurp(junk), before);
  // Data far from the header counts as well: only an all-zero file is fresh.
  std::string deep = d.file("deep.bin", std::string(0x80000, '\0') + "x", 1 << 20);
  auto b = Area::serve_file(deep);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().detail.find("at offset 524288"), std::string::npos) << b.error().detail;
  // All zero (what `pxos boot` and QEMU create) or MAGIC (an earlier mailboxd): served.
  std::string zero = d.file("zero.bin", "", 1 << 20);
  EXPECT_TRUE(Area::serve_file(zero));
  {
    auto z = Area::serve_file(zero);
    ASSERT_TRUE(z);
    Server s(z->base(), z->size(), ServerConfig{.log = nullptr});
    s.start();
  }
  std::string prior = slurp(zero);
  ASSERT_EQ(prior.compare(0x10, 4, "PXMB"), 0);
  EXPECT_TRUE(Area::serve_file(zero));
  // --force: served (and then overwritten by start()).
  auto f = Area::serve_file(junk, ServeOptions{.force = true});
  EXPECT_TRUE(f) << f.error().to_string();
}

TEST(MailboxArea, ServeRefusesFifosDirectoriesAndDevices) {
  TempDir d;
  std::string fifo = d.path + "/fifo", dir = d.path + "/dir";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  for (auto [p, kind] : {std::pair{fifo, "a FIFO"}, {dir, "a directory"}, {std::string("/dev/null"), "a character device"}}) {
    auto a = Area::serve_file(p);
    ASSERT_FALSE(a) << p;
    EXPECT_EQ(a.error().code, Errc::MailboxError);
    EXPECT_EQ(a.error().detail, p + ": is " + kind + ", not a regular file");
  }
}

TEST(MailboxArea, SecondServerOfAFileIsRefusedWithThePid) {
  // The lock is a classic POSIX record lock (per process), so the second server is a child.
  TempDir d;
  std::string p = d.path + "/mb.bin";
  auto first = Area::serve_file(p);
  ASSERT_TRUE(first) << first.error().to_string();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto second = Area::serve_file(p);
    std::string msg = second ? "served" : second.error().detail;
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(second ? 0 : int(second.error().code));
  }
  close(fds[1]);
  std::string msg(512, '\0');
  ssize_t n = read(fds[0], msg.data(), msg.size());
  msg.resize(n > 0 ? size_t(n) : 0);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), int(Errc::InUse));
  EXPECT_EQ(msg, p + " is already served by pid " + std::to_string(getpid()));
  // Released with the Area: a later server gets it.
  *first = Area();
  pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(Area::serve_file(p) ? 0 : 1);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
