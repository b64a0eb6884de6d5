// cmd_architect.cpp: `pxos architect`, the LLM development agent (src/architect/, docs/architect.md).
#include <unistd.h>

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "architect/agent.hpp"
#include "architect/config.hpp"
#include "cli/command.hpp"

namespace {
using namespace pxos;
using namespace pxos::architect;

struct Opts {
  std::string endpoint = "http://localhost:1234/v1", model = "local-model", workspace, mode = "interactive", goal;
  std::string api_key_env = "PXOS_ARCHITECT_API_KEY", commands_file, state, log;
  double interval = tun::kDefaultIntervalS;
  int max_iterations = 0, max_failures = tun::kMaxConsecutiveFailures, repairs = tun::kRepairAttempts;
  int timeout = tun::kRequestTimeoutS, attempts = tun::kMaxAttempts, backoff_ms = tun::kBackoffBaseMs;
  bool yes = false, resume = false, no_stream = false, no_schema = false;
};

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

bool has_gpu_check(CLI::App* root) {
  try {
    return root->get_subcommand("gpu")->get_subcommand("check") != nullptr;
  } catch (const CLI::Error&) {
    return false;
  }
}

void run(const Opts& o, CLI::App* root) {
  if (o.mode != "interactive" && o.mode != "autonomous")
    throw Failure(Error{Errc::Usage, "--mode must be interactive or autonomous"});
  bool autonomous = o.mode == "autonomous";
  if (autonomous && !o.yes)
    throw Failure(Error{Errc::Usage, "autonomous mode applies every action without asking: pass --yes to agree"});
  if (autonomous && o.goal.empty() && !o.resume)
    throw Failure(Error{Errc::Usage, "autonomous mode needs --goal TEXT (or --resume)"});
  if (o.interval < 0 || o.max_iterations < 0 || o.max_failures < 1 || o.repairs < 0 || o.timeout < 1 || o.attempts < 1)
    throw Failure(Error{Errc::Usage, "out-of-range option value"});

  // The workspace: the given folder, or the git repository around the current directory.
  std::string dir = o.workspace;
  if (dir.empty()) {
    auto g = must(Git::open("."));
    dir = g.toplevel();
  }
  auto ws = must(Workspace::open(dir));
  auto git = must(Git::open(ws.root()));

  CommandTable cmds = CommandTable::defaults();
  if (!o.commands_file.empty()) must(cmds.load_file(o.commands_file, ws));
  if (auto it = cmds.commands.find("gpu-check"); it != cmds.commands.end() && it->second.argv[0] == "{pxos}" &&
                                                 !has_gpu_check(root))
    it->second.unavailable = "this pxos build has no `pxos gpu check`, so WGSL cannot be compiled here";

  std::string sdir = git.git_dir() + "/pxos-architect";  // inside .git: out of the model's reach
  ::mkdir(sdir.c_str(), 0700);
  AgentOptions a;
  a.goal = o.goal;
  a.interactive = !autonomous;
  a.yes = o.yes;
  a.resume = o.resume;
  a.use_schema = !o.no_schema;
  a.interval_s = o.interval;
  a.max_iterations = o.max_iterations;
  a.max_failures = o.max_failures;
  a.repair_attempts = o.repairs;
  a.state_path = o.state.empty() ? sdir + "/state.json" : o.state;
  a.log_path = o.log.empty() ? sdir + "/log.jsonl" : o.log;
  a.history_path = sdir + "/history";
  a.pxos_exe = self_exe();

  ClientConfig c;
  c.endpoint = o.endpoint;
  c.model = o.model;
  if (const char* k = std::getenv(o.api_key_env.c_str())) c.api_key = k;
  c.timeout_s = o.timeout;
  c.max_attempts = o.attempts;
  c.backoff_base_ms = o.backoff_ms;
  c.stream = !o.no_stream;
  c.max_tokens = tun::kMaxTokens;

  install_sigint_handler();
  Agent agent(a, c, std::move(cmds), std::move(ws), std::move(git));
  must(agent.init());
  int rc = autonomous ? agent.run_autonomous() : agent.run_interactive();
  std::fflush(stdout);
  if (rc) cli::set_exit_code(rc);
}

pxos::cli::Register reg(90, {"architect"}, [](CLI::App& app) {
  auto* s = app.add_subcommand("architect", "LLM development agent: one structured action per turn, sandboxed, "
                                            "every change a git commit (docs/architect.md)");
  auto o = std::make_shared<Opts>();
  s->add_option("--endpoint", o->endpoint, "OpenAI-compatible base URL")->capture_default_str();
  s->add_option("--model", o->model, "model name sent to the server")->capture_default_str();
  s->add_option("--workspace", o->workspace, "git work tree to work in (default: the repository around .)");
  s->add_option("--mode", o->mode, "interactive | autonomous")->capture_default_str();
  s->add_option("--goal", o->goal, "what to work towards");
  s->add_option("--interval", o->interval, "seconds between autonomous steps")->capture_default_str();
  s->add_option("--max-iterations", o->max_iterations, "stop after N steps (0: no limit)")->capture_default_str();
  s->add_option("--max-failures", o->max_failures, "stop after N consecutive failed steps")->capture_default_str();
  s->add_option("--repair-attempts", o->repairs, "re-asks per turn after a malformed reply")->capture_default_str();
  s->add_option("--timeout", o->timeout, "seconds allowed for one model request")->capture_default_str();
  s->add_option("--attempts", o->attempts, "tries per request on connection errors and 5xx")->capture_default_str();
  s->add_option("--backoff-ms", o->backoff_ms, "first retry pause (doubles each try)")->capture_default_str();
  s->add_option("--api-key-env", o->api_key_env, "environment variable holding the API key, if any")->capture_default_str();
  s->add_option("--commands", o->commands_file, "JSON command table (outside the workspace)");
  s->add_option("--state", o->state, "state file (default: .git/pxos-architect/state.json)");
  s->add_option("--log", o->log, "JSON-lines log (default: .git/pxos-architect/log.jsonl)");
  s->add_flag("--yes,-y", o->yes, "apply actions without asking");
  s->add_flag("--resume", o->resume, "continue from the state file");
  s->add_flag("--no-stream", o->no_stream, "ask for the whole reply at once");
  s->add_flag("--no-schema", o->no_schema, "do not send response_format (replies are still validated)");
  s->callback([o, s] { run(*o, s->get_parent()); });
}, pxos::cli::Tree::All);  // run() asks the tree whether this build has `pxos gpu check`
}  // namespace
