// agent.hpp: the architect's loop. One turn = ask the model (with repair turns for malformed
// replies), show the action, confirm, apply it through the sandbox, commit, remember the
// result (agent.cpp: the loop; apply.cpp: applying; console.cpp: terminal and REPL). Interactive (libedit prompt, /undo /diff /log /quit) or autonomous (--interval,
// --max-iterations, consecutive-failure limit, "done", Ctrl-C after the current step).
#pragma once
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "architect/action.hpp"
#include "architect/client.hpp"
#include "architect/commands.hpp"
#include "architect/git.hpp"
#include "architect/prompt.hpp"
#include "architect/sandbox.hpp"
#include "architect/state.hpp"
#include "common/lineedit.hpp"

namespace pxos::architect {

struct AgentOptions {
  std::string goal;
  bool interactive = false;
  bool yes = false;
  bool resume = false;
  bool use_schema = true;
  double interval_s = 10;
  int max_iterations = 0;   // 0: no limit
  int max_failures = 3;
  int repair_attempts = 2;
  std::string state_path, log_path, history_path;
  std::string pxos_exe;     // this binary (for `pxos asm`, `pxos gpu check`)
};

struct ActionResult {
  bool ok = false;
  bool done = false;
  std::string text;    // what goes back to the model
  std::string commit;  // new commit id, when one was made
};

class Agent {
 public:
  Agent(AgentOptions o, ClientConfig c, CommandTable t, Workspace ws, Git git);
  ~Agent();
  Status init();            // state (fresh or --resume), log, temp dir
  int run_autonomous();     // exit status
  int run_interactive();
  ActionResult apply(const Action& a);  // public for tests

 private:
  struct Turn { bool ok = false, fatal = false; Action action; std::string error; };
  Turn ask(bool live);
  bool step(bool live, bool* done, bool* fatal);  // one full iteration
  bool confirm(const Action& a);
  void show(const Action& a);
  void save_state();
  ActionResult write_checked(const Action& a, const std::string& resolved_rel, Check check);
  std::optional<std::string> check_content(const std::string& content, const std::string& resolved_rel, Check check,
                                           std::string* note);
  Status no_protected_link_to(const std::string& resolved_rel) const;
  ActionResult run_named(const std::string& name, const std::vector<std::string>& args);
  std::vector<std::string> child_env() const;
  std::string read_line(const char* prompt, bool* eof);

  AgentOptions opt_;
  Client client_;
  CommandTable cmds_;
  Workspace ws_;
  Git git_;
  State st_;
  EventLog log_;
  std::string tmpdir_;
  bool schema_on_;
  std::unique_ptr<os::LineReader> lines_;  // the prompt; made on first read
};

// Set from the SIGINT handler: stop after the current step.
bool stop_requested();
void install_sigint_handler();

}  // namespace pxos::architect
