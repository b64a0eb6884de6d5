// support.cpp: what the freestanding PixelVM build needs from a C/C++ runtime, and nothing
// more: mem*/str* (rep movsb/stosb), operator new/delete over the guest's bump arena,
// libstdc++'s throw hooks (the build has no exceptions: they end the module), the steady
// clock (RDTSC at the kernel's calibrated rate) and the guest's two output syscalls.
#include <chrono>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <new>

#include "guest.hpp"

namespace pxos::guest {
namespace {
uintptr_t g_lo = 0, g_top = 0, g_hi = 0, g_last = 0;  // arena, bump pointer, the last block
constexpr uintptr_t kAlign = 16;                     // what operator new promises
}  // namespace
uint64_t tsc_hz = 1000000000;

void arena_init(uintptr_t begin, uintptr_t end) {
  g_lo = g_top = (begin + kAlign - 1) & ~(kAlign - 1);
  g_hi = end;
  g_last = 0;
}
uint64_t arena_used() { return g_top - g_lo; }

void report(std::string_view t) { syscall(SYS_REPORT, long(t.data()), long(t.size())); }
bool write(std::string_view t) { return syscall(SYS_WRITE, long(t.data()), long(t.size())).rax >= 0; }
}  // namespace pxos::guest

using namespace pxos::guest;

extern "C" [[noreturn]] void pxos_guest_abort(const char* why) {
  std::string_view w(why, __builtin_strlen(why));
  char line[160] = "abort: guest runtime: ";
  size_t n = 22;
  for (char ch : w)
    if (n < sizeof line) line[n++] = ch;
  report({line, n});
  syscall(SYS_EXIT, EXIT_ABORT);
  __builtin_unreachable();
}

// ---- heap -------------------------------------------------------------------------------
// Bump allocation; freeing the most recent block gives it back (vector growth, temporaries),
// anything else waits for the module's end, when the whole arena is reset.
void* operator new(size_t n) {
  uintptr_t p = g_top;
  if (n > g_hi - p) pxos_guest_abort("arena exhausted");
  g_top = (p + n + kAlign - 1) & ~(kAlign - 1);
  if (g_top > g_hi) g_top = g_hi;
  g_last = p;
  return reinterpret_cast<void*>(p);
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept {
  if (p && reinterpret_cast<uintptr_t>(p) == g_last) {
    g_top = g_last;
    g_last = 0;
  }
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }

// ---- C runtime --------------------------------------------------------------------------
extern "C" {
void* memcpy(void* d, const void* s, size_t n) {
  void* r = d;
  asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return r;
}
void* memmove(void* d, const void* s, size_t n) {
  auto* dp = static_cast<unsigned char*>(d);
  auto* sp = static_cast<const unsigned char*>(s);
  if (dp <= sp || dp >= sp + n) return memcpy(d, s, n);
  // overlapping, destination above: copy backwards (std = DF set for the copy only)
  const unsigned char* se = sp + n - 1;
  unsigned char* de = dp + n - 1;
  asm volatile("std\n\trep movsb\n\tcld" : "+D"(de), "+S"(se), "+c"(n) : : "memory");
  return d;
}
void* memset(void* d, int v, size_t n) {
  void* r = d;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory");
  return r;
}
int memcmp(const void* a, const void* b, size_t n) {
  auto* x = static_cast<const unsigned char*>(a);
  auto* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}
void* memchr(const void* s, int c, size_t n) {
  auto* p = static_cast<const unsigned char*>(s);
  for (size_t i = 0; i < n; ++i)
    if (p[i] == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(p + i);
  return nullptr;
}
size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}
int toupper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }
// The guest has no stdio streams: RunOptions' and HostEnv's defaults name them, the guest
// replaces both (an output callback, no input file), and nothing here ever reads one.
FILE* stdin = nullptr;
FILE* stdout = nullptr;
FILE* stderr = nullptr;
// Static objects with destructors register them; the guest never exits through them.
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
void __cxa_pure_virtual() { pxos_guest_abort("pure virtual call"); }
}

// ---- libstdc++'s hooks (no exceptions in this build: each ends the module) ----------------
namespace std {
void __throw_bad_alloc() { pxos_guest_abort("bad_alloc"); }
void __throw_bad_array_new_length() { pxos_guest_abort("bad_array_new_length"); }
void __throw_length_error(const char*) { pxos_guest_abort("length_error"); }
void __throw_logic_error(const char*) { pxos_guest_abort("logic_error"); }
void __throw_out_of_range_fmt(const char*, ...) { pxos_guest_abort("out_of_range"); }
void __throw_bad_function_call() { pxos_guest_abort("bad_function_call"); }
void __throw_bad_optional_access() { pxos_guest_abort("bad_optional_access"); }
void terminate() noexcept { pxos_guest_abort("terminate"); }
// The steady clock of the guest: the TSC at the kernel's calibrated rate (Machine::run times
// its run with it; the deadline is never set in the guest).
namespace chrono {
inline namespace _V2 {
steady_clock::time_point steady_clock::now() noexcept {
  unsigned __int128 t = rdtsc();
  return time_point(duration(int64_t(t * 1000000000u / tsc_hz)));
}
}  // namespace _V2
}  // namespace chrono
}  // namespace std
