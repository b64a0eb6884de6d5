// fuzz_debug_cmd.cpp: any text as debugger commands. Each line either parses or fails with one
// line of Errc::Usage; then the whole text drives a session on a small program with a call, a
// loop and memory writes, which must end (the program halts, end of input quits) and report
// at least every line the parser refused (of those it read).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "asm/assembler.hpp"
#include "debug/debugger.hpp"

namespace {
constexpr size_t kMaxLines = 64;  // a session per input: keep each run short

const pxos::vm::Program& program() {
  static const pxos::vm::Program p = [] {
    auto m = pxos::assembler::assemble(
        "main: PUSH 4\nloop: DUP\nDUP\nCALL sq\nSWAP\nSTOREI\nDEC\nDUP\nJNZ loop\nPRINT\nHALT\n"
        "sq: LOCALS 1\nLTEE 0\nLGET 0\nMUL\nRET\n",
        "fuzz.pxasm");
    if (!m) std::abort();
    auto p = pxos::vm::Program::load(std::move(*m));
    if (!p) std::abort();
    return std::move(*p);
  }();
  return p;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  std::vector<bool> refused;
  while (!text.empty() && lines.size() < kMaxLines) {
    size_t nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto c = pxos::debug::parse_command(line);
    if (!c) {
      if (c.error().code != pxos::Errc::Usage || c.error().detail.empty() ||
          c.error().detail.find('\n') != std::string::npos)
        std::abort();  // one line of usage error, always
    }
    refused.push_back(!c);
    lines.push_back(std::move(line));
  }
  pxos::vm::HostEnv env;
  env.input = nullptr;
  pxos::vm::Limits lim;
  lim.max_steps = 10000;
  size_t at = 0, bytes = 0;
  pxos::debug::Session s(program(), env, lim, [&](std::string_view o) { return (bytes += o.size()) > 0; });
  size_t failed = s.run([&]() -> std::optional<std::string> {
    if (at == lines.size()) return std::nullopt;
    return lines[at++];
  });
  // every refused line the session read (it stops reading at `quit`) counts as failed
  size_t want = size_t(std::count(refused.begin(), refused.begin() + ptrdiff_t(at), true));
  if (failed < want || bytes == 0) std::abort();
  return 0;
}
