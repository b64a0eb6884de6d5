// spawn.hpp: the one way pxos starts a program (SQLite os_unix.c style): PATH lookup, fork+exec
// with an exec failure reported back to the parent, and a capped, deadline-bound capture. Never a
// shell. The fault hook (faults.def "spawn") makes a start fail, for tests.
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pxos::os {

// The PATH of a child whose environment is built from nothing (git, nasm and the architect's
// commands), and the lookup path when the caller's own PATH is unset.
inline constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// PROGRAM on PATH_VAR: a name with '/' is taken as is; relative PATH entries ("", ".") are
// skipped, so a program is never picked up from the working directory. Empty when not found or
// not an executable regular file.
std::string find_program(std::string_view program, std::string_view path_var);
// The caller's $PATH, or kDefaultPath when unset.
std::string_view env_path();

struct SpawnOptions {
  std::string cwd;                                // empty: the caller's
  const std::vector<std::string>* env = nullptr;  // the whole environment ("K=V"); null: inherited
  bool capture = true;           // stdout+stderr merged into Child::out; false: inherited
  bool own_group = false;        // a process group of its own: kill(-pid) reaches every grandchild
  bool die_with_parent = false;  // SIGKILLed when pxos dies, even by SIGKILL (PR_SET_PDEATHSIG)
  bool no_core = false;          // RLIMIT_CORE 0: a crashing command leaves no core file behind
};

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of the merged stdout+stderr pipe (O_CLOEXEC), when captured
};

// Starts ARGV with stdin from /dev/null and default signal dispositions. argv[0] without '/' is
// looked up on the child's PATH (ENV's, else the caller's). A program that cannot be found or
// executed, or a failed chdir, is an error here, never a child exiting 127.
Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& opt = {});

// ---- run to completion, output captured --------------------------------------------------
struct RunOptions {
  std::string cwd;               // working directory of the child; empty: "/"
  std::vector<std::string> env;  // the child's whole environment ("K=V"); nothing inherited
  int timeout_ms = 120000;
  size_t output_cap = 64 << 10;  // bytes kept: the first and last halves when longer
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string output;  // stdout and stderr interleaved, possibly with a "[... N bytes cut ...]" mark
  size_t dropped = 0;  // bytes not kept
  double seconds = 0;
  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  std::string summary() const;  // "exit 0" | "exit 2" | "killed by signal 9" | "timed out after 2.0 s"
};

// Runs ARGV in its own process group (all of it SIGTERMed, then SIGKILLed, at the deadline or
// when the child exits and leaves grandchildren behind). Errors only for a failure to start; a
// command that fails is a RunResult with its status.
Result<RunResult> run_capture(const std::vector<std::string>& argv, const RunOptions& opt);

// Runs ARGV with stdin from /dev/null and stdout/stderr inherited, and waits for it: its wait status.
Result<int> run_inherit(const std::vector<std::string>& argv);

}  // namespace pxos::os
