// hostcalls_guest.cpp: the bodies of hostcalls.def's rows inside the microkernel's ring-3 guest.
// Each is a SYSCALL through the gate, which becomes a mailbox command that mailboxd serves:
// clock (SYSCALL TIME_US), input (UART_READ), mailbox (the gated v1 command), gpu (GPU_EXECUTE).
// The random calls draw from the run's generator, seeded by mailboxd (the MODULE block's seed),
// so a module prints the same numbers as under `pxos run --seed`.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>
#include <string>

#include "guest.hpp"
#include "mailbox/protocol.hpp"
#include "vm/hostcall_bodies.hpp"
#include "vm/hostcalls.hpp"
#include "vm/machine.hpp"

namespace pxos::vm {
namespace {
namespace mb = pxos::mailbox;
using guest::syscall;

// One gated mailbox command; the round trip is noted for the figures.
Result<guest::SysResult> mailbox_cmd(uint8_t op, uint16_t payload, uint32_t a0 = 0, uint32_t a1 = 0) {
  uint64_t t0 = guest::rdtsc();
  auto r = syscall(guest::SYS_MAILBOX, op, payload, a0, a1);
  guest::note_hostcall_cycles(guest::rdtsc() - t0);
  if (r.rdx == -1) return failf(Errc::SandboxDenied, "the kernel's gate refused mailbox opcode 0x{:02x}", op);
  if (uint32_t(r.rdx) != mb::st::COMPLETE)
    return failf(Errc::MailboxError, "mailbox opcode 0x{:02x}: status 0x{:08x}", op, uint32_t(r.rdx));
  return r;
}

Result<uint64_t> host_us() {
  auto r = mailbox_cmd(mb::op::SYSCALL, mb::sys::TIME_US);
  if (!r) return std::unexpected(r.error());
  return uint64_t(uint32_t(r->rax)) | uint64_t(uint32_t(r->r8)) << 32;
}

// Input: UART_READ in buffer mode, non-blocking: no byte ready is the end of the input.
struct Input {
  char buf[256];
  size_t pos = 0, len = 0;
  bool eof = false;
  int get() {
    if (pos == len) {
      if (eof) return -1;
      auto r = syscall(guest::SYS_READ, long(buf), long(sizeof buf));
      if (r.rax <= 0) {
        eof = true;
        return -1;
      }
      pos = 0;
      len = size_t(r.rax);
    }
    return static_cast<unsigned char>(buf[pos++]);
  }
} g_in;

bool next_line(std::string& line) {
  line.clear();
  int c;
  bool any = false;
  while ((c = g_in.get()) >= 0) {
    any = true;
    if (c == '\n') break;
    if (line.size() < 4096) line.push_back(char(c));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return any;
}

uint64_t g_start_us = 0;  // the host clock at the module's first clock_ms
bool g_started = false;
}  // namespace

namespace hostfn {
Status clock_ms(HostEnv&, Machine&, const int32_t*, int32_t* r) {
  auto us = host_us();
  if (!us) return std::unexpected(us.error());
  if (!g_started) g_start_us = *us, g_started = true;
  r[0] = int32_t(((*us - g_start_us) / 1000) & 0x7fffffff);
  return {};
}
Status clock_ns(HostEnv&, Machine&, const int32_t*, int32_t* r) {
  auto us = host_us();
  if (!us) return std::unexpected(us.error());
  uint64_t ns = *us * 1000;
  r[0] = int32_t(uint32_t(ns));
  r[1] = int32_t(uint32_t(ns >> 32));
  return {};
}
Status random(HostEnv& e, Machine&, const int32_t*, int32_t* r) { return shared::random(e, r); }
Status random_below(HostEnv& e, Machine&, const int32_t* a, int32_t* r) { return shared::random_below(e, a, r); }
Status read_int(HostEnv&, Machine&, const int32_t*, int32_t* r) {
  std::string line;
  r[0] = r[1] = 0;
  if (next_line(line)) shared::parse_int_line(line, r);
  return {};
}
Status read_line(HostEnv&, Machine& m, const int32_t* a, int32_t* r) {
  if (auto s = shared::check_line_buffer(m, a); !s) return s;
  std::string line;
  r[0] = next_line(line) ? shared::store_line(m, a, line) : -1;
  return {};
}
Status mailbox(HostEnv&, Machine&, const int32_t* a, int32_t* r) {
  uint32_t cmd = uint32_t(a[0]);
  uint64_t t0 = guest::rdtsc();
  auto res = syscall(guest::SYS_MAILBOX, mb::cmd_opcode(cmd), mb::cmd_payload(cmd), 0, 0);
  guest::note_hostcall_cycles(guest::rdtsc() - t0);
  r[0] = int32_t(res.rdx);  // -1: the gate refused the opcode
  r[1] = int32_t(res.rax);
  return {};
}
// gpu: the module's buffers become one blob after a GPU_EXECUTE descriptor (protocol.def:
// kernel[32] entry[32] wg x,y,z nbuf, then (offset, length) per buffer, offsets relative to the
// blob); the kernel places both in the data area, rebases the offsets, runs GPU_EXECUTE on
// mailboxd's backend and copies the blob back, whose words return to the module's memory.
Status gpu(HostEnv&, Machine& m, const int32_t* a, int32_t* r) {
  auto g = parse_gpu_call(m.memory(), a[0]);
  if (!g) return std::unexpected(g.error());
  auto mem = m.memory();
  std::string desc(mb::c::GPU_DESC_SIZE + 8 * g->nbuf, '\0');
  auto put = [&](size_t at, uint32_t v) { std::memcpy(desc.data() + at, &v, 4); };
  std::memcpy(desc.data(), g->kernel.data(), g->kernel.size());
  std::memcpy(desc.data() + mb::c::GPU_NAME_LEN, "main", 4);
  for (int k = 0; k < 3; ++k) put(2 * mb::c::GPU_NAME_LEN + 4 * k, g->wg[k]);
  put(2 * mb::c::GPU_NAME_LEN + 12, g->nbuf);
  size_t blob_words = 0;
  for (uint32_t b = 0; b < g->nbuf; ++b) {
    put(mb::c::GPU_DESC_SIZE + 8 * b, uint32_t(blob_words * 4));
    put(mb::c::GPU_DESC_SIZE + 8 * b + 4, g->bufs[b].words * 4);
    blob_words += g->bufs[b].words;
  }
  std::vector<int32_t> blob;
  blob.reserve(blob_words);
  for (uint32_t b = 0; b < g->nbuf; ++b)
    blob.insert(blob.end(), mem.begin() + g->bufs[b].addr, mem.begin() + g->bufs[b].addr + g->bufs[b].words);
  uint64_t t0 = guest::rdtsc();
  auto res = syscall(guest::SYS_GPU, long(desc.data()), long(desc.size()), long(blob.data()), long(blob.size() * 4));
  guest::note_hostcall_cycles(guest::rdtsc() - t0);
  if (res.rax < 0) return failf(Errc::GpuError, "gpu: kernel '{}': the kernel refused the call (buffers larger than it places)", g->kernel);
  if (res.rax == 0) {
    size_t at = 0;
    for (uint32_t b = 0; b < g->nbuf; ++b) {
      std::copy(blob.begin() + long(at), blob.begin() + long(at + g->bufs[b].words), mem.begin() + g->bufs[b].addr);
      at += g->bufs[b].words;
    }
  }
  r[0] = int32_t(res.rax);  // 0, or the mailbox error code (GPU_FAILED, UNSUPPORTED, ...)
  return {};
}
}  // namespace hostfn
}  // namespace pxos::vm
