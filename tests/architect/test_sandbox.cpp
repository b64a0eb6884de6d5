// test_sandbox.cpp: unit tests of the architect's path resolver, protected-path table, argument
// validator, action parser and schema validator, SSE parser, process runner and the terminal
// escaping helper (common/printable.hpp), on real temp directories.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "architect/action.hpp"
#include "architect/client.hpp"
#include "architect/commands.hpp"
#include "common/os.hpp"
#include "common/spawn.hpp"
#include "architect/sandbox.hpp"
#include "common/printable.hpp"

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
  // a leading '-' reads as an option to the user's own `rm *` or `ls *`
  for (std::string_view dash : {"-rf.md", "docs/--output=x.md", "-", "a/-b/c.md"}) {
    auto r = check_relative_path(dash);
    ASSERT_FALSE(r) << dash;
    EXPECT_NE(r.error().detail.find("starts with '-'"), std::string::npos) << r.error().detail;
  }
  EXPECT_TRUE(check_relative_path("a-b/c-.md"));
}

TEST(Protected, EveryRowMatchesAndDocsDoNot) {
  ASSERT_GE(protected_rules().size(), 30u);
  for (auto& r : protected_rules()) {
    std::string name(r.pattern);
    for (char& c : name) if (c == '*') c = 'x';
    EXPECT_EQ(protected_match(name), &r) << name;                    // the file itself
    EXPECT_NE(protected_match("deep/er/" + name), nullptr) << name;   // at any depth
    EXPECT_NE(protected_match(name + "/below.md"), nullptr) << name;  // a folder row covers its files
    std::string upper = name;
    for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_NE(protected_match(upper), nullptr) << upper;              // case-insensitive file systems
    EXPECT_FALSE(r.why.empty());
  }
  for (std::string_view ok : {"README.md", "docs/isa.md", "notes.txt", "examples/fib.pxasm", "kernels/k.wgsl",
                              "docs/cmake.md", "src/Makefile.md", "my-scripts/x.md", "x.gitignore.md"})
    EXPECT_EQ(protected_match(ok), nullptr) << ok;
  for (std::string_view bad : {"CMakeLists.txt", "src/CMakeLists.txt", "cmake/x.cmake", "scripts/setup.md",
                               ".ci/x.md", ".git/config", ".gitattributes", ".husky/pre-commit", "package.json",
                               "requirements-dev.txt", "tools/.githooks/x.md"})
    EXPECT_NE(protected_match(bad), nullptr) << bad;
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
  std::ofstream(ws / ".git" / "config") << "[core]\n";
  auto w = open();
  for (auto p : {"dirlink/x.md", "dirlink/secret.txt", "filelink.md", "src/rel.md", "rootlink/etc/passwd"}) {
    EXPECT_NE(denied(w.resolve(p, Access::Write)).find("writes never go through symlinks"), std::string::npos) << p;
    EXPECT_NE(denied(w.resolve(p, Access::Read)).find("points outside the workspace"), std::string::npos) << p;
  }
  EXPECT_NE(denied(w.resolve("dangling.md", Access::Read)).find("dangling"), std::string::npos);
  EXPECT_FALSE(w.resolve("dangling.md", Access::Write));
  EXPECT_NE(denied(w.resolve("g/config", Access::Read)).find(".git"), std::string::npos);
  EXPECT_FALSE(w.resolve("g/config", Access::Write));
  EXPECT_EQ(slurp(out / "secret.txt"), "secret\n");
}

TEST_F(TempTree, ReadsFollowSymlinksInsideWritesNever) {
  fs::create_symlink("src", ws / "alias");
  fs::create_symlink("a.pxasm", ws / "src" / "b.pxasm");
  std::ofstream(ws / "Makefile") << "all:\n";
  fs::create_symlink("Makefile", ws / "notes.md");  // the committed `notes.md -> Makefile` attack
  auto w = open();
  EXPECT_EQ(*w.resolve("alias/a.pxasm", Access::Read), "src/a.pxasm");
  EXPECT_EQ(*w.resolve("src/b.pxasm", Access::Read), "src/a.pxasm");
  for (auto p : {"src/b.pxasm", "alias/new.md", "alias/a.pxasm", "notes.md"}) {
    auto r = w.resolve(p, Access::Write);
    EXPECT_NE(denied(r).find("writes never go through symlinks"), std::string::npos) << p << ": " << denied(r);
  }
  EXPECT_EQ(slurp(ws / "Makefile"), "all:\n");
}

TEST_F(TempTree, ProtectedPathsAreNeverWritten) {
  std::ofstream(ws / "CMakeLists.txt") << "project(x)\n";
  auto w = open();
  for (auto p : {"CMakeLists.txt", "./CMakeLists.txt", "src/CMakeLists.txt", "cmakelists.TXT", "scripts/setup.md",
                 "requirements.txt", ".github/workflows/ci.md", ".gitignore"}) {
    auto r = w.resolve(p, Access::Write);
    EXPECT_NE(denied(r).find("protected build input"), std::string::npos) << p << ": " << denied(r);
  }
  EXPECT_TRUE(w.resolve("CMakeLists.txt", Access::Read));  // reading a build file is fine
  // write() checks again: a caller that skipped resolve() gains nothing
  EXPECT_FALSE(w.write("CMakeLists.txt", "execute_process(COMMAND id)\n"));
  EXPECT_FALSE(w.write("-x.md", "x"));
  EXPECT_FALSE(w.write("../outside/secret.txt", "x"));
  EXPECT_EQ(slurp(ws / "CMakeLists.txt"), "project(x)\n");
  EXPECT_EQ(slurp(out / "secret.txt"), "secret\n");
  // a folder protected at run time (the repository's core.hooksPath)
  w.protect("tools/hooks-here", "the repository's core.hooksPath");
  EXPECT_NE(denied(w.resolve("tools/hooks-here/x.md", Access::Write)).find("core.hooksPath"), std::string::npos);
  EXPECT_TRUE(w.resolve("tools/hooks-here.md", Access::Write));  // a sibling name is not below it
}

TEST_F(TempTree, ArgumentsThatNamePathsAreResolved) {
  fs::create_symlink(out, ws / "dirlink");
  fs::create_symlink(out / "secret.txt", ws / "filelink");
  std::ofstream(ws / ".env") << "TOKEN=x\n";
  auto w = open();
  auto word = [&](std::string_view a) { auto r = w.resolve_arg(a); return r && !*r; };
  auto path = [&](std::string_view a) { auto r = w.resolve_arg(a); return r && *r ? **r : std::string("(none)"); };
  EXPECT_TRUE(word("PUSH"));             // nothing of that name: just a word
  EXPECT_TRUE(word("src/new.pxasm"));
  EXPECT_EQ(path(".env"), ".env");       // names a file: the caller applies the read rules
  EXPECT_EQ(path("src"), "src");         // a folder is allowed, resolved
  EXPECT_EQ(path("src/a.pxasm"), "src/a.pxasm");
  for (auto bad : {"../outside/secret.txt", "/etc/passwd", "..", "dirlink", "dirlink/secret.txt", "filelink", ".git",
                   ".git/config"})
    EXPECT_FALSE(w.resolve_arg(bad)) << bad;
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
  const std::string path{os::kDefaultPath};
  ReadCheck any = [](const std::string&) { return Status{}; };
  auto expand = [&](const CommandTable& tt, const Workspace& ww, const std::string& name,
                    const std::vector<std::string>& args, const std::string& exe, const std::string& tmp,
                    const std::string& pv) { return architect::expand(tt, ww, name, args, exe, tmp, pv, any); };
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

TEST_F(TempTree, EveryPathArgumentGetsTheReadRules) {
  std::ofstream(ws / ".env") << "TOKEN=x\n";
  auto w = open();
  auto t = CommandTable::defaults();
  t.commands["show"] = CommandSpec{{"cat", "{arg}"}, 10, "", {}};
  std::vector<std::string> seen;
  ReadCheck no_env = [&](const std::string& rel) -> Status {
    seen.push_back(rel);
    if (rel == ".env") return fail(Errc::SandboxDenied, "refused \".env\": ignored");
    return {};
  };
  const std::string path{os::kDefaultPath};
  for (auto& [name, arg] : std::vector<std::pair<std::string, std::string>>{
           {"asm", ".env"}, {"run", ".env"}, {"nasm-check", ".env"}, {"show", ".env"}, {"grep", ".env"}}) {
    auto e = expand(t, w, name, {arg}, "/bin/sh", "/tmp/T", path, no_env);
    ASSERT_FALSE(e) << name;
    EXPECT_EQ(e.error().code, Errc::SandboxDenied) << name << ": " << e.error().detail;
  }
  EXPECT_FALSE(expand(t, w, "show", {"../outside/secret.txt"}, "/bin/sh", "/tmp/T", path, no_env));
  seen.clear();
  ASSERT_TRUE(expand(t, w, "asm", {"src/a.pxasm"}, "/bin/sh", "/tmp/T", path, no_env));
  ASSERT_TRUE(expand(t, w, "grep", {"HALT"}, "/bin/sh", "/tmp/T", path, no_env));  // a word: not checked
  EXPECT_EQ(seen, std::vector<std::string>{"src/a.pxasm"});
}

TEST(Printable, EscapesEverythingThatDrivesATerminal) {
  EXPECT_EQ(printable("a\x1b]52;c;eA==\x07" "b"), "a\\x1b]52;c;eA==\\x07b");
  EXPECT_EQ(printable("l1\nl2\t\\"), "l1\\x0al2\\x09\\\\");
  EXPECT_EQ(printable("l1\nl2\t\\\r\x7f", Keep::Lines), "l1\nl2\t\\\\x0d\\x7f");
  EXPECT_EQ(printable("\xc2\x9b" "2J"), "\\xc2\\x9b2J");        // U+009B, CSI as a C1 control
  EXPECT_EQ(printable("\x9b" "2J"), "\\x9b2J");                   // a lone 0x9b: not UTF-8
  EXPECT_EQ(printable("x\xe2\x80\xaey"), "x\\xe2\\x80\\xaey");  // U+202E right-to-left override
  EXPECT_EQ(printable("x\xe2\x81\xa6y"), "x\\xe2\\x81\\xa6y");  // U+2066 isolate
  EXPECT_EQ(printable("\xc0\xaf\xed\xa0\x80"), "\\xc0\\xaf\\xed\\xa0\\x80");  // overlong, surrogate
  EXPECT_EQ(printable("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"), "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("cut \xe2\x82"), "cut \\xe2\\x82");
  EXPECT_EQ(first_unprintable("ok\n\tyes"), std::string_view::npos);
  EXPECT_EQ(first_unprintable("ok\r\n"), 2u);
  EXPECT_EQ(first_unprintable("ab\xc2\x85"), 2u);
  EXPECT_EQ(first_unprintable("a\\b"), std::string_view::npos);
  EXPECT_EQ(first_unprintable("a\\b", Keep::Nothing), 1u);
}

TEST(Printable, StreamEqualsWholeTextAtEverySplit) {
  const std::string text = "a\x1b[2J\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\xc2\x9b\xe2\x80\xae\x9b\xe2\x82z\n";
  const std::string whole = printable(text, Keep::Lines);
  for (size_t a = 0; a <= text.size(); ++a)
    for (size_t b = a; b <= text.size(); ++b) {
      PrintableStream st(Keep::Lines);
      std::string got = st.feed(text.substr(0, a));
      got += st.feed(text.substr(a, b - a));
      got += st.feed(text.substr(b));
      got += st.finish();
      ASSERT_EQ(got, whole) << a << "," << b;
    }
  PrintableStream st;
  EXPECT_EQ(st.feed("x\xe2\x82"), "x");  // held back: the sequence may still complete
  EXPECT_EQ(st.finish(), "\\xe2\\x82");   // it never did
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

TEST(FileKinds, EachWriteActionNamesItsExtensionsAndChecks) {
  EXPECT_EQ(check_for(Kind::write_asm, ".pxasm"), Check::pxasm);
  EXPECT_EQ(check_for(Kind::write_asm, ".s"), Check::nasm);
  EXPECT_EQ(check_for(Kind::write_wgsl, ".wgsl"), Check::wgsl);
  EXPECT_EQ(check_for(Kind::write_doc, ".md"), Check::none);
  EXPECT_FALSE(check_for(Kind::write_doc, ".wgsl"));   // another action's extension
  EXPECT_FALSE(check_for(Kind::write_asm, ".PXASM"));  // the caller lower-cases
  EXPECT_FALSE(check_for(Kind::read_file, ".md"));     // not a write
  EXPECT_EQ(extensions_of(Kind::write_asm), ".pxasm, .asm, .nasm or .s");
  EXPECT_EQ(extensions_of(Kind::write_wgsl), ".wgsl");
  for (const auto& k : kinds()) {
    bool writes = k.needs_file && k.needs_content;
    Kind kind = Kind(&k - kinds().data());
    EXPECT_EQ(!extensions_of(kind).empty(), writes) << k.name;
  }
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
  auto r = os::run_capture({"/bin/sh", "-c", "echo out; echo err 1>&2; exit 3"}, {"/", {"PATH=/bin"}, 5000, 1024});
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
  auto r = os::run_capture({"/bin/sh", "-c", "(sleep 2; touch " + marker + ") & sleep 30"}, {"/", {"PATH=/bin:/usr/bin"}, 300, 1024});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(r->seconds, 10);
  ::sleep(3);
  EXPECT_FALSE(fs::exists(marker)) << "a grandchild outlived the timeout";
  fs::remove_all(t);
}

TEST(Runner, CapsOutputAndCleansEnvironment) {
  ::setenv("PXOS_TEST_SECRET", "hidden", 1);
  auto r = os::run_capture({"/usr/bin/env"}, {"/", {"PATH=/bin", "ONLY=this"}, 5000, 4096});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output.find("hidden"), std::string::npos);
  EXPECT_NE(r->output.find("ONLY=this"), std::string::npos);
  auto big = os::run_capture({"/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x"}, {"/", {"PATH=/bin:/usr/bin"}, 5000, 1000});
  ASSERT_TRUE(big);
  EXPECT_LT(big->output.size(), 1100u);
  EXPECT_GT(big->dropped, 150000u);
  EXPECT_FALSE(os::run_capture({"relative"}, {}));
  EXPECT_FALSE(os::run_capture({"/nonexistent/prog"}, {"/", {}, 1000, 100}));
}

// os::spawn (src/common/spawn.cpp): the one spawner, shared with boot and the godpixel bench.
TEST(Spawn, FaultHookFailsOneStartThenDisarms) {
  os::set_fault(os::Op::Spawn, 2);  // the second start from now fails
  EXPECT_TRUE(os::run_capture({"/bin/true"}, {"/", {}, 5000, 64}));
  auto r = os::run_capture({"/bin/true"}, {"/", {}, 5000, 64});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Io);
  EXPECT_NE(r.error().detail.find("cannot run /bin/true"), std::string::npos) << r.error().detail;
  EXPECT_TRUE(os::run_capture({"/bin/true"}, {"/", {}, 5000, 64}));
  os::set_fault(os::Op::Spawn, 0);
}

TEST(Spawn, PathLookupSkipsRelativeEntries) {
  char t[] = "/tmp/pxos-spawn-XXXXXX";
  ASSERT_NE(::mkdtemp(t), nullptr);
  std::string dir = t;
  {
    std::FILE* f = std::fopen((dir + "/prog").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("#!/bin/sh\necho ran\n", f);
    std::fclose(f);
  }
  ::chmod((dir + "/prog").c_str(), 0755);
  EXPECT_EQ(os::find_program("prog", dir), dir + "/prog");
  EXPECT_EQ(os::find_program("prog", "/nonexistent:" + dir), dir + "/prog");
  // "" and "." would mean the working directory: never searched.
  ASSERT_EQ(::chdir(t), 0);
  EXPECT_EQ(os::find_program("prog", ":.:/nonexistent"), "");
  ASSERT_EQ(::chdir("/"), 0);
  auto r = os::run_capture({"prog"}, {"/", {"PATH=" + dir}, 5000, 64});
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->output, "ran\n");
  // an executable that exec refuses (no #! and not ELF) is an error of the start, not exit 127
  {
    std::FILE* f = std::fopen((dir + "/junk").c_str(), "w");
    std::fputs("\x7f" "ELF junk", f);
    std::fclose(f);
  }
  ::chmod((dir + "/junk").c_str(), 0755);
  auto j = os::run_capture({dir + "/junk"}, {"/", {}, 5000, 64});
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().detail.find("cannot run " + dir + "/junk"), std::string::npos) << j.error().detail;
  auto cwd = os::run_capture({"/bin/true"}, {dir + "/missing", {}, 5000, 64});
  ASSERT_FALSE(cwd);
  EXPECT_NE(cwd.error().detail.find(dir + "/missing"), std::string::npos) << cwd.error().detail;
  fs::remove_all(dir);
}

TEST(Spawn, InheritReturnsTheWaitStatus) {
  auto st = os::run_inherit({"/bin/sh", "-c", "exit 4"});
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 4);
  auto missing = os::run_inherit({"pxos-no-such-program"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
}
