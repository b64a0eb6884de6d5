// fuzz_mailbox_area.cpp: random shared-area images fed to the server's one-step function.
// The input's first 0x3000 bytes become the header page and both rings, the rest lands in the
// data area; the server starts, then steps with the client indices nudged by the input. The
// area lies between PROT_NONE guard pages: a stray access outside it crashes the target.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "mailbox/server.hpp"

using namespace pxos::mailbox;

namespace {
uint8_t* area() {
  static uint8_t* base = [] {
    size_t pg = 4096;
    auto* raw = static_cast<uint8_t*>(mmap(nullptr, c::MIN_SIZE + 2 * pg, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(raw, pg, PROT_NONE);
    mprotect(raw + pg + c::MIN_SIZE, pg, PROT_NONE);
    return raw + pg;
  }();
  return base;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint8_t* base = area();
  std::memset(base, 0, c::MIN_SIZE);
  size_t head = size < c::CQ_OFFSET + 0x1000 ? size : c::CQ_OFFSET + 0x1000;
  if (head) std::memcpy(base, data, head);  // the empty input comes with a null pointer
  size_t rest = size - head;
  if (rest > c::MIN_SIZE - c::DATA_OFFSET) rest = c::MIN_SIZE - c::DATA_OFFSET;
  if (rest) std::memcpy(base + c::DATA_OFFSET, data + head, rest);
  ServerConfig cfg;
  cfg.uart_out = -1;
  cfg.uart_in = -1;
  cfg.log = nullptr;
  cfg.gpu = cpu_gpu_exec;
  auto sp = std::make_unique<Server>(base, c::MIN_SIZE, cfg);  // ~1 MiB of counters: not on the stack
  Server& s = *sp;
  s.start();
  Header& h = *reinterpret_cast<Header*>(base);
  for (int k = 0; k < 4 && !s.halted(); ++k) {
    s.step();
    uint8_t nudge = size ? data[k % size] : 0;
    h.sq_tail += nudge;   // new (or wild) submissions
    h.cq_head += nudge / 2;
    h.doorbell = nudge & 1;
  }
  return 0;
}
