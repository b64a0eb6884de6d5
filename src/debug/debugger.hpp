// debugger.hpp: the core of `pxos debug`: a command parser (commands.def; fuzzed) and a session
// that drives a Machine through its step hook: breakpoints, stepping, watches, inspection.
// The CLI (src/cli/cmd_debug.cpp) only supplies the lines and the output; tests drive it here.
#pragma once
#include <csignal>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "isa/symbols.hpp"
#include "vm/machine.hpp"

namespace pxos::debug {

inline constexpr int64_t kDefaultExamineWords = 8;  // `x ADDR` without a count
inline constexpr int64_t kMaxExamineWords = 4096;   // one `x` shows at most this many words
inline constexpr int kListContext = 4;              // `list`: lines either side of the centre

enum class Cmd : uint8_t {
#define CMD(id, name, aliases, args, help) id,
#include "debug/commands.def"
#undef CMD
};

struct CmdInfo { Cmd id; std::string_view name, aliases, args, help; };
const std::vector<CmdInfo>& commands();

// Where a breakpoint goes, as typed (resolved against the module by the session).
struct Location {
  enum Kind : uint8_t { at_label, at_line, at_offset } kind = at_offset;
  std::string name;  // the label (and the FILE of FILE:LINE, checked against the module's source)
  int64_t value = 0;  // the offset, line, or the +N after a label
};

struct Command {
  Cmd cmd = Cmd::help;
  std::string word;              // info/print: what to show
  std::optional<int64_t> a, b;   // counts, addresses, breakpoint numbers
  Location loc;                  // break
};

// One line -> a command; Errc::Usage naming what is wrong, one line. An empty line or a
// comment (#) parses to nullopt.
Result<std::optional<Command>> parse_command(std::string_view line);

class Session {
 public:
  // The transcript (and program output); false: it cannot be written (a closed pipe, a full
  // disk), which ends the session and its program at the next step.
  using Sink = std::function<bool(std::string_view)>;
  using Reader = std::function<std::optional<std::string>()>;  // the next command line
  // source: the program's source text when known (for source lines), else empty.
  Session(const vm::Program& p, vm::HostEnv& env, const vm::Limits& lim, Sink out, std::string source = {});
  // Reads and runs commands until `quit` or the end of input. origin names the command source
  // in error lines ("cmds.txt" -> "cmds.txt:3: ..."); empty for a terminal. Returns how many
  // commands failed.
  size_t run(const Reader& next, std::string origin = {});
  // A flag an interrupt handler sets (SIGINT in the CLI): the running program stops at its
  // next instruction, as at a breakpoint, and the flag is cleared.
  void interrupt_on(volatile std::sig_atomic_t* flag) { interrupt_ = flag; }

 private:
  enum class State : uint8_t { idle, stopped, exited };
  enum class Mode : uint8_t { run, step, next, finish };
  struct Pending { bool quit = false, restart = false; Mode mode = Mode::run; int64_t count = 1; };
  struct Point { int id; bool watch; uint32_t at; int32_t old = 0; };

  Pending command_loop();
  Result<std::optional<Pending>> execute(const Command& c);
  Pending start(Pending p);
  vm::StepAction on_step(const vm::Machine& m);
  void arm(const Pending& p, const vm::Machine* m);
  Result<uint32_t> resolve(const Location& l) const;
  Result<uint32_t> memory_address(int64_t a) const;
  Status need_machine(std::string_view what) const;
  std::string describe(uint32_t pc) const;     // "0x000c fib (fib.pxasm:10)"
  std::string source_line(uint32_t line) const;  // "   10 |     LOCALS 1\n", or ""
  void show_stop(const vm::Machine& m, const std::string& why);
  void print(std::string_view s) { out_ok_ = out_(s) && out_ok_; }

  const vm::Program& prog_;
  vm::HostEnv& env_;
  vm::Limits limits_;
  Sink out_;
  isa::Symbolizer sym_;
  std::vector<std::string> lines_;  // source text by line (1-based: lines_[0] is line 1)
  const Reader* reader_ = nullptr;
  std::string origin_;
  uint64_t lineno_ = 0;
  size_t errors_ = 0;
  State state_ = State::idle;
  const vm::Machine* machine_ = nullptr;
  std::vector<Point> points_;
  int next_id_ = 1;
  // the resume in progress
  Mode mode_ = Mode::run;
  int64_t remaining_ = 0;
  size_t depth_ = 0;
  bool quit_ = false, restart_ = false;
  bool out_ok_ = true;
  volatile std::sig_atomic_t* interrupt_ = nullptr;
  uint32_t prev_pc_ = 0;
  bool have_prev_ = false;
  uint32_t list_next_ = 0;  // where a bare `list` goes on
};

}  // namespace pxos::debug
