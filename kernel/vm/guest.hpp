// guest.hpp: the ring-3 side of the kernel <-> guest ABI (src/boot/guest.def): the argument
// block the kernel fills, the SYSCALL wrappers, the arena and the runtime's exits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace pxos::guest {

enum Arg : uint32_t {
#define GUEST_ARG(name, offset, doc) name = (offset) / 8,
#include "boot/guest.def"
};
#define GUEST_ARG(name, offset, doc) static_assert((offset) % 8 == 0, "guest.def: " #name " is not a u64 word");
#include "boot/guest.def"
struct Args {
  uint64_t w[SIZE];
  uint64_t operator[](Arg a) const { return w[a]; }
};

enum Sys : long {
#define GUEST_SYS(name, number, doc) SYS_##name = number,
#include "boot/guest.def"
};
namespace detail {
inline constexpr long kSysNumbers[] = {
#define GUEST_SYS(name, number, doc) number,
#include "boot/guest.def"
};
consteval bool sys_dense() {  // the kernel's syscall_table is indexed by number
  for (size_t i = 0; i < std::size(kSysNumbers); ++i)
    if (kSysNumbers[i] != long(i)) return false;
  return true;
}
static_assert(sys_dense(), "guest.def: syscall numbers must be 0, 1, 2, ... in row order");
}  // namespace detail
enum Exit : long {
#define GUEST_EXIT(name, value, doc) EXIT_##name = value,
#include "boot/guest.def"
};

// One SYSCALL through the ring-3 gate. The kernel keeps rbx, rbp, r12-r15; rcx and r11 are
// SYSCALL's own; everything else may change.
struct SysResult {
  long rax, rdx, r8;
};
inline SysResult syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8");
  long rax = n, rdx = c;
  asm volatile("syscall"
               : "+a"(rax), "+d"(rdx), "+D"(a), "+S"(b), "+r"(r10), "=r"(r8)
               :
               : "rcx", "r9", "r11", "memory", "cc");
  return {rax, rdx, r8};
}

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return uint64_t(hi) << 32 | lo;
}

// The module's one-line verdict (the kernel prints it as "module N: <text>").
void report(std::string_view text);
// UART output through the mailbox (SYS_WRITE); false when the kernel refused it.
bool write(std::string_view text);

// The heap: a bump arena over [ARENA, ARENA_END), reset for every module (each module is a
// fresh ring-3 entry). Exhaustion ends the module with EXIT_ABORT.
void arena_init(uintptr_t begin, uintptr_t end);
uint64_t arena_used();
extern uint64_t tsc_hz;  // the kernel's calibrated TSC rate (Args TSC_HZ)

// Host-call round trips (HOST_CALL entered to result back), in TSC cycles, for the figures.
void note_hostcall_cycles(uint64_t c);

}  // namespace pxos::guest

extern "C" [[noreturn]] void pxos_guest_abort(const char* why);
