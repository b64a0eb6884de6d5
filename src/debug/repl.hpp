// repl.hpp: the core of `pxos repl`: each line of assembler text runs as it is typed, after the
// lines kept so far (so their labels can be jumped to and called), with the stack and memory
// carried from line to line. A line that fails to assemble or traps is dropped, state unchanged.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "vm/machine.hpp"

namespace pxos::debug {

// A typed endless loop must not hang the prompt: each line gets this many steps (--max-steps).
inline constexpr uint64_t kReplMaxSteps = 100'000'000;
inline constexpr std::string_view kReplSource = "<repl>";  // the name in diagnostics

struct ReplReply {
  std::string output;  // what the line printed
  bool ok = true;      // false: `error` says why; the line was dropped
  std::string error;   // one line, no location: "col 1: unknown mnemonic 'X'", "DIV: division by zero (at loop+0x3)"
  Errc code = Errc::Ok;
};

class Repl {
 public:
  Repl(vm::HostEnv& env, vm::Limits lim);
  ReplReply feed(std::string_view line);
  // `:name args` lines (":help" lists them): the reply's output, or an error.
  ReplReply command(std::string_view line);
  bool quit() const { return quit_; }
  const std::vector<int32_t>& stack() const { return stack_; }
  const std::vector<int32_t>& memory() const { return mem_; }
  std::string stack_text() const;  // "[1 2 3]"

 private:
  vm::HostEnv& env_;
  vm::Limits lim_;
  std::string source_;  // the kept lines
  uint32_t code_end_ = 0;  // code bytes of the kept lines (where the next line starts)
  std::vector<int32_t> stack_, mem_;
  bool quit_ = false;
};

}  // namespace pxos::debug
