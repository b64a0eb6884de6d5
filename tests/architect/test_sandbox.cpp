// test_sandbox.cpp: unit tests of the architect's path resolver, argument validator, action
// parser and schema validator, SSE parser and process runner, on real temp directories.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "architect/action.hpp"
#include "architect/client.hpp"
#include "architect/commands.hpp"
#include "architect/runner.hpp"
#include "architect/sandbox.hpp"

using namespace pxos;
using namespace pxos::architect;
namespace fs = std::filesystem;

namespace {
struct TempTree : ::testing::Test {
  fs::path base, ws, out;
  void SetUp() override {
    char t[] = "/tmp/pxos-arch-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    base = t;
    ws = base / "ws";
    out = base / "outside";
    fs::create_directories(ws / "src");
    fs::create_directories(ws / ".git");
    fs::create_directories(out);
    std::ofstream(out / "secret.txt") << "secret\n";
    std::ofstream(ws / "src" / "a.pxasm") << "HALT\n";
  }
  void TearDown() override { fs::remove_all(base); }
  Workspace open() { return must(Workspace::open(ws.string())); }
  static std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    return {std::istreambuf_iterator<char>(f), {}};
  }
};

std::string denied(const Result<std::string>& r) {
  return r ? std::string("ALLOWED: ") + *r : r.error().detail;
}
}  // namespace

TEST(CheckRelativePath, RefusesEscapesAndOddNames) {
  for (std::string_view bad : {"", "/etc/passwd", "../x", "a/../../x", "a/..", "..", ".git/config", "a/.git/x",
                               ".GiT/HEAD", "~/x", "a\\b", "/", ".", "./", "a//../b"}) {
    auto r = check_relative_path(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) { EXPECT_EQ(r.error().code, Errc::SandboxDenied); }
  }
  EXPECT_FALSE(check_relative_path(std::string("a\0b", 3)));
  EXPECT_FALSE(check_relative_path("a\nb"));
  EXPECT_FALSE(check_relative_path(std::string(300, 'a')));
}

TEST(CheckRelativePath, Normalizes) {
  EXPECT_EQ(*check_relative_path("a/./b//c.md"), "a/b/c.md");
  EXPECT_EQ(*check_relative_path("./x.md"), "x.md");
  EXPECT_EQ(*check_relative_path("..x/y..z.md"), "..x/y..z.md");  // dots inside names are fine
  EXPECT_EQ(*check_relative_path(".gitignore"), ".gitignore");
  EXPECT_EQ(*check_relative_path("x.git/y"), "x.git/y");
}

TEST_F(TempTree, ResolvesPlainPaths) {
  auto w = open();
  EXPECT_EQ(*w.resolve("src/a.pxasm", Access::Read), "src/a.pxasm");
  EXPECT_EQ(*w.resolve("src/new/deep/b.md", Access::Write), "src/new/deep/b.md");
  EXPECT_FALSE(w.resolve("src/missing.md", Access::Read));
  EXPECT_FALSE(w.resolve("src", Access::Write));  // a directory is not a file
}

TEST_F(TempTree, RefusesSymlinksPointingOut) {
  fs::create_symlink(out, ws / "dirlink");
  fs::create_symlink(out / "secret.txt", ws / "filelink.md");
  fs::create_symlink(out / "nothing.md", ws / "dangling.md");
  fs::create_symlink("../../outside/secret.txt", ws / "src" / "rel.md");
  fs::create_symlink(ws / ".git", ws / "g");
  fs::create_symlink("/", ws / "rootlink");
  auto w = open();
  for (auto p : {"dirlink/x.md", "dirlink/secret.txt", "filelink.md", "src/rel.md", "rootlink/etc/passwd"}) {
    EXPECT_NE(denied(w.resolve(p, Access::Write)).find("points outside the workspace"), std::string::npos) << p;
    EXPECT_FALSE(w.resolve(p, Access::Read)) << p;
  }
  EXPECT_NE(denied(w.resolve("dangling.md", Access::Write)).find("dangling"), std::string::npos);
  EXPECT_NE(denied(w.resolve("g/config", Access::Write)).find(".git"), std::string::npos);
  EXPECT_EQ(slurp(out / "secret.txt"), "secret\n");
}

TEST_F(TempTree, FollowsSymlinksInsideAndReportsTheRealPath) {
  fs::create_symlink("src", ws / "alias");
  fs::create_symlink("a.pxasm", ws / "src" / "b.pxasm");
  auto w = open();
  EXPECT_EQ(*w.resolve("alias/a.pxasm", Access::Read), "src/a.pxasm");
  EXPECT_EQ(*w.resolve("src/b.pxasm", Access::Write), "src/a.pxasm");
  EXPECT_EQ(*w.resolve("alias/new.md", Access::Write), "src/new.md");
}

TEST_F(TempTree, RefusesDevicesFifosAndRootSymlinkedWorkspace) {
  fs::create_symlink("/dev/null", ws / "null.md");
  ASSERT_EQ(::mkfifo((ws / "fifo.md").c_str(), 0600), 0);
  auto w = open();
  EXPECT_FALSE(w.resolve("null.md", Access::Write));  // outside anyway
  EXPECT_NE(denied(w.resolve("fifo.md", Access::Write)).find("fifo"), std::string::npos);
  EXPECT_NE(denied(w.resolve("fifo.md", Access::Read)).find("fifo"), std::string::npos);
  EXPECT_FALSE(Workspace::open("/"));
  // the workspace given through a symlink is resolved: both sides are real paths
  fs::create_symlink(ws, base / "wslink");
  auto w2 = must(Workspace::open((base / "wslink").string()));
  EXPECT_EQ(w2.root(), fs::canonical(ws).string());
  EXPECT_EQ(*w2.resolve("src/a.pxasm", Access::Read), "src/a.pxasm");
}

TEST_F(TempTree, WritesAtomicallyAndNeverThroughLinks) {
  auto w = open();
  ASSERT_TRUE(w.write("docs/new/x.md", "hello\n"));
  EXPECT_EQ(slurp(ws / "docs/new/x.md"), "hello\n");
  // a hard link to a file outside: replaced, not written through
  ASSERT_EQ(::link((out / "secret.txt").c_str(), (ws / "hard.md").c_str()), 0);
  auto r = w.resolve("hard.md", Access::Write);
  ASSERT_TRUE(r);
  ASSERT_TRUE(w.write(*r, "new\n"));
  EXPECT_EQ(slurp(out / "secret.txt"), "secret\n");
  EXPECT_EQ(slurp(ws / "hard.md"), "new\n");
  // a directory swapped for a symlink after the check: the O_NOFOLLOW walk refuses it
  auto checked = w.resolve("swap/f.md", Access::Write);
  ASSERT_TRUE(checked);
  fs::create_symlink(out, ws / "swap");
  auto s = w.write(*checked, "x");
  EXPECT_FALSE(s);
  EXPECT_FALSE(fs::exists(out / "f.md"));
  // no temp files left behind
  for (auto& e : fs::directory_iterator(ws)) EXPECT_EQ(e.path().filename().string().find(".architect-"), std::string::npos);
}

TEST_F(TempTree, ReadsWithCap) {
  std::ofstream(ws / "big.txt") << std::string(1000, 'x');
  auto w = open();
  bool cut = false;
  auto t = w.read("big.txt", 100, &cut);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 100u);
  EXPECT_TRUE(cut);
}

TEST(CheckToken, RefusesMetacharactersAndOptions) {
  for (std::string_view bad : {"a;b", "$(x)", "`x`", "a|b", "a&b", "a>b", "a<b", "a b", "'a'", "\"a\"", "a*", "a?",
                               "-rf", "--output=x", "-", "a\nb", "a\\b", "{a}", "a!", "~x", "(x)", ""}) {
    auto s = check_token(bad);
    EXPECT_FALSE(s) << bad;
  }
  EXPECT_FALSE(check_token(std::string("a\0b", 3)));
  EXPECT_FALSE(check_token(std::string(300, 'a')));
  for (std::string_view ok : {"PUSH", "src/a.pxasm", "x=1", "a-b", "v1.2", "user@host:1", "50%"})
    EXPECT_TRUE(check_token(ok)) << ok;
}

TEST_F(TempTree, CommandExpansionValidatesEveryHole) {
  auto w = open();
  auto t = CommandTable::defaults();
  const std::string path = "/usr/local/bin:/usr/bin:/bin";
  auto e = expand(t, w, "asm", {"src/a.pxasm"}, "/bin/sh", "/tmp/T", path);
  ASSERT_TRUE(e) << e.error().detail;
  EXPECT_EQ(e->argv, (std::vector<std::string>{"/bin/sh", "asm", (fs::canonical(ws) / "src/a.pxasm").string(), "-o",
                                               "/tmp/T/out.pxi"}));
  EXPECT_FALSE(expand(t, w, "sh", {}, "/bin/sh", "/tmp/T", path));
  EXPECT_FALSE(expand(t, w, "asm", {}, "/bin/sh", "/tmp/T", path));
  EXPECT_FALSE(expand(t, w, "asm", {"../outside/secret.txt"}, "/bin/sh", "/tmp/T", path));
  EXPECT_FALSE(expand(t, w, "asm", {"-o/etc/passwd"}, "/bin/sh", "/tmp/T", path));
  EXPECT_FALSE(expand(t, w, "grep", {"x;id"}, "/bin/sh", "/tmp/T", path));
  auto g = expand(t, w, "grep", {"PUSH"}, "/bin/sh", "/tmp/T", path);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->argv.back(), "PUSH");
  EXPECT_EQ(g->argv[g->argv.size() - 2], "-e");  // the word can never be read as an option
}

TEST(ParseAction, AcceptsAValidActionAndAFence) {
  auto a = parse_action(R"({"task":"t","action":"write_asm","rationale":"r","file_path":"a.pxasm","content":"HALT\n"})");
  ASSERT_TRUE(a) << a.error().detail;
  EXPECT_EQ(a->kind, Kind::write_asm);
  EXPECT_EQ(a->content, "HALT\n");
  auto b = parse_action("```json\n{\"task\":\"t\",\"action\":\"done\",\"rationale\":\"r\"}\n```");
  ASSERT_TRUE(b) << b.error().detail;
  EXPECT_EQ(b->kind, Kind::done);
}

TEST(ParseAction, RefusesWithAReason) {
  struct C { const char* in; const char* why; };
  for (auto c : std::initializer_list<C>{
           {"nope", "invalid JSON"},
           {"{\"task\":\"t\"", "invalid JSON"},
           {"[1,2]", "expected object"},
           {R"({"task":"t","action":"rm","rationale":"r"})", "is not one of"},
           {R"({"task":"t","action":"write_doc","rationale":"r","file_path":"a.md"})", "needs non-empty \"content\""},
           {R"({"task":"t","action":"write_doc","rationale":"r","content":"x"})", "needs \"file_path\""},
           {R"({"task":"t","action":"run_command","rationale":"r"})", "needs \"command\""},
           {R"({"task":"t","action":"done","rationale":"r","command":"x"})", "takes no"},
           {R"({"task":"t","action":"done","rationale":"r","extra":1})", "unknown field"},
           {R"({"task":1,"action":"done","rationale":"r"})", "expected string"},
           {R"({"action":"done","rationale":"r"})", "missing required field \"task\""},
           {R"({"task":"t","action":"run_command","rationale":"r","command":"grep","args":[1]})", "$.args[0]"},
           {R"({"task":"t","action":"run_command","rationale":"r","command":"g","args":["1","2","3","4","5","6","7","8","9"]})", "items"},
       }) {
    auto a = parse_action(c.in);
    ASSERT_FALSE(a) << c.in;
    EXPECT_NE(a.error().detail.find(c.why), std::string::npos) << c.in << " -> " << a.error().detail;
  }
  EXPECT_NE(parse_action(std::string(100000, '[')).error().detail.find("nested deeper"), std::string::npos);
  std::string big = R"({"task":"t","action":"write_doc","rationale":"r","file_path":"a.md","content":")" +
                    std::string(300 << 10, 'x') + "\"}";
  EXPECT_NE(parse_action(big).error().detail.find("over the limit"), std::string::npos);
}

TEST(Sse, AssemblesDeltasAcrossArbitrarySplits) {
  std::string body =
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n: keep-alive\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\r\n\r\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
  for (size_t step = 1; step <= body.size(); step += 7) {
    StreamAssembler a;
    Status err;
    SseParser p([&](std::string_view d) { if (auto s = a.chunk(d); !s) err = s; });
    for (size_t i = 0; i < body.size(); i += step) ASSERT_TRUE(p.feed(std::string_view(body).substr(i, step)));
    ASSERT_TRUE(p.finish());
    ASSERT_TRUE(err);
    EXPECT_EQ(a.content, "Hello");
    EXPECT_EQ(a.finish_reason, "stop");
    EXPECT_TRUE(a.done);
  }
  StreamAssembler a;
  EXPECT_FALSE(a.chunk("{not json"));
  EXPECT_FALSE(a.chunk(R"({"error":{"message":"boom"}})"));
}

TEST(Runner, CapturesExitAndOutput) {
  auto r = run_argv({"/bin/sh", "-c", "echo out; echo err 1>&2; exit 3"}, {"/", {"PATH=/bin"}, 5000, 1024});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_NE(r->output.find("out"), std::string::npos);
  EXPECT_NE(r->output.find("err"), std::string::npos);
  EXPECT_FALSE(r->ok());
}

TEST(Runner, KillsTheWholeGroupOnTimeout) {
  char t[] = "/tmp/pxos-arch-run-XXXXXX";
  ASSERT_NE(::mkdtemp(t), nullptr);
  std::string marker = std::string(t) + "/survived";
  auto r = run_argv({"/bin/sh", "-c", "(sleep 2; touch " + marker + ") & sleep 30"}, {"/", {"PATH=/bin:/usr/bin"}, 300, 1024});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(r->seconds, 10);
  ::sleep(3);
  EXPECT_FALSE(fs::exists(marker)) << "a grandchild outlived the timeout";
  fs::remove_all(t);
}

TEST(Runner, CapsOutputAndCleansEnvironment) {
  ::setenv("PXOS_TEST_SECRET", "hidden", 1);
  auto r = run_argv({"/usr/bin/env"}, {"/", {"PATH=/bin", "ONLY=this"}, 5000, 4096});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output.find("hidden"), std::string::npos);
  EXPECT_NE(r->output.find("ONLY=this"), std::string::npos);
  auto big = run_argv({"/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x"}, {"/", {"PATH=/bin:/usr/bin"}, 5000, 1000});
  ASSERT_TRUE(big);
  EXPECT_LT(big->output.size(), 1100u);
  EXPECT_GT(big->dropped, 150000u);
  EXPECT_FALSE(run_argv({"relative"}, {}));
  EXPECT_FALSE(run_argv({"/nonexistent/prog"}, {"/", {}, 1000, 100}));
}
