// process.hpp: the process half of the OS layer: the one PATH lookup (with the one default PATH),
// the one spawner (argument vector, never a shell; own process group; environment given whole;
// stdin from /dev/null; stdout+stderr into one pipe) and run-to-completion with a timeout.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace pxos::os {

// ---- tunables ---------------------------------------------------------------------------
inline constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";  // cleaned children's PATH
inline constexpr int kKillGraceMs = 500;  // SIGTERM → SIGKILL

// Finds PROGRAM on PATH_VAR (a name with '/' is taken as is; relative PATH entries are skipped).
// Empty when not found or not executable.
std::string find_program(const std::string& program, const std::string& path_var = kDefaultPath);
// PATH of this process, or kDefaultPath when unset.
std::string inherited_path();

struct SpawnOptions {
  std::string cwd;                              // empty: inherit
  std::optional<std::vector<std::string>> env;  // the whole environment ("K=V"); nullopt: inherit
  bool own_group = true;                        // setpgid: stop() kills every grandchild too
  bool die_with_parent = false;                 // PR_SET_PDEATHSIG(SIGKILL)
};
struct Child {
  pid_t pid = -1;
  int out = -1;  // read end: stdout + stderr, merged
  bool own_group = true;
  bool exited = false;
  int status = 0;  // waitpid status once exited
};
// argv[0] must be an absolute path (see find_program). Fails for pipe/fork/exec errors.
Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& o = {});
bool reap(Child& c, bool block);  // true once exited
void stop(Child& c);              // SIGTERM, grace, SIGKILL (the group when own_group), reap

struct RunOptions {
  std::string cwd;                // working directory of the child ("/" when empty)
  std::vector<std::string> env;   // the child's whole environment ("K=V"); nothing inherited
  int timeout_ms = 120000;
  size_t output_cap = 64 << 10;   // bytes kept: the first and last halves when longer
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
// Runs ARGV to completion in its own process group (killed as a whole on timeout).
Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& opt);

}  // namespace pxos::os
