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

struct RunOptions {
  Limits limits;
  bool trace = false;              // each instruction with the stack, to trace_out
  std::FILE* trace_out = stderr;
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

  std::span<const int32_t> stack() const { return {stack_.data(), depth_}; }
  std::span<int32_t> memory() { return mem_; }
  const Program& program() const { return prog_; }

 private:
  enum class Exit { Halt, Trap, Refuel, OutOfFuel };
  template <bool kExact, bool kTrace>
  Exit loop(int64_t& fuel);
  void bind(int mode, const void* const* table, bool supers);
  int32_t* host_call(const Cell* ip, int32_t* sp);
  void flush();
  bool past_deadline() const;
  void output_trap(const Cell* ip);
  bool emit_text(std::string_view s);  // false: output limit reached
  void trace_line(const Cell* ip, const int32_t* sp);
  void set_trap(TrapKind k, const Cell* ip, const TrapContext& c = {});
  void set_trap(TrapKind k, Errc code, const Cell* ip, const TrapContext& c);  // code: not the row's

  const Program& prog_;
  HostEnv& env_;
  std::vector<Cell> cells_;  // a private copy: handlers are bound per interpreter mode
  int bound_mode_ = -1;
  std::vector<int32_t> stack_, locals_, mem_;
  struct Frame { const Cell* ret; int32_t* lp; };
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
  Trap trap_;
};

}  // namespace pxos::vm
