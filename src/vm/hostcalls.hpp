// hostcalls.hpp: the host-call table (hostcalls.def) and the per-run host environment:
// granted capabilities, the seeded RNG, the input stream and the mailbox hook.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pxos::vm {

class Machine;

enum class Cap : uint8_t {
#define CAP(name, bit, dflt, doc) name = bit,
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
};
using CapSet = uint32_t;
constexpr CapSet cap_bit(Cap c) { return CapSet(1) << uint8_t(c); }
// What every command grants without --grant: the rows of hostcalls.def marked so.
inline constexpr CapSet kDefaultCaps = 0
#define CAP(name, bit, dflt, doc) | (dflt ? cap_bit(Cap::name) : 0)
#define HOSTCALL(...)
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
    ;
std::optional<Cap> cap_lookup(std::string_view name);
std::string_view cap_name(Cap c);
std::string_view cap_doc(Cap c);
std::span<const Cap> all_caps();
std::string cap_list(CapSet s);  // "clock, random" or "none"
// Capability names (as given to --grant/--deny) to a set; an unknown name is an error that
// lists the known ones. `flag` prefixes the message.
Result<CapSet> parse_caps(std::span<const std::string> names, std::string_view flag);

struct HostEnv {
  CapSet granted = 0;
  uint64_t seed = 0x9e3779b97f4a7c15ull;  // RNG seed: the same seed gives the same numbers
  std::FILE* input = stdin;
  // Filled in by a mailbox client (pxos hv --mailbox): takes a command word, returns
  // {status, resp}. Unset: HOST_CALL mailbox traps with "mailbox not connected".
  std::function<Result<std::pair<uint32_t, uint32_t>>(uint32_t)> mailbox;

  // run state, reset by Machine::run
  uint64_t rng = 0;
  std::chrono::steady_clock::time_point started{};
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();  // none
  uint64_t timeout_ms = 0;  // for the message
};

using HostFn = Status (*)(HostEnv&, Machine&, const int32_t* args, int32_t* results);

// One body per row and per host: hostcalls_host.cpp (pxos) or kernel/vm/hostcalls_guest.cpp
// (the ring-3 guest of the microkernel). Each gets its popped arguments in stack order
// (args[0] deepest) and fills `pushes` results.
namespace hostfn {
#define CAP(...)
#define HOSTCALL(id, name, cap, pops, pushes, effect, doc) Status name(HostEnv&, Machine&, const int32_t* args, int32_t* results);
#include "vm/hostcalls.def"
#undef CAP
#undef HOSTCALL
}  // namespace hostfn

// The run's generator (splitmix64: tiny, fast, and the same on every machine and both hosts).
inline uint64_t next_random(HostEnv& e) {
  uint64_t z = (e.rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct HostCall {
  uint8_t id = 0;
  std::string_view name;
  Cap cap = Cap::clock;
  uint8_t pops = 0, pushes = 0;
  std::string_view effect, doc;
  HostFn fn = nullptr;
};

// The `gpu` host call's descriptor, read from the module's memory (both hosts):
//   desc: name_len, name bytes (one per word), wg_x, wg_y, wg_z, nbuf, then nbuf x (addr, words)
// Every buffer must lie inside memory (else GpuError: bad buffer offsets).
inline constexpr uint32_t kGpuMaxName = 31;  // mailbox GPU_NAME_LEN minus its NUL
inline constexpr uint32_t kGpuMaxBufs = 8;   // mailbox GPU_MAX_BUFS
struct GpuCall {
  std::string kernel;
  uint32_t wg[3] = {1, 1, 1};
  struct Buf { uint32_t addr, words; };
  Buf bufs[kGpuMaxBufs];
  uint32_t nbuf = 0;
};
Result<GpuCall> parse_gpu_call(std::span<const int32_t> mem, int32_t desc);

// 256 entries indexed by id; nullptr where no host call exists (bounds-checked by construction).
const std::array<const HostCall*, 256>& host_table();
const HostCall* host_lookup(std::string_view name);

}  // namespace pxos::vm
