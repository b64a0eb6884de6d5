// hostcalls.cpp: the host functions behind hostcalls.def. Each gets its popped arguments in
// stack order (args[0] deepest) and fills `pushes` results.
#include "vm/hostcalls.hpp"

#include <fmt/format.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "isa/isa.hpp"
#include "vm/machine.hpp"

namespace pxos::vm {
namespace {

uint64_t next_random(HostEnv& e) {  // splitmix64: tiny, fast, and the same on every machine
  uint64_t z = (e.rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

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
Result<bool> read_line(HostEnv& e, std::string& line) {
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

Status h_clock_ms(HostEnv& e, Machine&, const int32_t*, int32_t* r) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - e.started).count();
  r[0] = int32_t(uint64_t(ms) & 0x7fffffff);
  return {};
}
Status h_clock_ns(HostEnv&, Machine&, const int32_t*, int32_t* r) {
  uint64_t ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch()).count());
  r[0] = int32_t(uint32_t(ns));
  r[1] = int32_t(uint32_t(ns >> 32));
  return {};
}
Status h_random(HostEnv& e, Machine&, const int32_t*, int32_t* r) {
  r[0] = int32_t(next_random(e) >> 33);
  return {};
}
Status h_random_below(HostEnv& e, Machine&, const int32_t* a, int32_t* r) {
  if (a[0] <= 0) return failf(Errc::Trap, "bound {} must be positive", a[0]);
  r[0] = int32_t(next_random(e) % uint64_t(a[0]));
  return {};
}
Status h_read_int(HostEnv& e, Machine&, const int32_t*, int32_t* r) {
  std::string line;
  r[0] = 0;
  r[1] = 0;
  auto got = read_line(e, line);
  if (!got) return std::unexpected(got.error());
  if (!*got) return {};
  size_t b = line.find_first_not_of(" \t"), en = line.find_last_not_of(" \t");
  if (b == std::string::npos) return {};
  int32_t v = 0;
  auto [p, ec] = std::from_chars(line.data() + b, line.data() + en + 1, v);
  if (ec == std::errc() && p == line.data() + en + 1) {
    r[0] = v;
    r[1] = 1;
  }
  return {};
}
Status h_read_line(HostEnv& e, Machine& m, const int32_t* a, int32_t* r) {
  int32_t addr = a[0], max = a[1];
  auto mem = m.memory();
  if (addr < 0 || max < 0 || uint64_t(addr) + uint64_t(max) > mem.size())
    return failf(Errc::Trap, "buffer [{}, {}+{}) is outside memory ({} words)", addr, addr, max, mem.size());
  std::string line;
  auto got = read_line(e, line);
  if (!got) return std::unexpected(got.error());
  if (!*got) {
    r[0] = -1;
    return {};
  }
  size_t n = std::min(line.size(), size_t(max));
  for (size_t i = 0; i < n; ++i) mem[size_t(addr) + i] = static_cast<unsigned char>(line[i]);
  r[0] = int32_t(n);
  return {};
}
Status h_mailbox(HostEnv& e, Machine&, const int32_t* a, int32_t* r) {
  if (!e.mailbox) return fail(Errc::MailboxError, "mailbox not connected (start `pxos mailboxd` and run with --mailbox)");
  auto res = e.mailbox(uint32_t(a[0]));
  if (!res) return std::unexpected(res.error());
  r[0] = int32_t(res->first);
  r[1] = int32_t(res->second);
  return {};
}

constexpr HostCall kCalls[] = {
#define CAP(...)
#define HOSTCALL(id, name, cap, pops, pushes, effect, doc) {id, #name, Cap::cap, pops, pushes, effect, doc, &h_##name},
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};
static_assert(sizeof(kCalls) / sizeof(kCalls[0]) < 256);
constexpr bool ids_unique() {  // host_table() indexes by id: a second row would hide the first
  for (size_t i = 0; i < std::size(kCalls); ++i)
    for (size_t j = 0; j < i; ++j)
      if (kCalls[i].id == kCalls[j].id) return false;
  return true;
}
static_assert(ids_unique(), "hostcalls.def: two host calls share an id");
#define CAP(...)
#define HOSTCALL(id, name, cap, pops, pushes, effect, doc) \
  static_assert(isa::effect_agrees(effect, pops, pushes), "hostcalls.def: the stack effect of " #name " disagrees with its pops/pushes");
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
constexpr bool fits_arg_buffers() {  // Machine::host_call passes at most 8 arguments and results
  for (const auto& c : kCalls)
    if (c.pops > 8 || c.pushes > 8) return false;
  return true;
}
static_assert(fits_arg_buffers(), "a host call pops or pushes more than Machine::host_call's buffers hold");

struct CapInfo { Cap cap; std::string_view name, doc; };
constexpr CapInfo kCaps[] = {
#define CAP(name, bit, doc) {Cap::name, #name, doc},
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};
constexpr Cap kCapList[] = {
#define CAP(name, bit, doc) Cap::name,
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};

}  // namespace

const std::array<const HostCall*, 256>& host_table() {
  static const std::array<const HostCall*, 256> t = [] {
    std::array<const HostCall*, 256> a{};
    for (const auto& c : kCalls) a[c.id] = &c;
    return a;
  }();
  return t;
}

const HostCall* host_lookup(std::string_view name) {
  for (const auto& c : kCalls)
    if (c.name == name) return &c;
  return nullptr;
}

std::optional<Cap> cap_lookup(std::string_view name) {
  for (const auto& c : kCaps)
    if (c.name == name) return c.cap;
  return std::nullopt;
}
std::string_view cap_name(Cap c) {
  for (const auto& k : kCaps)
    if (k.cap == c) return k.name;
  return "?";
}
std::string_view cap_doc(Cap c) {
  for (const auto& k : kCaps)
    if (k.cap == c) return k.doc;
  return "";
}
std::span<const Cap> all_caps() { return kCapList; }

Result<CapSet> parse_caps(std::span<const std::string> names, std::string_view flag) {
  CapSet s = 0;
  for (const auto& n : names) {
    auto c = cap_lookup(n);
    if (!c) {
      std::string known;
      for (auto k : all_caps()) known += fmt::format("{}{}", known.empty() ? "" : ", ", cap_name(k));
      return failf(Errc::Usage, "{} {}: unknown capability (known: {})", flag, n, known);
    }
    s |= cap_bit(*c);
  }
  return s;
}

}  // namespace pxos::vm
