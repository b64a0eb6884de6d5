// git.cpp: git through os::run_capture (no shell), with hooks, fsmonitor and pagers switched off.
#include "architect/git.hpp"

#include <cstdlib>
#include <regex>
#include <set>

#include "architect/config.hpp"
#include "common/spawn.hpp"

namespace pxos::architect {
namespace {
std::string trim_nl(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}
std::vector<std::string> base_env() {
  std::vector<std::string> env = {fmt::format("PATH={}", os::kDefaultPath), "LANG=C", "LC_ALL=C",
                                  "GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat", "PAGER=cat", "GIT_EDITOR=true",
                                  "GIT_AUTHOR_NAME=pxos architect", "GIT_AUTHOR_EMAIL=architect@pxos.invalid",
                                  "GIT_COMMITTER_NAME=pxos architect", "GIT_COMMITTER_EMAIL=architect@pxos.invalid"};
  if (const char* h = std::getenv("HOME")) env.push_back(std::string("HOME=") + h);
  return env;
}
}  // namespace

Result<std::string> Git::run(std::vector<std::string> args, int* exit_code) const {
  // --literal-pathspecs: a model-chosen file name such as "*.md" or ":(top)x" is one file, never
  // a pattern that would sweep other files into a status check or a commit.
  // (check-ignore takes path names, not pathspecs, and refuses the flag.)
  std::vector<std::string> argv = {git_exe_, "-C", ws_, "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                                   "-c", "core.pager=cat", "-c", "commit.gpgsign=false", "-c", "color.ui=false"};
  if (args.empty() || args[0] != "check-ignore") argv.insert(argv.begin() + 1, "--literal-pathspecs");
  argv.insert(argv.end(), args.begin(), args.end());
  os::RunOptions o;
  o.cwd = ws_;
  o.env = base_env();
  o.timeout_ms = tun::kGitTimeoutS * 1000;
  o.output_cap = 4 << 20;
  auto r = os::run_capture(argv, o);
  if (!r) return std::unexpected(r.error());
  if (exit_code) *exit_code = r->exit_code;
  else if (!r->ok())
    return failf(Errc::ArchitectError, "git {} failed ({}): {}", args.empty() ? "" : args[0], r->summary(),
                 trim_nl(r->output).substr(0, 600));
  return r->output;
}

Result<Git> Git::open(const std::string& workspace) {
  Git g;
  g.ws_ = workspace;
  g.git_exe_ = os::find_program("git", os::kDefaultPath);
  if (g.git_exe_.empty()) return fail(Errc::Unsupported, "git is not installed");
  int code = 0;
  auto top = g.run({"rev-parse", "--show-toplevel"}, &code);
  if (!top) return std::unexpected(top.error());
  if (code != 0) return failf(Errc::Usage, "{} is not inside a git repository (run `git init` there first)", workspace);
  g.top_ = trim_nl(*top);
  auto gd = g.run({"rev-parse", "--absolute-git-dir"});
  if (!gd) return std::unexpected(gd.error());
  g.git_dir_ = trim_nl(*gd);
  return g;
}

Result<std::string> Git::dirty(const std::string& rel) const {
  auto out = run({"status", "--porcelain=v1", "--untracked-files=all", "--ignored=no", "--", rel});
  if (!out) return std::unexpected(out.error());
  std::string s = trim_nl(*out);
  if (s.empty()) return std::string();
  if (s.starts_with("??")) return std::string("untracked (not yet committed by the user)");
  if (s[0] != ' ') return std::string("staged but not committed");
  return std::string("modified but not committed");
}

Result<bool> Git::ignored(const std::string& rel) const {
  int code = 0;
  auto out = run({"check-ignore", "-q", "--", rel}, &code);
  if (!out) return std::unexpected(out.error());
  // 0 ignored, 1 not; anything else is git failing, which must never read as "not ignored".
  if (code != 0 && code != 1)
    return failf(Errc::ArchitectError, "git check-ignore failed (exit {}): {}", code, trim_nl(*out).substr(0, 300));
  return code == 0;
}

Status Git::readable(const std::string& rel) const {
  auto ign = ignored(rel);
  if (!ign) return failf(Errc::SandboxDenied, "refused \"{}\": git cannot tell whether it is ignored ({}); it is not read",
                         rel, ign.error().detail);
  if (*ign) return failf(Errc::SandboxDenied, "refused \"{}\": the file is ignored by git (it may hold secrets); it is not read", rel);
  return {};
}

Result<std::string> Git::hooks_path() const {
  int code = 0;
  auto out = run({"config", "--show-scope", "--get-all", "core.hooksPath"}, &code);
  if (!out) return std::unexpected(out.error());
  std::string found;
  size_t pos = 0;
  while (pos < out->size()) {  // "local\t.githooks": the last value not from our own -c wins
    size_t e = out->find('\n', pos);
    if (e == std::string::npos) e = out->size();
    std::string line = out->substr(pos, e - pos);
    pos = e + 1;
    size_t tab = line.find('\t');
    if (tab != std::string::npos && line.substr(0, tab) != "command") found = line.substr(tab + 1);
  }
  return found;
}

Result<std::string> Git::head() const {
  auto out = run({"rev-parse", "HEAD"});
  if (!out) return std::unexpected(out.error());
  return trim_nl(*out);
}

Result<std::string> Git::commit_file(const std::string& rel, const std::string& message) const {
  if (auto a = run({"add", "--", rel}); !a) return std::unexpected(a.error());
  // --only with a pathspec: exactly this file, whatever else the user has staged.
  auto c = run({"commit", "--no-verify", "-q", "--only", "-m", message + "\n\n" + kTrailer, "--", rel});
  if (!c) return std::unexpected(c.error());
  return head();
}

Result<std::string> Git::undo() const {
  auto out = run({"log", "-n", "500", "--format=%H%x1f%s%x1f%B%x1e"});
  if (!out) return std::unexpected(out.error());
  std::set<std::string> reverted;
  std::regex rev("This reverts commit ([0-9a-f]{40})");
  std::string target, subject;
  size_t pos = 0;
  while (pos < out->size()) {
    size_t end = out->find('\x1e', pos);
    if (end == std::string::npos) break;
    std::string rec = out->substr(pos, end - pos);
    pos = end + 1;
    while (!rec.empty() && rec.front() == '\n') rec.erase(0, 1);
    size_t a = rec.find('\x1f'), b = rec.find('\x1f', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string id = rec.substr(0, a), subj = rec.substr(a + 1, b - a - 1), body = rec.substr(b + 1);
    for (std::sregex_iterator m(body.begin(), body.end(), rev), e; m != e; ++m) reverted.insert((*m)[1]);
    if (body.find(kTrailer) != std::string::npos && !reverted.contains(id)) {
      target = id;
      subject = subj;
      break;
    }
  }
  if (target.empty()) return fail(Errc::NotFound, "nothing to undo: no architect commit left to revert");
  int code = 0;
  auto r = run({"revert", "--no-edit", target}, &code);
  if (!r) return std::unexpected(r.error());
  if (code != 0) {
    int ignore = 0;
    (void)run({"revert", "--abort"}, &ignore);
    return failf(Errc::ArchitectError, "cannot revert {} (your uncommitted changes or later commits touch the same lines; "
                 "nothing was changed): {}", target.substr(0, 12), trim_nl(*r).substr(0, 400));
  }
  return fmt::format("reverted {} {}", target.substr(0, 12), subject);
}

Result<std::string> Git::show_last() const {
  auto id = run({"log", "-n", "1", "--format=%H", "--grep", kTrailer, "--fixed-strings"});
  if (!id) return std::unexpected(id.error());
  std::string h = trim_nl(*id);
  std::string out;
  if (!h.empty()) {
    auto s = run({"show", "--stat", "-p", h});
    if (!s) return std::unexpected(s.error());
    out = *s;
  } else {
    out = "(no architect commit yet)\n";
  }
  auto d = run({"status", "--short"});
  if (d && !d->empty()) out += "\nuncommitted in the workspace:\n" + *d;
  return out;
}

Result<std::string> Git::log(int n) const {
  return run({"log", "-n", std::to_string(n), "--format=%h %ad %s", "--date=short", "--grep", kTrailer, "--fixed-strings"});
}

Result<std::string> Git::ls_files() const {
  return run({"ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."});
}

}  // namespace pxos::architect
