// fuzz_action.cpp: fuzz target for the architect's reply parser and validators. Any input goes
// through parse_action, the SSE parser, the path checks (on a real workspace with symlinks
// pointing out) and the token check; the properties asserted are the sandbox's promises:
// an accepted path never resolves outside the workspace or into .git, and an accepted token
// carries no shell metacharacter and no leading '-'.
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
