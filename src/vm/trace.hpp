// trace.hpp: the readable trace of a run (pxos run --trace, --trace-json): one line per
// instruction with its offset, label+offset, source line, call depth, symbolised instruction
// and stack. A step hook (RunOptions::on_step), so the untraced dispatch loop never sees it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "isa/symbols.hpp"
#include "vm/machine.hpp"

namespace pxos::vm {

inline constexpr size_t kTraceStackValues = 8;  // the top values shown per text line (JSON: all)

enum class TraceFormat : uint8_t { text, json };

class Tracer {
 public:
  // limit: lines to write (0: no limit); past it, one note line and the run goes on untraced.
  Tracer(const Program& p, std::FILE* out, TraceFormat f = TraceFormat::text, uint64_t limit = 0);
  StepAction operator()(const Machine& m);
  // One step as text: "0x001c  fizz+0x4      12  d1  JZ buzz                  [1 0]".
  std::string text_line(const Machine& m) const;
  // One step as one JSON object (nlohmann), no newline.
  std::string json_line(const Machine& m) const;

 private:
  const Program& prog_;
  isa::Symbolizer sym_;
  std::FILE* out_;
  TraceFormat fmt_;
  uint64_t limit_, lines_ = 0;
};

}  // namespace pxos::vm
