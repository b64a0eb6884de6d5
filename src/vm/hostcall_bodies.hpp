// hostcall_bodies.hpp: what the host-call bodies of both hosts share (pxos: hostcalls_host.cpp;
// the kernel's ring-3 guest: kernel/vm/hostcalls_guest.cpp): the seeded RNG's draws, read_int's
// parse and read_line's buffer check and copy. Each host keeps only how it gets time and lines.
#pragma once
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>

#include "vm/hostcalls.hpp"
#include "vm/machine.hpp"

namespace pxos::vm::hostfn::shared {

inline Status random(HostEnv& e, int32_t* r) {
  r[0] = int32_t(next_random(e) >> 33);
  return {};
}

inline Status random_below(HostEnv& e, const int32_t* a, int32_t* r) {
  if (a[0] <= 0) return failf(Errc::Trap, "bound {} must be positive", a[0]);
  r[0] = int32_t(next_random(e) % uint64_t(a[0]));
  return {};
}

// read_int's result from one line: (value, 1) for a decimal integer with optional blanks
// around it, else (0, 0).
inline void parse_int_line(const std::string& line, int32_t* r) {
  r[0] = r[1] = 0;
  size_t b = line.find_first_not_of(" \t"), en = line.find_last_not_of(" \t");
  if (b == std::string::npos) return;
  int32_t v = 0;
  auto [p, ec] = std::from_chars(line.data() + b, line.data() + en + 1, v);
  if (ec == std::errc() && p == line.data() + en + 1) r[0] = v, r[1] = 1;
}

// read_line's buffer [addr, addr+max) must lie in memory, checked before a line is read.
inline Status check_line_buffer(Machine& m, const int32_t* a) {
  int32_t addr = a[0], max = a[1];
  auto mem = m.memory();
  if (addr < 0 || max < 0 || uint64_t(addr) + uint64_t(max) > mem.size())
    return failf(Errc::Trap, "buffer [{}, {}+{}) is outside memory ({} words)", addr, addr, max, mem.size());
  return {};
}

// Stores up to max bytes of line, one per word; returns how many.
inline int32_t store_line(Machine& m, const int32_t* a, const std::string& line) {
  auto mem = m.memory();
  size_t n = std::min(line.size(), size_t(a[1]));
  for (size_t i = 0; i < n; ++i) mem[size_t(a[0]) + i] = static_cast<unsigned char>(line[i]);
  return int32_t(n);
}

}  // namespace pxos::vm::hostfn::shared
