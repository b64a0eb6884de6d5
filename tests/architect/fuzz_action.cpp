// fuzz_action.cpp: fuzz target for the architect's reply parser and validators. Any input goes
// through parse_action, the SSE parser, the path checks (on a real workspace with symlinks
// pointing out and in), the token check and the terminal escaper; the properties asserted are
// the sandbox's promises: an accepted path never resolves outside the workspace or into .git,
// an accepted write path has no symlink component and matches no protected rule, an accepted
// token carries no shell metacharacter and no leading '-', and escaped text holds no byte that
// drives a terminal, however a stream splits it.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "architect/action.hpp"
#include "architect/client.hpp"
#include "architect/sandbox.hpp"
#include "common/printable.hpp"

namespace fs = std::filesystem;
using namespace pxos::architect;

namespace {
fs::path g_base;  // removed at exit

const Workspace& workspace() {
  static fs::path base = [] {
    char t[] = "/tmp/pxos-arch-fuzz-XXXXXX";
    if (!::mkdtemp(t)) std::abort();
    fs::path b = t;
    fs::create_directories(b / "ws/src/deep");
    fs::create_directories(b / "ws/.git");
    fs::create_directories(b / "out");
    fs::create_symlink(b / "out", b / "ws/out");
    fs::create_symlink("../../out", b / "ws/src/up");
    fs::create_symlink(".git", b / "ws/g");
    fs::create_symlink("src", b / "ws/s");
    fs::create_symlink("/", b / "ws/root");
    fs::create_symlink("Makefile", b / "ws/notes.md");   // inside, onto a protected file
    fs::create_symlink("scripts", b / "ws/manual");
    fs::create_directories(b / "ws/scripts");
    g_base = b;
    std::atexit([] { std::error_code ec; fs::remove_all(g_base, ec); });
    return b;
  }();
  static Workspace w = *Workspace::open((base / "ws").string());
  return w;
}

bool inside(const std::string& root, const std::string& p) { return p == root || p.starts_with(root + "/"); }

void check_path(const std::string& p) {
  auto rel = check_relative_path(p);
  if (rel) {
    if (rel->empty() || rel->front() == '/') std::abort();
    for (auto& c : fs::path(*rel)) if (c == ".." || c == ".git") std::abort();
  }
  const Workspace& w = workspace();
  for (Access a : {Access::Write, Access::Read}) {
    auto r = w.resolve(p, a);
    if (!r) continue;
    // The deepest existing ancestor of the result must really be inside the workspace.
    fs::path cur = fs::path(w.root()) / *r;
    while (!fs::exists(fs::symlink_status(cur)) && cur.has_parent_path()) cur = cur.parent_path();
    char buf[PATH_MAX];
    if (!::realpath(cur.c_str(), buf) || !inside(w.root(), buf)) std::abort();
    for (auto& c : fs::path(*r)) if (c == ".git" || c == "..") std::abort();
    if (a == Access::Write) {
      if (protected_match(*r) || (rel && protected_match(*rel))) std::abort();
      fs::path walk = w.root();
      for (auto& c : fs::path(*r)) {  // no existing component may be a symlink
        walk /= c;
        if (fs::is_symlink(fs::symlink_status(walk))) std::abort();
      }
    }
  }
  auto arg = w.resolve_arg(p);
  if (arg && *arg) {
    char buf[PATH_MAX];
    if (!::realpath((fs::path(w.root()) / **arg).c_str(), buf) || !inside(w.root(), buf)) std::abort();
  }
}

bool drives_terminal(std::string_view s, bool lines) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
    if (c == 0xe2 && i + 2 < s.size() && s.substr(i + 1, 1) == "\x80" &&
        static_cast<unsigned char>(s[i + 2]) >= 0xaa && static_cast<unsigned char>(s[i + 2]) <= 0xae) return true;
  }
  return false;
}

void check_printable(const std::string& in) {
  for (pxos::Keep k : {pxos::Keep::Nothing, pxos::Keep::Lines}) {
    std::string whole = pxos::printable(in, k);
    if (drives_terminal(whole, k == pxos::Keep::Lines)) std::abort();
    if (pxos::first_unprintable(in, k) == std::string_view::npos && whole != in) std::abort();
    pxos::PrintableStream st(k);
    size_t half = in.size() / 2;
    std::string parts = st.feed(std::string_view(in).substr(0, half));
    parts += st.feed(std::string_view(in).substr(half));
    parts += st.finish();
    if (parts != whole) std::abort();
  }
}

void check_arg(const std::string& a) {
  if (!check_token(a)) return;
  if (a.empty() || a.front() == '-') std::abort();
  for (char c : a)
    if (std::string_view(";|&$`<>(){}[]*?!~'\"\\ \t\n\r").find(c) != std::string_view::npos || c == '\0') std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  check_printable(in);
  auto a = parse_action(in);
  if (a) {
    check_path(a->file_path.empty() ? "x" : a->file_path);
    for (auto& s : a->args) check_arg(s);
    (void)a->to_json().dump();
  }
  // The raw input as a path and as an argument, line by line.
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t e = in.find('\n', pos);
    if (e == std::string::npos) e = in.size();
    std::string line = in.substr(pos, e - pos);
    check_path(line);
    check_arg(line);
    pos = e + 1;
  }
  StreamAssembler asmb;
  SseParser sse([&](std::string_view d) { (void)asmb.chunk(d); });
  (void)sse.feed(in);
  (void)sse.finish();
  return 0;
}
