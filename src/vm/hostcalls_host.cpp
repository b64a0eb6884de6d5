// hostcalls_host.cpp: the bodies of hostcalls.def's rows for the host build (pxos run, hv):
// stdin, the steady clock, the seeded generator, the mailbox client hook. The kernel's ring-3
// guest has its own bodies (kernel/vm/hostcalls_guest.cpp); the table is shared (hostcalls.cpp).
#include "vm/hostcalls.hpp"

#include <fmt/format.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "vm/hostcall_bodies.hpp"
#include "vm/machine.hpp"

namespace pxos::vm {
namespace {


// Waits until the input has a byte to read or the run's deadline passes (false). A read that
// blocks on a terminal or pipe must not outlive --timeout-ms. Bytes already in stdio's buffer
// need no wait; that buffer is only visible on glibc, elsewhere reads are not bounded.
bool wait_input(HostEnv& e) {
  if (e.deadline == std::chrono::steady_clock::time_point::max()) return true;
#if defined(__GLIBC__)
  if (e.input->_IO_read_ptr < e.input->_IO_read_end) return true;
  int fd = fileno(e.input);
  if (fd < 0) return true;  // a memory stream never blocks
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e.deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, int(std::min<int64_t>(left + 1, 1 << 30)));
    if (n > 0) return true;  // readable, EOF or error: fgetc tells which
    if (n < 0 && errno != EINTR) return true;
  }
#else
  return true;
#endif
}

// One line (without its newline) into `line`; false at EOF. Fails with TimeLimit when the
// deadline passes while waiting.
Result<bool> next_line(HostEnv& e, std::string& line) {
  line.clear();
  if (!e.input) return false;
  int c;
  bool any = false;
  for (;;) {
    if (!wait_input(e))
      return failf(Errc::TimeLimit, "time limit of {} ms reached while waiting for input", e.timeout_ms);
    if ((c = std::fgetc(e.input)) == EOF) break;
    any = true;
    if (c == '\n') break;
    if (line.size() < (1u << 20)) line.push_back(char(c));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return any;
}

}  // namespace

namespace hostfn {
Status clock_ms(HostEnv& e, Machine&, const int32_t*, int32_t* r) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - e.started).count();
  r[0] = int32_t(uint64_t(ms) & 0x7fffffff);
  return {};
}
Status clock_ns(HostEnv&, Machine&, const int32_t*, int32_t* r) {
  uint64_t ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch()).count());
  r[0] = int32_t(uint32_t(ns));
  r[1] = int32_t(uint32_t(ns >> 32));
  return {};
}
Status random(HostEnv& e, Machine&, const int32_t*, int32_t* r) { return shared::random(e, r); }
Status random_below(HostEnv& e, Machine&, const int32_t* a, int32_t* r) { return shared::random_below(e, a, r); }
Status read_int(HostEnv& e, Machine&, const int32_t*, int32_t* r) {
  std::string line;
  r[0] = r[1] = 0;
  auto got = next_line(e, line);
  if (!got) return std::unexpected(got.error());
  if (*got) shared::parse_int_line(line, r);
  return {};
}
Status read_line(HostEnv& e, Machine& m, const int32_t* a, int32_t* r) {
  if (auto s = shared::check_line_buffer(m, a); !s) return s;
  std::string line;
  auto got = next_line(e, line);
  if (!got) return std::unexpected(got.error());
  r[0] = *got ? shared::store_line(m, a, line) : -1;
  return {};
}
Status mailbox(HostEnv& e, Machine&, const int32_t* a, int32_t* r) {
  if (!e.mailbox) return fail(Errc::MailboxError, "mailbox not connected (start `pxos mailboxd --file FILE` and run with --mailbox FILE)");
  auto res = e.mailbox(uint32_t(a[0]));
  if (!res) return std::unexpected(res.error());
  r[0] = int32_t(res->first);
  r[1] = int32_t(res->second);
  return {};
}

// The host has no mailbox of its own here: the gpu host call is served inside the microkernel
// (pxos boot --module, GPU_EXECUTE through mailboxd). The descriptor is still checked, so a
// bad one reads the same on both hosts.
Status gpu(HostEnv&, Machine& m, const int32_t* a, int32_t*) {
  auto g = parse_gpu_call(m.memory(), a[0]);
  if (!g) return std::unexpected(g.error());
  return failf(Errc::Unsupported, "gpu: kernel '{}': the gpu host call is served by mailboxd inside the microkernel (pxos boot --module --backend webgpu)", g->kernel);
}
}  // namespace hostfn
}  // namespace pxos::vm
