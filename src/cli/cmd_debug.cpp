// cmd_debug.cpp: `pxos debug` (gdb-like sessions, src/debug/debugger.hpp) and `pxos repl`
// (instructions run as typed, src/debug/repl.hpp). Commands come from --commands FILE, a
// terminal (libedit, dlopen'd by os::LineReader) or a non-terminal stdin (echoed, for transcripts).
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/command.hpp"
#include "cli/loader.hpp"
#include "common/fs.hpp"
#include "common/lineedit.hpp"
#include "debug/debugger.hpp"
#include "debug/repl.hpp"

namespace pxos::cli {
namespace {

struct DebugArgs {
  std::string input, commands;
  uint64_t max_steps = 0;
  uint32_t memory_words = vm::kDefaultMemoryWords;
  std::vector<std::string> grant, deny;
};

// false once stdout refuses (main reports the error at exit, or exits quietly on a closed pipe)
bool out(std::string_view s) { return std::fwrite(s.data(), 1, s.size(), stdout) == s.size() && !std::ferror(stdout); }

// The lines of a session: a commands file, a terminal with editing, or a piped stdin. Off a
// terminal each line is echoed after the prompt so the transcript reads like the session.
struct Lines {
  std::vector<std::string> file;
  size_t at = 0;
  bool from_file = false, tty = false;
  std::unique_ptr<os::LineReader> editor;
  std::string prompt;

  Lines(const std::string& commands, std::string p) : prompt(std::move(p)) {
    if (!commands.empty()) {
      std::string text = must(read_text(commands));
      from_file = true;
      std::string_view s = text;
      while (!s.empty()) {
        size_t nl = s.find('\n');
        file.emplace_back(s.substr(0, nl));
        s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
      }
    } else if (::isatty(0)) {
      tty = true;
      editor = std::make_unique<os::LineReader>();
    }
  }
  std::optional<std::string> next() {
    std::fflush(stdout);
    if (std::ferror(stdout)) return std::nullopt;  // nobody reads the transcript: end (main reports it)
    std::optional<std::string> l;
    if (tty) {
      l = editor->read(prompt.c_str());
      if (l) editor->remember(*l);
      return l;
    }
    if (from_file) {
      if (at == file.size()) return std::nullopt;
      l = file[at++];
    } else {
      std::string s;
      if (!std::getline(std::cin, s)) return std::nullopt;
      l = std::move(s);
    }
    out(prompt + *l + "\n");
    std::fflush(stdout);  // the echo is in the transcript before the command runs (a long `run`)
    return l;
  }
  std::string origin(const std::string& commands) const { return from_file ? commands : tty ? "" : "<stdin>"; }
};

// Ctrl-C (SIGINT) stops the running program at its next instruction, as gdb does, rather than
// ending the session; one at the prompt is dropped when the program resumes (SA_RESTART keeps a
// piped read going).
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

vm::HostEnv make_env(const DebugArgs& a) {
  vm::HostEnv env;
  env.granted = vm::kDefaultCaps;
  env.granted |= must(vm::parse_caps(a.grant, "--grant"));
  env.granted &= ~must(vm::parse_caps(a.deny, "--deny"));
  return env;
}

void common_flags(CLI::App* s, DebugArgs& a) {
  s->add_option("--commands", a.commands, "read the commands from FILE (a script; one command a line, # comments)");
  s->add_option("--max-steps", a.max_steps, "stop with a trap after N instructions")->check(at_least("--max-steps"));
  s->add_option("--memory-words", a.memory_words, "data memory size in words (default 1024, max 65536)");
  s->add_option("--grant", a.grant, fmt::format("grant a capability ({} are granted by default)", vm::cap_list(vm::kDefaultCaps)));
  s->add_option("--deny", a.deny, "deny a capability");
}

void check_memory(const DebugArgs& a) {
  if (a.memory_words == 0 || a.memory_words > vm::kMaxMemoryWords)
    throw Failure(Error{Errc::Usage, fmt::format("--memory-words {}: must be 1..{}", a.memory_words, vm::kMaxMemoryWords)});
}

Register reg(21, {"debug", "repl"}, [](CLI::App& app) {
  auto a = std::make_shared<DebugArgs>();
  auto* s = app.add_subcommand("debug", "Debug a program: breakpoints, stepping, watches, stack and memory (docs/debugging.md)");
  s->add_option("input", a->input, "program (.pxi, .pxasm, cart, god-pixel key)")->required();
  common_flags(s, *a);
  s->callback([a] {
    check_memory(*a);
    isa::Module m = must(load_module(a->input));
    std::string source;  // for source lines; a module whose source cannot be read shows line numbers only
    if (!m.source.empty())
      if (auto t = read_text(m.source)) source = std::move(*t);
    vm::VerifyOptions vo;
    vo.memory_words = a->memory_words;
    vm::Program prog = must(vm::Program::load(std::move(m), vo));
    Lines lines(a->commands, "(pxdb) ");
    vm::HostEnv env = make_env(*a);
    vm::Limits lim;
    lim.max_steps = a->max_steps;
    lim.memory_words = a->memory_words;
    debug::Session session(prog, env, lim, out, std::move(source));
    struct sigaction sa{}, old{};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    session.interrupt_on(&g_interrupted);
    size_t failed = session.run([&lines] { return lines.next(); }, lines.origin(a->commands));
    sigaction(SIGINT, &old, nullptr);
    std::fflush(stdout);
    if (failed) {
      std::fprintf(stderr, "pxos: debug: %zu command%s failed\n", failed, failed == 1 ? "" : "s");
      set_exit_code(errc_exit_status(Errc::Usage));
    }
  });

  auto r = std::make_shared<DebugArgs>();
  auto* rs = app.add_subcommand("repl", "Type instructions and see the stack after each; labels and memory persist");
  common_flags(rs, *r);
  rs->callback([r] {
    check_memory(*r);
    Lines lines(r->commands, "px> ");
    vm::HostEnv env = make_env(*r);
    vm::Limits lim;
    lim.max_steps = r->max_steps;
    lim.memory_words = r->memory_words;
    debug::Repl repl(env, lim);
    if (lines.tty) out("pxos repl: type instructions (PUSH 2, ADD, labels too); :help lists commands\n");
    size_t failed = 0, n = 0;
    std::string origin = lines.origin(r->commands);
    while (!repl.quit()) {
      auto l = lines.next();
      if (!l) break;
      ++n;
      std::string_view t = *l;
      while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
      if (t.empty()) continue;
      debug::ReplReply rep = t.starts_with(':') ? repl.command(t) : repl.feed(*l);
      out(rep.output);
      if (!rep.ok) {
        ++failed;
        out(fmt::format("{}:{}: error: {}\n", origin.empty() ? "line" : origin, n, rep.error));
      } else if (!t.starts_with(':')) {
        out(repl.stack_text() + "\n");
      }
    }
    std::fflush(stdout);
    if (failed) {
      std::fprintf(stderr, "pxos: repl: %zu line%s failed\n", failed, failed == 1 ? "" : "s");
      set_exit_code(errc_exit_status(Errc::Usage));
    }
  });
});

}  // namespace
}  // namespace pxos::cli
