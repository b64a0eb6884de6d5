// policy.hpp: every tunable of the hypervisor in one place: archive reader limits, manifest
// defaults and ceilings, and the default capability policy (what a run gets without --grant).
#pragma once
#include <cstdint>

#include "vm/hostcalls.hpp"
#include "vm/limits.hpp"

namespace pxos::hv {

// --- archive reader (.pxa) ---
inline constexpr uint32_t kMaxEntries = 4096;           // entries per archive
inline constexpr uint32_t kMaxEntryName = 255;          // bytes per entry name
inline constexpr uint64_t kMaxManifestBytes = 1 << 20;  // manifest.json larger than 1 MiB is refused
inline constexpr uint32_t kMaxModuleName = 64;          // module names are identifiers, at most this long

// --- manifest ---
inline constexpr int kMaxJsonDepth = 32;                // nesting deeper than this is refused
inline constexpr int kMaxRequirementClauses = 8;        // clauses in a vm_version requirement
// Limits a manifest may leave out get these (a sandbox never runs unbounded).
inline constexpr uint64_t kDefaultMaxSteps = 100'000'000;     // fuel
inline constexpr uint64_t kDefaultMaxOutput = 1 << 20;        // 1 MiB of program output
inline constexpr uint32_t kDefaultMemoryWords = vm::kDefaultMemoryWords;
inline constexpr uint64_t kDefaultTimeoutMs = 10'000;         // 10 s of wall time
// What this build can provide; a manifest asking for more is "unsupported", not clamped.
inline constexpr uint32_t kMaxMemoryWords = vm::kMaxMemoryWords;  // LOAD/STORE take u16 addresses
inline constexpr uint64_t kMaxSteps = uint64_t(1) << 62;
inline constexpr uint64_t kMaxOutputBytes = uint64_t(1) << 40;
inline constexpr uint64_t kMaxTimeoutMs = 7ull * 24 * 3600 * 1000;  // a week

// --- capabilities ---
// Granted without --grant when the manifest asks for them: the same defaults as pxos run
// (hostcalls.def marks them: clock, the seeded RNG, the user's stdin). Devices (mailbox, gpu)
// must be granted explicitly. A capability the manifest does not declare is never granted.
inline constexpr vm::CapSet kDefaultGrants = vm::kDefaultCaps;

}  // namespace pxos::hv
