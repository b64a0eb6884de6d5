// apply.cpp: one action applied through the sandbox: a file write checked by the tool its
// extension names in actions.def (pxos asm, nasm, pxos gpu check) in a private temp dir, then
// written and committed; a read; a named command from the allow-list.
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>

#include "architect/agent.hpp"
#include "architect/config.hpp"
#include "architect/text.hpp"
#include "common/fs.hpp"
#include "common/spawn.hpp"

namespace pxos::architect {
namespace fs = std::filesystem;

namespace {
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

// CONTENT, bound for REL, checked by CHECK in the private temp dir. nullopt when it may be
// written (*note says what the check found); else the refusal that goes back to the model.
std::optional<std::string> Agent::check_content(const std::string& content, const std::string& rel, Check check,
                                                std::string* note) {
  if (check == Check::none) return std::nullopt;
  std::string tmpfile = tmpdir_ + "/" + rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
  std::vector<std::string> argv;
  std::string what;
  switch (check) {
    case Check::none: break;
    case Check::pxasm:
      argv = {opt_.pxos_exe, "asm", tmpfile, "-o", tmpdir_ + "/check.pxi"};
      what = "assembled with pxos asm";
      break;
    case Check::nasm: {
      std::string nasm = os::find_program("nasm", os::kDefaultPath);
      if (nasm.empty()) return "refused: nasm is not installed, so NASM files cannot be checked";
      argv = {nasm, "-f", "elf64", "-o", tmpdir_ + "/check.o", tmpfile};
      what = "assembled with nasm";
      break;
    }
    case Check::wgsl: {
      auto it = cmds_.commands.find("gpu-check");
      if (it == cmds_.commands.end() || !it->second.unavailable.empty()) {
        *note = "NOT compiled: WGSL checking is unavailable in this build (" +
                (it == cmds_.commands.end() ? std::string("no gpu-check command") : it->second.unavailable) + ")";
        return std::nullopt;
      }
      argv = {opt_.pxos_exe, "gpu", "check", tmpfile};
      what = "compiled with pxos gpu check";
      break;
    }
  }
  if (auto s = write_file_atomic(tmpfile, content); !s) return s.error().detail;
  os::RunOptions o;
  o.cwd = tmpdir_;
  o.env = child_env();
  o.timeout_ms = 120000;
  o.output_cap = tun::kOutputCapBytes;
  auto res = os::run_capture(argv, o);
  std::error_code ec;
  fs::remove(tmpfile, ec);
  if (!res) return res.error().detail;
  std::string out = replace_all(replace_all(res->output, tmpfile, rel), tmpdir_, "$TMP");
  if (check == Check::wgsl && res->exit_code == errc_exit_status(Errc::GpuUnavailable)) {
    *note = "NOT compiled: no GPU/WebGPU adapter available here (" + one_line(out, 200) + ")";
  } else if (!res->ok()) {
    return fmt::format("{} was NOT written: the check failed ({}):\n{}", rel, res->summary(),
                       cap_text(out, tun::kOneResultCapChars));
  } else {
    *note = what + ": OK";
  }
  return std::nullopt;
}

ActionResult Agent::write_checked(const Action& a, const std::string& rel_in, Check check) {
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
  if (auto refused = check_content(a.content, *rel, check, &note)) { r.text = *refused; return r; }
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
  // A file action writes only the extensions its actions.def WRITES rows name, each checked
  // by the tool its row names.
  if (info(a.kind).needs_file && info(a.kind).needs_content) {
    auto check = check_for(a.kind, ext_of(rel));
    if (check) return write_checked(a, rel, *check);
    r.text = fmt::format("refused \"{}\": {} writes {} files", rel, info(a.kind).name, extensions_of(a.kind));
    return r;
  }
  switch (a.kind) {
    case Kind::write_asm:
    case Kind::write_wgsl:
    case Kind::write_doc:
      break;  // file writes: above
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

}  // namespace pxos::architect
