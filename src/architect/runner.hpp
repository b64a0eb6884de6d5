// runner.hpp: runs one argument vector, never a shell: own process group (killed as a whole on
// timeout), cleaned environment, stdin from /dev/null, stdout+stderr captured up to a cap.
#pragma once
#include <string>
#include <vector>

#include "common/error.hpp"

namespace pxos::architect {

struct RunOptions {
  std::string cwd;                // working directory of the child
  std::vector<std::string> env;   // the child's whole environment ("K=V"); nothing inherited
  int timeout_ms = 120000;
  size_t output_cap = 64 << 10;   // bytes kept: the first and last halves when longer
};

struct RunResult {
  int exit_code = -1;     // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string output;     // stdout and stderr interleaved, possibly with a "[... N bytes cut ...]" mark
  size_t dropped = 0;     // bytes not kept
  double seconds = 0;
  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  std::string summary() const;  // "exit 0" | "exit 2" | "killed by signal 9" | "timed out after 2.0 s"
};

// Finds PROGRAM on PATH (a name with '/' is taken as is). Empty when not found / not executable.
std::string find_program(const std::string& program, const std::string& path_var);

// Runs ARGV (argv[0] must be an absolute path: see find_program). Errors only for a failure to
// start (fork/pipe/exec); a command that fails is a RunResult with its status.
Result<RunResult> run_argv(const std::vector<std::string>& argv, const RunOptions& opt);

}  // namespace pxos::architect
