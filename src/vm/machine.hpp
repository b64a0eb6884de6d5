// machine.hpp: one PixelVM instance: operand stack, return stack, frame locals, data memory,
// output buffer and fuel. Machines share nothing, so several runs in one process are isolated.
#pragma once
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "vm/hostcalls.hpp"
#include "vm/limits.hpp"
#include "vm/program.hpp"
#include "vm/traps.hpp"

namespace pxos::vm {

struct RunResult {
  bool halted = false;  // HALT (or RET at top level); otherwise `trap` says why it stopped
  Trap trap;              // kind, error kind, message, location; trap.error() for the CLI
  uint32_t trap_pc = 0;   // trap.pc, kept for callers that predate Trap
  uint64_t steps = 0;     // instructions executed (exact)
  double seconds = 0;
  uint64_t output_bytes = 0;
};

class Machine;

// What a step hook (RunOptions::on_step) tells the machine before an instruction runs.
enum class StepAction : uint8_t {
  go,      // run this instruction
  stop,    // stop here (trap `stopped`): the debugger quit or restarts
  detach,  // run on without the hook (a trace past its limit): the fast loop takes over
};

struct RunOptions {
  Limits limits;
  bool trace = false;              // each instruction, readable (vm/trace.hpp text form), to trace_out
  std::FILE* trace_out = stderr;
  // Called before each instruction on the exact loop (as trace is; the fast loop never sees it),
  // with the machine's state readable through pc(), stack(), locals(), call_site(), memory().
  // Program output is flushed before each call, so it interleaves in order. Host only.
  std::function<StepAction(const Machine&)> on_step;
  // A REPL's state carried from one run to the next: the operand stack (bottom first) and the
  // first memory words to start with (the rest start at zero).
  std::span<const int32_t> start_stack, start_memory;
  // Executions per cell (Program::cells() order), for heat-maps: runs the exact loop, as trace does.
  std::vector<uint64_t>* counts = nullptr;
  uint32_t entry = 0;              // byte offset to start at
  // Receives program output (PRINT, PRINT_STR, EMIT) in chunks; default: stdout.
  std::function<void(std::string_view)> output;
};

class Machine {
 public:
  Machine(const Program& p, HostEnv& env);
  RunResult run(const RunOptions& opt);

  // The state between instructions (inside on_step) or where the run stopped.
  std::span<const int32_t> stack() const { return {stack_.data(), depth_}; }
  std::span<int32_t> memory() { return mem_; }
  std::span<const int32_t> memory() const { return mem_; }
  uint32_t pc() const { return ip_ ? ip_->pc() : 0; }  // offset of the next (or trapping) instruction
  size_t call_depth() const { return size_t(fp_ - frames_.data()); }  // frames on the return stack
  uint32_t call_site(size_t i) const { return (frames_[i].ret - 1)->pc(); }  // frame i's CALL (0: outermost)
  std::span<const int32_t> locals() const { return {lp_, size_t(ltop_ - lp_)}; }  // the current frame's slots
  const Program& program() const { return prog_; }

 private:
  struct Frame { const Cell* ret; int32_t* lp; };
  enum class Exit { Halt, Trap, Refuel, OutOfFuel, Stopped };
  template <bool kExact, bool kTrace>
  Exit loop(int64_t& fuel);
  void bind(int mode, const void* const* table, bool supers);
  int32_t* host_call(const Cell* ip, int32_t* sp);
  void flush();
  bool past_deadline() const;
  void output_trap(const Cell* ip);
  bool emit_text(std::string_view s);  // false: output limit reached
  // The exact loop's per-step instrumentation: counts and the step hook. false: stop the run.
  bool trace_line(const Cell* ip, int32_t* sp, Frame* fp, int32_t* lp, int32_t* ltop);
  void set_trap(TrapKind k, const Cell* ip, const TrapContext& c = {});
  void set_trap(TrapKind k, Errc code, const Cell* ip, const TrapContext& c);  // code: not the row's

  const Program& prog_;
  HostEnv& env_;
  std::vector<Cell> cells_;  // a private copy: handlers are bound per interpreter mode
  int bound_mode_ = -1;
  std::vector<int32_t> stack_, locals_, mem_;
  std::vector<Frame> frames_;
  // registers saved between slices
  const Cell* ip_ = nullptr;
  int32_t* sp_ = nullptr;
  Frame* fp_ = nullptr;
  int32_t *lp_ = nullptr, *ltop_ = nullptr;
  size_t depth_ = 0;
  // output
  std::string out_;
  uint64_t out_total_ = 0;
  bool timed_out_ = false;  // the deadline passed during output
  int out_errno_ = 0;       // stdout refused the output (EPIPE: nobody reads; ENOSPC: full disk)
  const RunOptions* opt_ = nullptr;
  std::function<StepAction(const Machine&)> hook_;  // on_step, or the text tracer of `trace`
  bool hooked_ = false;                             // hook_ is called (not detached)
  Trap trap_;
};

}  // namespace pxos::vm
