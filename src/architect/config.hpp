// config.hpp: every tunable of the architect in one place (limits, timeouts, budgets).
// Each is a default; the CLI overrides the ones a user may want to change.
#pragma once
#include <cstddef>

namespace pxos::architect::tun {

// --- LLM client ---
inline constexpr int kConnectTimeoutMs = 5000;      // TCP connect: fail fast when nothing listens
inline constexpr int kRequestTimeoutS = 300;        // whole request (--timeout); local models are slow
inline constexpr int kMaxAttempts = 4;              // tries per request on connection errors / 5xx
inline constexpr int kBackoffBaseMs = 500;          // back-off: base * 2^(attempt-1), capped below
inline constexpr int kBackoffMaxMs = 8000;          // longest pause between two tries
inline constexpr size_t kMaxReplyBytes = 1u << 20;  // a reply body over 1 MiB is refused
inline constexpr int kMaxTokens = 4096;             // max_tokens asked of the server

// --- action parsing ---
inline constexpr int kRepairAttempts = 2;           // malformed replies re-asked per turn
inline constexpr int kMaxJsonDepth = 16;            // deeper nesting is refused before parsing
inline constexpr size_t kMaxContentBytes = 256u << 10;  // a file the model writes
inline constexpr size_t kMaxTaskChars = 400;
inline constexpr size_t kMaxRationaleChars = 4000;
inline constexpr size_t kMaxPathChars = 255;
inline constexpr size_t kMaxCommandChars = 64;
inline constexpr size_t kMaxArgs = 8;
inline constexpr size_t kMaxArgChars = 255;

// --- sandbox / commands ---
inline constexpr int kCommandTimeoutS = 120;        // default per named command
inline constexpr size_t kOutputCapBytes = 64u << 10;  // command output kept (head + tail)
inline constexpr size_t kReadCapBytes = 64u << 10;  // read_file: bytes returned to the model
inline constexpr int kGitTimeoutS = 60;

// --- context given to the model ---
inline constexpr size_t kDocCapChars = 12000;       // docs/isa.md and docs/mailbox.md each
inline constexpr size_t kMapCapChars = 4000;        // the compact workspace map
inline constexpr size_t kResultsTokenBudget = 3000; // last actions' results (1 token ~ 4 chars)
inline constexpr size_t kOneResultCapChars = 4000;  // one result before the budget is applied
inline constexpr size_t kHistoryKept = 50;          // entries kept in the state file

// --- agent loop ---
inline constexpr int kMaxConsecutiveFailures = 3;   // autonomous mode stops after this many
inline constexpr double kDefaultIntervalS = 10.0;   // pause between autonomous steps

}  // namespace pxos::architect::tun
