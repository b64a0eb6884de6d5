// agent.cpp: the turn loop, applying actions through the sandbox, state, log and console.
#include "architect/agent.hpp"

#include <editline/readline.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "architect/config.hpp"
#include "common/spawn.hpp"
#include "common/fs.hpp"
#include "common/printable.hpp"

namespace pxos::architect {
using nlohmann::json;
namespace fs = std::filesystem;

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

std::string now_iso() {
  auto t = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

double secs_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string one_line(std::string s, size_t n = 200) {
  for (char& c : s) if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // cut on a UTF-8 boundary
  return s.substr(0, n) + "...";
}

// What reaches the terminal: everything the model, the server or a file controls goes through
// the one escaping helper (common/printable.hpp), so no ESC/OSC sequence of theirs runs.
std::string term_line(const std::string& s, size_t n = 200) { return printable(one_line(s, n)); }
std::string term_text(const std::string& s) { return printable(s, Keep::Lines); }

std::string ext_of(const std::string& p) {
  auto dot = p.rfind('.');
  auto slash = p.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = p.substr(dot);
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
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

// ---- state and log ---------------------------------------------------------------------------

json State::to_json() const {
  json h = json::array();
  for (auto& o : history)
    h.push_back({{"iteration", o.iteration}, {"action", o.action}, {"task", o.task}, {"file", o.file},
                 {"commit", o.commit}, {"ok", o.ok}, {"result", o.result}});
  return {{"version", 1}, {"goal", goal}, {"iteration", iteration}, {"consecutive_failures", consecutive_failures},
          {"history", h}};
}

Result<State> State::from_json(const json& j) {
  try {
    if (j.at("version").get<int>() != 1) return fail(Errc::ArchitectError, "state file: unknown version");
    State s;
    s.goal = j.at("goal").get<std::string>();
    s.iteration = j.at("iteration").get<int>();
    s.consecutive_failures = j.value("consecutive_failures", 0);
    for (auto& o : j.at("history"))
      s.history.push_back({o.at("iteration").get<int>(), o.at("action").get<std::string>(), o.at("task").get<std::string>(),
                           o.value("file", ""), o.value("commit", ""), o.at("ok").get<bool>(), o.value("result", "")});
    return s;
  } catch (const json::exception& e) {
    return failf(Errc::ArchitectError, "state file: {}", e.what());
  }
}

Status EventLog::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) return failf(Errc::Io, "log {}: {}", path, errno_text(errno));
  return {};
}

void EventLog::event(const std::string& kind, json fields) {
  if (fd_ < 0) return;
  json j{{"ts", now_iso()}, {"event", kind}};
  j.update(fields);
  std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  ssize_t w = ::write(fd_, line.data(), line.size());
  (void)w;
}

EventLog::~EventLog() {
  if (fd_ >= 0) ::close(fd_);
}

// ---- agent -------------------------------------------------------------------------------------

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
  *eof = false;
  if (::isatty(0)) {
    char* l = ::readline(prompt);
    if (!l) { *eof = true; return {}; }
    std::string s = l;
    std::free(l);
    return s;
  }
  std::fputs(prompt, stdout);
  std::fflush(stdout);
  std::string s;
  if (!std::getline(std::cin, s)) *eof = true;
  return s;
}

bool Agent::confirm(const Action& a) {
  if (opt_.yes || !info(a.kind).has_effect) return true;
  bool eof = false;
  std::string ans = read_line("apply this action? [y/N] ", &eof);
  return !eof && (ans == "y" || ans == "Y" || ans == "yes");
}

ActionResult Agent::run_named(const std::string& name, const std::vector<std::string>& args) {
  ActionResult r;
  std::string path(os::kDefaultPath);
  auto e = expand(cmds_, ws_, name, args, opt_.pxos_exe, tmpdir_, path,
                  [this](const std::string& rel) { return git_.readable(rel); });
  if (!e) { r.text = e.error().detail; return r; }
  os::RunOptions o;
  o.cwd = ws_.root();
  o.env = child_env();
  o.timeout_ms = e->timeout_s * 1000;
  o.output_cap = tun::kOutputCapBytes;
  auto res = os::run_capture(e->argv, o);
  if (!res) { r.text = res.error().detail; return r; }
  r.ok = res->ok();
  std::string out = replace_all(res->output, tmpdir_, "$TMP");
  r.text = fmt::format("command {}: {} in {:.1f} s\n{}", name, res->summary(), res->seconds, cap_text(out, tun::kOneResultCapChars));
  return r;
}

Status Agent::no_protected_link_to(const std::string& rel) const {
  // resolve() saw the path the model named; a protected file elsewhere may be a symlink TO it
  // (a committed `Makefile -> notes.md`, `.husky -> docs`): writing it would rewrite that input.
  auto files = git_.ls_files();
  if (!files) return std::unexpected(files.error());
  const std::string target = ws_.abs(rel);
  for (size_t i = 0; i < files->size();) {
    size_t j = files->find('\0', i);
    if (j == std::string::npos) j = files->size();
    std::string f = files->substr(i, j - i);
    i = j + 1;
    if (f.empty() || !ws_.protected_reason(f)) continue;
    struct stat st{};
    if (::lstat(ws_.abs(f).c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
    char buf[PATH_MAX];
    if (!::realpath(ws_.abs(f).c_str(), buf)) continue;
    std::string to = buf;
    if (target == to || target.starts_with(to + "/"))
      return failf(Errc::SandboxDenied, "refused \"{}\": the protected {} is a symlink to it, so the write would change {}; {}",
                   rel, f, f, *ws_.protected_reason(f));
  }
  return {};
}

ActionResult Agent::write_checked(const Action& a, const std::string& rel_in, const std::string& check) {
  ActionResult r;
  auto rel = ws_.resolve(rel_in, Access::Write);
  if (!rel) { r.text = rel.error().detail; return r; }
  if (auto s = no_protected_link_to(*rel); !s) { r.text = s.error().detail; return r; }
  // The file will be shown by cat, git log -p, an editor: bytes that drive a terminal are refused.
  if (size_t at = first_unprintable(a.content, Keep::Lines); at != std::string::npos) {
    r.text = fmt::format("refused \"{}\": content byte {} (0x{:02x}) is a control character; files are written with "
                         "printable text, tabs and newlines only", *rel, at, static_cast<unsigned char>(a.content[at]));
    return r;
  }
  auto dirty = git_.dirty(*rel);
  if (!dirty) { r.text = dirty.error().detail; return r; }
  if (!dirty->empty()) {
    r.text = fmt::format("refused \"{}\": the user has uncommitted changes there ({}); it is not overwritten. "
                         "Pick another file or ask the user to commit first.", *rel, *dirty);
    return r;
  }
  auto ign = git_.ignored(*rel);
  if (!ign) { r.text = ign.error().detail; return r; }
  if (*ign) {
    r.text = fmt::format("refused \"{}\": the path is ignored by git, so the change could not be committed", *rel);
    return r;
  }
  // Check the new content in a private temp dir before it touches the workspace.
  std::string note;
  if (!check.empty()) {
    std::string base = rel->substr(rel->rfind('/') == std::string::npos ? 0 : rel->rfind('/') + 1);
    std::string tmpfile = tmpdir_ + "/" + base;
    if (auto s = write_file_atomic(tmpfile, a.content); !s) { r.text = s.error().detail; return r; }
    std::vector<std::string> argv;
    std::string what;
    if (check == "pxasm") {
      argv = {opt_.pxos_exe, "asm", tmpfile, "-o", tmpdir_ + "/check.pxi"};
      what = "assembled with pxos asm";
    } else if (check == "nasm") {
      std::string nasm = os::find_program("nasm", os::kDefaultPath);
      if (nasm.empty()) { r.text = "refused: nasm is not installed, so NASM files cannot be checked"; return r; }
      argv = {nasm, "-f", "elf64", "-o", tmpdir_ + "/check.o", tmpfile};
      what = "assembled with nasm";
    } else if (check == "wgsl") {
      auto it = cmds_.commands.find("gpu-check");
      if (it == cmds_.commands.end() || !it->second.unavailable.empty()) {
        note = "NOT compiled: WGSL checking is unavailable in this build (" +
               (it == cmds_.commands.end() ? std::string("no gpu-check command") : it->second.unavailable) + ")";
      } else {
        argv = {opt_.pxos_exe, "gpu", "check", tmpfile};
        what = "compiled with pxos gpu check";
      }
    }
    if (!argv.empty()) {
      os::RunOptions o;
      o.cwd = tmpdir_;
      o.env = child_env();
      o.timeout_ms = 120000;
      o.output_cap = tun::kOutputCapBytes;
      auto res = os::run_capture(argv, o);
      std::error_code ec;
      fs::remove(tmpfile, ec);
      if (!res) { r.text = res.error().detail; return r; }
      std::string out = replace_all(replace_all(res->output, tmpfile, *rel), tmpdir_, "$TMP");
      if (check == "wgsl" && res->exit_code == errc_exit_status(Errc::GpuUnavailable)) {
        note = "NOT compiled: no GPU/WebGPU adapter available here (" + one_line(out, 200) + ")";
      } else if (!res->ok()) {
        r.text = fmt::format("{} was NOT written: the check failed ({}):\n{}", *rel, res->summary(),
                             cap_text(out, tun::kOneResultCapChars));
        return r;
      } else {
        note = what + ": OK";
      }
    }
  }
  if (auto s = ws_.write(*rel, a.content); !s) { r.text = s.error().detail; return r; }
  // The model's words go into history that `git log` prints raw later: escaped here.
  std::string msg = fmt::format("architect: {}\n\n{}\n\nAction: {}\nFile: {}\nCheck: {}", printable(one_line(a.task, 120)),
                                printable(a.rationale, Keep::Lines), info(a.kind).name, *rel,
                                printable(note.empty() ? "none" : note, Keep::Lines));
  auto c = git_.commit_file(*rel, msg);
  if (!c) { r.text = fmt::format("{} written but the commit failed: {}", *rel, c.error().detail); return r; }
  r.ok = true;
  r.commit = *c;
  r.text = fmt::format("wrote {} ({} bytes); {}; commit {}", *rel, a.content.size(), note.empty() ? "no check needed" : note,
                       c->substr(0, 12));
  return r;
}

ActionResult Agent::apply(const Action& a) {
  ActionResult r;
  // The sandbox speaks first (its reason is the useful one); every later rule, the extension
  // allow-list included, looks at the resolved path, never only at the model's text.
  std::string rel;
  if (info(a.kind).needs_file) {
    auto res = ws_.resolve(a.file_path, a.kind == Kind::read_file ? Access::Read : Access::Write);
    if (!res) { r.text = res.error().detail; return r; }
    rel = *res;
  }
  const std::string ext = ext_of(rel);
  switch (a.kind) {
    case Kind::write_asm:
      if (ext == ".pxasm") return write_checked(a, rel, "pxasm");
      if (ext == ".asm" || ext == ".nasm" || ext == ".s") return write_checked(a, rel, "nasm");
      r.text = fmt::format("refused \"{}\": write_asm writes .pxasm (PixelVM) or .asm (NASM) files", rel);
      return r;
    case Kind::write_wgsl:
      if (ext == ".wgsl") return write_checked(a, rel, "wgsl");
      r.text = fmt::format("refused \"{}\": write_wgsl writes .wgsl files", rel);
      return r;
    case Kind::write_doc:
      if (ext == ".md" || ext == ".txt" || ext == ".rst") return write_checked(a, rel, "");
      r.text = fmt::format("refused \"{}\": write_doc writes .md, .txt or .rst files", rel);
      return r;
    case Kind::read_file: {
      // Ignored files are where secrets live (.env, keys): they are not sent to the server.
      if (auto s = git_.readable(rel); !s) { r.text = s.error().detail; return r; }
      bool cut = false;
      auto text = ws_.read(rel, tun::kReadCapBytes, &cut);
      if (!text) { r.text = text.error().detail; return r; }
      r.ok = true;
      r.text = fmt::format("{} ({}):\n{}", rel, cut ? "first part" : "whole file", cap_text(*text, tun::kOneResultCapChars));
      return r;
    }
    case Kind::run_build: return run_named("build", {});
    case Kind::run_test: return run_named("test", {});
    case Kind::run_command: return run_named(a.command, a.args);
    case Kind::analyze:
    case Kind::plan:
      r.ok = true;
      r.text = "noted: " + cap_text(a.content.empty() ? a.rationale : a.content, 2000);
      return r;
    case Kind::done:
      r.ok = true;
      r.done = true;
      r.text = "done: " + one_line(a.rationale, 400);
      return r;
  }
  r.text = "internal: unknown action";
  return r;
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

int Agent::run_interactive() {
  bool tty = ::isatty(0);
  if (tty) {
    ::using_history();
    ::read_history(opt_.history_path.c_str());
  }
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
    if (tty && !line.empty()) {
      ::add_history(line.c_str());
      ::write_history(opt_.history_path.c_str());
    }
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
