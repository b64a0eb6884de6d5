// agent.cpp: the turn loop: state (fresh or --resume), one request with its repair turns, one
// step (ask, show, confirm, apply, remember), and the autonomous loop. The console, applying
// an action and the state/log live in console.cpp, apply.cpp and state.cpp.
#include "architect/agent.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "architect/config.hpp"
#include "architect/text.hpp"
#include "common/fs.hpp"
#include "common/spawn.hpp"

namespace pxos::architect {
using nlohmann::json;
namespace fs = std::filesystem;

Agent::Agent(AgentOptions o, ClientConfig c, CommandTable t, Workspace ws, Git git)
    : opt_(std::move(o)), client_(std::move(c)), cmds_(std::move(t)), ws_(std::move(ws)), git_(std::move(git)),
      schema_on_(opt_.use_schema) {}

Agent::~Agent() {
  if (!tmpdir_.empty()) {
    std::error_code ec;
    fs::remove_all(tmpdir_, ec);
  }
}

Status Agent::init() {
  if (opt_.resume) {
    auto text = read_text(opt_.state_path, 16 << 20);
    if (!text) return failf(Errc::Usage, "--resume: no state at {} ({})", opt_.state_path, text.error().detail);
    json j;
    try {
      j = json::parse(*text);
    } catch (const json::exception& e) {
      return failf(Errc::ArchitectError, "{}: {}", opt_.state_path, e.what());
    }
    auto s = State::from_json(j);
    if (!s) return failf(Errc::ArchitectError, "{}: {}", opt_.state_path, s.error().detail);
    st_ = std::move(*s);
    st_.consecutive_failures = 0;
    if (!opt_.goal.empty()) st_.goal = opt_.goal;
  } else {
    st_.goal = opt_.goal;
  }
  // A hooks folder configured into the repository (husky-style) runs on the user's next commit.
  if (auto hp = git_.hooks_path(); hp && !hp->empty()) {
    std::string abs = hp->front() == '/' ? *hp : git_.toplevel() + "/" + *hp;
    char buf[PATH_MAX];
    if (::realpath(abs.c_str(), buf)) abs = buf;
    if (abs.starts_with(ws_.root() + "/"))
      ws_.protect(abs.substr(ws_.root().size() + 1), "the repository's core.hooksPath: hooks run on commit");
  }
  if (auto s = log_.open(opt_.log_path); !s) return s;
  char tmpl[] = "/tmp/pxos-architect-XXXXXX";
  if (!::mkdtemp(tmpl)) return failf(Errc::Io, "mkdtemp: {}", errno_text(errno));
  tmpdir_ = tmpl;
  log_.event("start", {{"goal", st_.goal}, {"mode", opt_.interactive ? "interactive" : "autonomous"},
                       {"endpoint", client_.config().endpoint}, {"model", client_.config().model},
                       {"workspace", ws_.root()}, {"resume", opt_.resume}, {"iteration", st_.iteration}});
  save_state();
  return {};
}

void Agent::save_state() {
  while (st_.history.size() > tun::kHistoryKept) st_.history.erase(st_.history.begin());
  if (auto s = write_file_atomic(opt_.state_path, st_.to_json().dump(2) + "\n", 0600); !s)
    std::fprintf(stderr, "architect: cannot save state: %s\n", term_line(s.error().detail, 400).c_str());
}

std::vector<std::string> Agent::child_env() const {
  std::vector<std::string> env = {fmt::format("PATH={}", os::kDefaultPath), "TMPDIR=" + tmpdir_, "TERM=dumb",
                                  "NO_COLOR=1"};
  for (auto& name : cmds_.env_passthrough)
    if (const char* v = std::getenv(name.c_str()); v && name != "PATH" && name != "TMPDIR")
      env.push_back(name + "=" + v);
  return env;
}

Agent::Turn Agent::ask(bool live) {
  Turn turn;
  json messages = json::array();
  messages.push_back({{"role", "system"}, {"content", system_prompt(ws_, git_, cmds_)}});
  messages.push_back({{"role", "user"}, {"content", user_message(st_.goal, st_.iteration, st_.history, tun::kResultsTokenBudget)}});
  for (int repair = 0;; ++repair) {
    auto t0 = std::chrono::steady_clock::now();
    log_.event("request", {{"iteration", st_.iteration}, {"repair", repair}, {"schema", schema_on_},
                           {"url", client_.url()}, {"model", client_.config().model}, {"messages", messages}});
    std::function<void(std::string_view)> on_delta;
    PrintableStream shown(Keep::Lines);  // the reply streams live, escaped (a delta may cut UTF-8)
    if (live)
      on_delta = [&shown](std::string_view d) {
        std::string t = shown.feed(d);
        std::fwrite(t.data(), 1, t.size(), stdout);
        std::fflush(stdout);
      };
    auto on_retry = [&](const std::string& why) {
      log_.event("retry", {{"iteration", st_.iteration}, {"reason", why}});
      std::fprintf(stderr, "architect: %s\n", term_line(why, 400).c_str());
    };
    auto reply = client_.chat(messages, schema_on_ ? &action_schema() : nullptr, on_delta, on_retry);
    if (live) std::fputs((shown.finish() + "\n").c_str(), stdout);
    if (!reply && schema_on_ && reply.error().kind == ChatFailure::Rejected) {
      // Some servers refuse response_format (or a grammar and a schema together): go on without
      // it; every reply is validated anyway.
      log_.event("schema_refused", {{"iteration", st_.iteration}, {"error", reply.error().err.detail}});
      std::fprintf(stderr, "architect: the server refused response_format (%s); continuing without it\n",
                   term_line(reply.error().err.detail).c_str());
      schema_on_ = false;
      reply = client_.chat(messages, nullptr, on_delta, on_retry);
    }
    if (!reply) {
      log_.event("error", {{"iteration", st_.iteration}, {"stage", "request"}, {"error", reply.error().err.detail},
                           {"seconds", secs_since(t0)}});
      turn.error = reply.error().err.detail;
      turn.fatal = reply.error().kind == ChatFailure::NoServer;
      return turn;
    }
    log_.event("reply", {{"iteration", st_.iteration}, {"repair", repair}, {"content", reply->content},
                         {"finish_reason", reply->finish_reason}, {"attempts", reply->attempts},
                         {"seconds", reply->seconds}});
    auto a = parse_action(reply->content);
    if (a) {
      turn.ok = true;
      turn.action = std::move(*a);
      return turn;
    }
    log_.event("invalid", {{"iteration", st_.iteration}, {"repair", repair}, {"error", a.error().detail}});
    if (repair >= opt_.repair_attempts) {
      turn.error = fmt::format("no valid action after {} repair attempt(s): {}", opt_.repair_attempts, a.error().detail);
      return turn;
    }
    std::fprintf(stderr, "architect: reply rejected (%s); asking for a repair\n", term_line(a.error().detail).c_str());
    messages.push_back({{"role", "assistant"}, {"content", cap_text(reply->content, 8000)}});
    messages.push_back({{"role", "user"},
                        {"content", fmt::format("Your reply was rejected: {}\nReply again with exactly one JSON object "
                                                "that matches the action schema.", a.error().detail)}});
  }
}

bool Agent::step(bool live, bool* done, bool* fatal) {
  *done = false;
  *fatal = false;
  ++st_.iteration;
  auto t0 = std::chrono::steady_clock::now();
  Turn turn = ask(live);
  Outcome o;
  o.iteration = st_.iteration;
  if (!turn.ok) {
    *fatal = turn.fatal;
    o.action = "(none)";
    o.task = "(no valid action)";
    o.result = turn.error;
    std::printf("[%d] failed: %s\n", st_.iteration, term_line(turn.error, 400).c_str());
  } else {
    const Action& a = turn.action;
    o.action = std::string(info(a.kind).name);
    o.task = one_line(a.task, 200);
    o.file = one_line(a.file_path, 200);
    log_.event("action", {{"iteration", st_.iteration}, {"action", a.to_json()}});
    if (opt_.interactive) show(a);
    ActionResult res;
    if (!confirm(a)) {
      res.text = "the user declined this action";
      log_.event("declined", {{"iteration", st_.iteration}});
    } else {
      auto ta = std::chrono::steady_clock::now();
      res = apply(a);
      log_.event("result", {{"iteration", st_.iteration}, {"ok", res.ok}, {"done", res.done}, {"commit", res.commit},
                            {"text", res.text}, {"seconds", secs_since(ta)}});
    }
    o.ok = res.ok;
    o.commit = res.commit;
    o.result = res.text;
    *done = res.done;
    std::printf("[%d] %s%s%s: %s\n", st_.iteration, o.action.c_str(), o.file.empty() ? "" : " ", printable(o.file).c_str(),
                term_line(res.text, opt_.interactive ? 2000 : 300).c_str());
  }
  std::fflush(stdout);
  st_.consecutive_failures = o.ok ? 0 : st_.consecutive_failures + 1;
  st_.history.push_back(o);
  log_.event("step", {{"iteration", st_.iteration}, {"ok", o.ok}, {"seconds", secs_since(t0)}});
  save_state();
  return o.ok;
}

int Agent::run_autonomous() {
  int ran = 0;
  while (true) {
    if (stop_requested()) {
      log_.event("stop", {{"reason", "interrupted"}});
      std::printf("architect: stopped by Ctrl-C after step %d; resume with --resume\n", st_.iteration);
      return 130;
    }
    if (opt_.max_iterations > 0 && ran >= opt_.max_iterations) {
      log_.event("stop", {{"reason", "max-iterations"}});
      std::printf("architect: reached --max-iterations %d\n", opt_.max_iterations);
      return 0;
    }
    bool done = false, fatal = false;
    step(false, &done, &fatal);
    ++ran;
    if (fatal) {
      log_.event("stop", {{"reason", "no server"}});
      std::fprintf(stderr, "pxos: %s\n", term_line(st_.history.back().result, 600).c_str());
      return errc_exit_status(Errc::ArchitectError);
    }
    if (done) {
      log_.event("stop", {{"reason", "done"}});
      std::printf("architect: the model reports the goal done\n");
      return 0;
    }
    if (st_.consecutive_failures >= opt_.max_failures) {
      log_.event("stop", {{"reason", "failures"}, {"count", st_.consecutive_failures}});
      std::fprintf(stderr, "pxos: architect stopped after %d consecutive failed steps\n", st_.consecutive_failures);
      return errc_exit_status(Errc::ArchitectError);
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(opt_.interval_s);
    while (!stop_requested() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace pxos::architect
