// console.cpp: the architect at a terminal: Ctrl-C (stop after the current step), showing an
// action escaped, the y/N confirmation, the libedit prompt and the interactive REPL
// (/undo /diff /log /help /quit).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "architect/agent.hpp"
#include "architect/text.hpp"

namespace pxos::architect {

namespace {
volatile sig_atomic_t g_stop = 0;

void on_sigint(int) {
  if (g_stop) {  // second Ctrl-C: leave now
    ::signal(SIGINT, SIG_DFL);
    ::raise(SIGINT);
    return;
  }
  g_stop = 1;
  const char msg[] = "\n[architect] Ctrl-C: stopping after the current step (Ctrl-C again to abort now)\n";
  ssize_t w = ::write(2, msg, sizeof msg - 1);
  (void)w;
}

}  // namespace

bool stop_requested() { return g_stop != 0; }
void install_sigint_handler() {
  struct sigaction sa{};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
}

void Agent::show(const Action& a) {
  // Every field is the model's: escaped, one line each (a newline in a task cannot forge a
  // "file:" line), and a cut is always marked so the user knows what was not shown.
  std::printf("\n  task:      %s\n  action:    %s\n", term_line(a.task).c_str(), std::string(info(a.kind).name).c_str());
  if (!a.file_path.empty()) std::printf("  file:      %s\n", printable(a.file_path).c_str());
  if (!a.command.empty()) {
    std::string args;
    for (auto& x : a.args) args += " " + printable(x);
    std::printf("  command:   %s%s\n", printable(a.command).c_str(), args.c_str());
  }
  std::printf("  rationale: %s\n", term_line(a.rationale, 400).c_str());
  if (!a.content.empty()) {
    size_t total = size_t(std::count(a.content.begin(), a.content.end(), '\n')) + (a.content.back() != '\n');
    std::printf("  content (%zu bytes, %zu line(s)):\n", a.content.size(), total);
    size_t lines = 0, pos = 0;
    while (pos < a.content.size() && lines < 20) {
      size_t e = a.content.find('\n', pos);
      if (e == std::string::npos) e = a.content.size();
      std::string line = a.content.substr(pos, e - pos);
      bool cut = line.size() > 160;
      std::printf("    | %s%s\n", term_text(cut ? one_line(line, 160) : line).c_str(), cut ? " [line cut]" : "");
      pos = e + 1;
      ++lines;
    }
    if (pos < a.content.size()) std::printf("    | ... [%zu more lines not shown]\n", total - lines);
  }
  std::fflush(stdout);
}

std::string Agent::read_line(const char* prompt, bool* eof) {
  if (!lines_) lines_ = std::make_unique<os::LineReader>();
  auto l = lines_->read(prompt);
  *eof = !l;
  return l ? std::move(*l) : std::string();
}

bool Agent::confirm(const Action& a) {
  if (opt_.yes || !info(a.kind).has_effect) return true;
  bool eof = false;
  std::string ans = read_line("apply this action? [y/N] ", &eof);
  return !eof && (ans == "y" || ans == "Y" || ans == "yes");
}

int Agent::run_interactive() {
  lines_ = std::make_unique<os::LineReader>(opt_.history_path);
  std::printf("pxos architect: %s, model %s, workspace %s\n"
              "Type a goal (an empty line continues the current one); /undo /diff /log /help /quit\n",
              printable(client_.url()).c_str(), printable(client_.config().model).c_str(), printable(ws_.root()).c_str());
  if (!st_.goal.empty()) std::printf("current goal: %s\n", term_line(st_.goal, 400).c_str());
  std::fflush(stdout);
  int rc = 0;
  while (true) {
    g_stop = 0;
    bool eof = false;
    std::string line = read_line("architect> ", &eof);
    if (eof) break;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    lines_->remember(line);
    if (line == "/quit" || line == "/exit") break;
    if (line == "/help") {
      std::printf("/undo  revert the newest architect commit\n/diff  show the newest architect commit and "
                  "uncommitted changes\n/log   architect commits\n/quit  leave\nanything else: a new goal\n");
      continue;
    }
    if (line == "/undo") {
      auto u = git_.undo();
      log_.event("undo", {{"ok", bool(u)}, {"text", u ? *u : u.error().detail}});
      std::printf("%s\n", term_text(u ? *u : u.error().detail).c_str());
      if (u) st_.history.push_back({st_.iteration, "undo", "the user reverted the last change", "", "", true, *u});
      save_state();
      continue;
    }
    if (line == "/diff" || line == "/log") {
      auto d = line == "/diff" ? git_.show_last() : git_.log(20);
      std::printf("%s\n", term_text(d ? *d : d.error().detail).c_str());
      continue;
    }
    if (!line.empty() && line.front() == '/') {
      std::printf("unknown command %s (/help)\n", printable(line).c_str());
      continue;
    }
    if (!line.empty()) st_.goal = line;
    if (st_.goal.empty()) {
      std::printf("type a goal first\n");
      continue;
    }
    bool done = false, fatal = false;
    step(true, &done, &fatal);
    if (fatal) { rc = errc_exit_status(Errc::ArchitectError); break; }
    if (done) std::printf("the model reports the goal done\n");
  }
  log_.event("stop", {{"reason", "quit"}});
  return rc;
}

}  // namespace pxos::architect
