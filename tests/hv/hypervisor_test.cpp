// hypervisor_test.cpp: validation classes in order, the demo archive end to end, limits (steps,
// output, memory, wall time), the capability policy, isolation of runs, and the JSON-lines log.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "helpers.hpp"
#include "hv/pack.hpp"

namespace pxos::hv::test {
namespace {

#define EXPECT_HAS(hay, needle) EXPECT_NE(std::string(hay).find(needle), std::string::npos) << (hay)

struct Opened {
  Result<Image> img;
  std::vector<Check> checks;
  std::string failed() const { return checks.empty() || checks.back().ok ? "" : std::string(checks.back().name); }
};

Opened open(ByteView png, ValidateOptions vo = {}) {
  Opened o{std::unexpected(Error{}), {}};
  vo.sink = [&](const Check& c) { o.checks.push_back(c); };
  o.img = open_image(png, "t.pxa", vo);
  return o;
}

Bytes demo_png() {
  auto a = pack_directory(kDemoDir);
  EXPECT_TRUE(a) << (a ? "" : a.error().detail);
  auto png = encode_pxa(*a);
  EXPECT_TRUE(png);
  return *png;
}

struct Ran {
  Result<RunOutcome> out;
  std::string text;
};

Ran run_entry(const Image& img, const std::string& entry, Policy pol = {}, std::optional<uint64_t> seed = {},
              std::FILE* input = nullptr) {
  Ran r{std::unexpected(Error{}), {}};
  RunRequest req;
  req.entry = entry;
  req.seed = seed;
  req.input = input;
  req.output = [&](std::string_view s) { r.text += s; };
  r.out = run(img, pol, req);
  return r;
}

const char* kLoop = "start:\n  JMP start\n";

// ---- the demo ----

TEST(Hypervisor, DemoValidatesInOrder) {
  Policy pol;
  pol.grant = vm::cap_bit(vm::Cap::input);
  ValidateOptions vo;
  vo.policy = pol;
  auto o = open(demo_png(), vo);
  ASSERT_TRUE(o.img) << o.img.error().detail;
  std::vector<std::string> names;
  for (auto& c : o.checks) {
    EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
    names.emplace_back(c.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"archive", "manifest", "runtime", "modules", "link", "entrypoints", "capabilities"}));
  EXPECT_HAS(o.checks[4].detail, "main -> sieve, util; sieve -> util");
}

// PXOS_HV_CHECKS is the one list of steps: validation reports each by its id, in table order,
// under the table's name (hv validate and the log print from it).
TEST(Hypervisor, StepTableDrivesValidation) {
  Policy pol;
  pol.grant = vm::cap_bit(vm::Cap::input);
  ValidateOptions vo;
  vo.policy = pol;
  auto o = open(demo_png(), vo);
  ASSERT_TRUE(o.img) << o.img.error().detail;
  auto steps = check_steps();
  ASSERT_EQ(o.checks.size(), steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(size_t(steps[i].id), i);
    EXPECT_EQ(o.checks[i].id, steps[i].id);
    EXPECT_EQ(o.checks[i].name, steps[i].name);
    EXPECT_EQ(&check_step(steps[i].id), &steps[i]);
    EXPECT_FALSE(steps[i].description.empty()) << steps[i].name;
  }
  // A failing step is reported under its own id, and none after it runs.
  auto bad = open(make_pxa(manifest_with(R"({"default": "main:nowhere"})"), {{"main", "start:\n  HALT\n"}}));
  ASSERT_FALSE(bad.img);
  EXPECT_EQ(bad.checks.back().id, CheckId::entrypoints);
  EXPECT_FALSE(bad.checks.back().ok);
  EXPECT_EQ(bad.checks.size(), size_t(CheckId::entrypoints) + 1);
}

TEST(Hypervisor, DemoEntrypointsRun) {
  ValidateOptions vo;
  vo.check_policy = false;
  auto o = open(demo_png(), vo);
  ASSERT_TRUE(o.img) << o.img.error().detail;
  const Image& img = *o.img;
  auto d = run_entry(img, "default");
  ASSERT_TRUE(d.out) << d.out.error().detail;
  EXPECT_TRUE(d.out->result.halted) << d.out->result.trap.detail;
  EXPECT_EQ(d.text, "countdown:\n3\n2\n1\nliftoff\nprimes below 50, then how many lie below 1000:\n"
                    "2 3 5 7 11 13 17 19 23 29 31 37 41 43 47\n168\n");
  EXPECT_EQ(run_entry(img, "countdown").text, "5\n4\n3\n2\n1\nliftoff\n");
  EXPECT_EQ(run_entry(img, "sieve").text, "2 3 5 7 11 13 17 19 23 29 31 37 41 43 47\n168\n");
  auto t = run_entry(img, "timed");
  ASSERT_TRUE(t.out && t.out->result.halted);
  EXPECT_TRUE(t.text.starts_with("168\n")) << t.text;
  EXPECT_TRUE(t.text.ends_with(" ms\n")) << t.text;
  // What each entry needs, by static analysis.
  EXPECT_EQ(img.entry("default")->needs, 0u);
  EXPECT_EQ(img.entry("default")->modules, (std::vector<std::string>{"main", "sieve", "util"}));
  EXPECT_EQ(img.entry("countdown")->modules, (std::vector<std::string>{"util"}));
  EXPECT_EQ(img.entry("lucky")->needs, vm::cap_bit(vm::Cap::random));
  EXPECT_EQ(img.entry("lucky")->host_calls, (std::vector<std::string>{"random_below"}));
  EXPECT_EQ(img.entry("timed")->needs, vm::cap_bit(vm::Cap::clock));
  EXPECT_EQ(img.entry("echo")->needs, vm::cap_bit(vm::Cap::input));
}

TEST(Hypervisor, SeededRandomIsReproducible) {
  ValidateOptions vo;
  vo.entry = "lucky";
  auto o2 = open(demo_png(), vo);
  ASSERT_TRUE(o2.img) << o2.img.error().detail;
  auto a = run_entry(*o2.img, "lucky", {}, 7), b = run_entry(*o2.img, "lucky", {}, 7), c = run_entry(*o2.img, "lucky", {}, 8);
  ASSERT_TRUE(a.out && a.out->result.halted);
  EXPECT_TRUE(a.text.starts_with("lucky numbers:\n"));
  EXPECT_EQ(a.text, b.text);
  EXPECT_NE(a.text, c.text);
}

TEST(Hypervisor, UnknownEntryListsTheAvailableOnes) {
  ValidateOptions vo;
  vo.check_policy = false;
  auto o = open(demo_png(), vo);
  ASSERT_TRUE(o.img);
  auto r = run_entry(*o.img, "sieeve");
  ASSERT_FALSE(r.out);
  EXPECT_EQ(r.out.error().code, Errc::NotFound);
  EXPECT_HAS(r.out.error().detail, "no entrypoint 'sieeve', did you mean 'sieve'? (available: countdown, default, echo, lucky, sieve, timed)");
}

// ---- capabilities ----

TEST(Hypervisor, CapabilityPolicy) {
  ValidateOptions vo;
  vo.check_policy = false;
  auto o = open(demo_png(), vo);
  ASSERT_TRUE(o.img);
  const Image& img = *o.img;
  // input is in the default policy (the same as pxos run's): echo reads what it is given.
  std::FILE* in = std::tmpfile();
  std::fputs("21\n-4\n", in);
  std::rewind(in);
  auto ok = run_entry(img, "echo", {}, {}, in);
  std::fclose(in);
  ASSERT_TRUE(ok.out) << ok.out.error().detail;
  EXPECT_TRUE(ok.out->result.halted);
  EXPECT_EQ(ok.text, "42\n-8\n");
  EXPECT_EQ(ok.out->granted, vm::kDefaultCaps & img.manifest.caps);
  EXPECT_EQ(ok.out->granted, vm::cap_bit(vm::Cap::clock) | vm::cap_bit(vm::Cap::random) | vm::cap_bit(vm::Cap::input));
  // --deny wins over the default policy, naming the capability.
  Policy deny;
  deny.deny = vm::cap_bit(vm::Cap::input);
  auto r = run_entry(img, "echo", deny);
  ASSERT_FALSE(r.out);
  EXPECT_EQ(r.out.error().code, Errc::CapabilityDenied);
  EXPECT_HAS(r.out.error().detail, "entry 'echo' needs capability 'input' (main.pxasm:");
  EXPECT_HAS(r.out.error().detail, "it is denied by --deny input");
  deny.deny = vm::cap_bit(vm::Cap::clock);
  auto d = run_entry(img, "timed", deny);
  ASSERT_FALSE(d.out);
  EXPECT_HAS(d.out.error().detail, "it is denied by --deny clock");
  // An entry that needs nothing runs whatever is denied.
  deny.deny = ~0u;
  EXPECT_TRUE(run_entry(img, "countdown", deny).out);
  // validate (no entry) of the shipped demo passes under the default policy.
  auto v = open(demo_png());
  EXPECT_TRUE(v.img) << v.img.error().detail;
}

TEST(Hypervisor, DevicesAreNotGrantedByDefault) {
  // mailbox is declared and used but is not in the default policy: refused before the first
  // instruction, naming it; granted, the entry passes the policy.
  const auto pxa = make_pxa(manifest_with(R"({"default": "main:start"})", R"(["mailbox"])"),
                            {{"main", "start:\n  PUSH 0\n  HOST_CALL mailbox\n  HALT\n"}});
  ValidateOptions vo;
  vo.check_policy = false;
  auto o = open(pxa, vo);
  ASSERT_TRUE(o.img) << o.img.error().detail;
  auto r = run_entry(*o.img, "default");
  ASSERT_FALSE(r.out);
  EXPECT_EQ(r.out.error().code, Errc::CapabilityDenied);
  EXPECT_HAS(r.out.error().detail, "(mailbox)), which is not granted: the default policy grants only clock, random, input: pass --grant mailbox");
  auto v = open(pxa);
  ASSERT_FALSE(v.img);
  EXPECT_EQ(v.failed(), "capabilities");
  EXPECT_EQ(v.img.error().code, Errc::CapabilityDenied);
  EXPECT_HAS(v.img.error().detail, "the manifest requires capability 'mailbox', which is not granted");
  ValidateOptions granted;
  granted.policy.grant = vm::cap_bit(vm::Cap::mailbox);
  EXPECT_TRUE(open(pxa, granted).img);
}

TEST(Hypervisor, UndeclaredCapabilityUseIsAManifestError) {
  auto o = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]"), {{"main", "start:\n  HOST_CALL 0\n  PRINT\n  HALT\n"}}));
  ASSERT_FALSE(o.img);
  EXPECT_EQ(o.failed(), "capabilities");
  EXPECT_HAS(o.img.error().detail, "entry 'default' can call main.pxasm:2: main+0x0000: HOST_CALL (clock_ms) which needs capability 'clock'");
}

TEST(Hypervisor, UngrantedHostCallStillTrapsInTheVm) {
  // Defence in depth: if a run's grant lacks a capability, HOST_CALL traps naming it.
  auto o = open(make_pxa(manifest_with(R"({"default": "main:start"})", R"(["clock"])"), {{"main", "start:\n  HOST_CALL 0\n  HALT\n"}}));
  ASSERT_TRUE(o.img) << o.img.error().detail;
  vm::HostEnv env;  // nothing granted
  vm::Machine m(o.img->program, env);
  vm::RunOptions ro;
  ro.output = [](std::string_view) {};
  auto r = m.run(ro);
  ASSERT_FALSE(r.halted);
  EXPECT_EQ(r.trap.code, Errc::CapabilityDenied);
  EXPECT_HAS(r.trap.detail, "needs capability 'clock'");
}

// ---- limits ----

TEST(Hypervisor, StepLimitIsExactAndNamesTheModule) {
  auto o = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"max_steps": 1000})"),
                         {{"main", "start:\n  CALL util:spin\n  HALT\n"}, {"util", "spin:\n  NOP\n  JMP spin\n"}}));
  ASSERT_TRUE(o.img) << o.img.error().detail;
  auto r = run_entry(*o.img, "default");
  ASSERT_TRUE(r.out);
  EXPECT_FALSE(r.out->result.halted);
  EXPECT_EQ(r.out->result.trap.code, Errc::StepLimit);
  EXPECT_EQ(r.out->result.steps, 1000u);
  EXPECT_HAS(r.out->result.trap.detail, "util.pxasm:");
  EXPECT_HAS(r.out->result.trap.detail, "util+0x");
  EXPECT_HAS(r.out->result.trap.detail, "step limit of 1000 instructions reached");
  // Deterministic: the same stop every time.
  auto r2 = run_entry(*o.img, "default");
  EXPECT_EQ(r2.out->result.steps, r.out->result.steps);
  EXPECT_EQ(r2.out->result.trap_pc, r.out->result.trap_pc);
}

TEST(Hypervisor, OutputLimit) {
  auto o = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"max_output_bytes": 10})"),
                         {{"main", "start:\n  PRINT_STR \"abc\"\n  JMP start\n"}}));
  ASSERT_TRUE(o.img) << o.img.error().detail;
  auto r = run_entry(*o.img, "default");
  ASSERT_TRUE(r.out);
  EXPECT_FALSE(r.out->result.halted);
  EXPECT_EQ(r.out->result.trap.code, Errc::OutputLimit);
  EXPECT_EQ(r.text, "abc\nabc\nab");  // exactly the limit was delivered
  EXPECT_EQ(r.out->result.output_bytes, 10u);
}

TEST(Hypervisor, MemoryLimit) {
  // Dynamic addresses past memory_words trap at run time ...
  auto o = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"memory_words": 16})"),
                         {{"main", "start:\n  PUSH 1\n  PUSH 15\n  STOREI\n  PUSH 1\n  PUSH 16\n  STOREI\n  HALT\n"}}));
  ASSERT_TRUE(o.img) << o.img.error().detail;
  auto r = run_entry(*o.img, "default");
  ASSERT_TRUE(r.out);
  EXPECT_FALSE(r.out->result.halted);
  EXPECT_EQ(r.out->result.trap.code, Errc::Trap);
  EXPECT_HAS(r.out->result.trap.detail, "main.pxasm:7: main+0x0015: STOREI");
  // ... static ones are refused by the modules check.
  auto s = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"memory_words": 16})"),
                         {{"main", "start:\n  LOAD 16\n  HALT\n"}}));
  ASSERT_FALSE(s.img);
  EXPECT_EQ(s.failed(), "modules");
  EXPECT_HAS(s.img.error().detail, "address 16 is outside memory (0..15)");
}

TEST(Hypervisor, WallTimeLimit) {
  auto o = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"max_steps": 1000000000000, "timeout_ms": 30})"),
                         {{"main", kLoop}}));
  ASSERT_TRUE(o.img) << o.img.error().detail;
  auto r = run_entry(*o.img, "default");
  ASSERT_TRUE(r.out);
  EXPECT_FALSE(r.out->result.halted);
  EXPECT_EQ(r.out->result.trap.code, Errc::TimeLimit);
  EXPECT_HAS(r.out->result.trap.detail, "time limit of 30 ms reached");
}

// ---- bad archives, class by class ----

TEST(Hypervisor, EachBadInputFailsInItsClass) {
  struct Case { std::string name; Bytes png; std::string cls; Errc code; std::string needle; };
  std::string ok_entry = R"({"default": "main:start"})";
  const char* main_ok = "start:\n  HALT\n";
  std::vector<Case> cases;
  {
    Archive a;  // no manifest
    a.entries.push_back({EntryType::Module, "main", isa::serialize(assemble(main_ok, "main.pxasm")).value(), {}, 0});
    cases.push_back({"missing manifest", *encode_pxa(a), "archive", Errc::ManifestInvalid, "no manifest.json entry"});
  }
  cases.push_back({"not json", make_pxa("{ nope", {{"main", main_ok}}), "manifest", Errc::ManifestInvalid, "not valid JSON"});
  cases.push_back({"wrong type", make_pxa(manifest_with(ok_entry, "[]", R"({"max_steps": "many"})"), {{"main", main_ok}}),
                   "manifest", Errc::ManifestInvalid, "$.runtime.limits.max_steps: expected a positive integer"});
  {
    std::string m = manifest_with(ok_entry);
    m.replace(m.find(">=1"), 3, ">=9");
    cases.push_back({"vm version", make_pxa(m, {{"main", main_ok}}), "runtime", Errc::Unsupported, "requires VM version '>=9'"});
  }
  cases.push_back({"bad module", make_pxa(manifest_with(ok_entry), {{"main", "start:\n  PUSH 1\n"}}), "modules", Errc::VerifyError,
                   "fall off the end"});
  cases.push_back({"unresolved", make_pxa(manifest_with(ok_entry), {{"main", "start:\n  CALL util:nope\n  HALT\n"}, {"util", "f:\n  RET\n"}}),
                   "link", Errc::LinkError, "module 'util' has no label 'nope'"});
  cases.push_back({"cycle", make_pxa(manifest_with(ok_entry), {{"main", "start:\n  CALL util:f\n  HALT\ng:\n  RET\n"},
                                                                {"util", "f:\n  CALL main:g\n  RET\n"}}),
                   "link", Errc::LinkError, "import cycle main -> util -> main"});
  cases.push_back({"entry module", make_pxa(manifest_with(R"({"default": "nomod:start"})"), {{"main", main_ok}}), "entrypoints",
                   Errc::NotFound, "$.entrypoints.default: \"nomod:start\": no module 'nomod' in the archive (modules: main)"});
  cases.push_back({"entry label", make_pxa(manifest_with(R"({"default": "main:strat"})"), {{"main", main_ok}}), "entrypoints",
                   Errc::NotFound, "module 'main' has no label 'strat' (did you mean 'start'?)"});
  {
    Archive a = make_archive(manifest_with(ok_entry), {{"main", main_ok}});
    a.entries[1].data.resize(10);  // not a PXBC module any more (hashes are recomputed by the writer)
    cases.push_back({"module bytes", *encode_pxa(a), "modules", Errc::ModuleInvalid, "module 'main'"});
  }
  for (const auto& c : cases) {
    auto o = open(c.png);
    ASSERT_FALSE(o.img) << c.name;
    EXPECT_EQ(o.failed(), c.cls) << c.name << ": " << o.img.error().detail;
    EXPECT_EQ(o.img.error().code, c.code) << c.name << ": " << o.img.error().detail;
    EXPECT_HAS(o.img.error().detail, c.needle);
    for (size_t i = 0; i + 1 < o.checks.size(); ++i) EXPECT_TRUE(o.checks[i].ok) << c.name;
  }
}

TEST(Hypervisor, CorruptedFilesFailTheArchiveCheck) {
  Bytes png = demo_png();
  for (size_t cut : {size_t(0), size_t(8), png.size() / 3, png.size() - 1}) {
    auto o = open(ByteView(png.data(), cut));
    ASSERT_FALSE(o.img);
    EXPECT_EQ(o.failed(), "archive");
  }
  Bytes flipped = png;
  flipped[flipped.size() / 2] ^= 0x10;
  auto o = open(flipped);
  ASSERT_FALSE(o.img);
  EXPECT_EQ(o.failed(), "archive");
}

// ---- isolation ----

TEST(Hypervisor, RunsShareNoState) {
  // Each run starts with zeroed memory, an empty stack and the seed's first number.
  const char* src = R"(start:
    LOAD 5
    PRINT
    LOAD 5
    INC
    STORE 5
    PUSH 1000
    HOST_CALL 3
    PRINT
    PUSH 99
    PUSH 98
    HALT
)";
  auto a = open(make_pxa(manifest_with(R"({"default": "main:start"})", R"(["random"])"), {{"main", src}}));
  auto b = open(make_pxa(manifest_with(R"({"default": "main:start"})"), {{"main", "start:\n  PUSH 7\n  STORE 5\n  LOAD 5\n  PRINT\n  HALT\n"}}));
  ASSERT_TRUE(a.img && b.img);
  std::string first = run_entry(*a.img, "default", {}, 1).text;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(run_entry(*b.img, "default").text, "7\n");
    auto r = run_entry(*a.img, "default", {}, 1);
    EXPECT_EQ(r.text, first);
    EXPECT_TRUE(r.text.starts_with("0\n"));
  }
  // A trapping run does not disturb the next one.
  auto t = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"max_steps": 50})"), {{"main", kLoop}}));
  ASSERT_TRUE(t.img);
  EXPECT_FALSE(run_entry(*t.img, "default").out->result.halted);
  EXPECT_EQ(run_entry(*a.img, "default", {}, 1).text, first);
}

TEST(Hypervisor, ConcurrentRunsOfOneImage) {
  ValidateOptions vo;
  vo.check_policy = false;
  auto o = open(demo_png(), vo);
  ASSERT_TRUE(o.img);
  const Image& img = *o.img;
  std::string expect = run_entry(img, "default").text;
  std::vector<std::string> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto r = run_entry(img, t % 2 ? "default" : "sieve");
        if (!r.out || !r.out->result.halted) { got[t] = "failed"; return; }
        got[t] = r.text;
      }
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(got[t], t % 2 ? expect : "2 3 5 7 11 13 17 19 23 29 31 37 41 43 47\n168\n");
}

// ---- log ----

TEST(Hypervisor, JsonLinesLog) {
  char path[] = "/tmp/pxos_hv_log_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    auto log = RunLog::open(path);
    ASSERT_TRUE(log) << log.error().detail;
    for (int run_no = 0; run_no < 2; ++run_no) {
      log->begin_run();
      ValidateOptions vo;
      vo.sink = [&](const Check& c) { log_check(&*log, c); };
      auto img = open_image(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"max_steps": 100})"), {{"main", kLoop}}),
                            "t.pxa", vo);
      ASSERT_TRUE(img);
      RunRequest req;
      auto out = run(*img, {}, req, &*log);
      ASSERT_TRUE(out);
    }
    EXPECT_EQ(log->error(), "");
  }
  std::ifstream f(path);
  std::string line;
  std::vector<nlohmann::json> recs;
  while (std::getline(f, line)) recs.push_back(nlohmann::json::parse(line));  // every line is JSON
  std::remove(path);
  ASSERT_EQ(recs.size(), 2u * (7 + 3));  // 7 checks, entry, result, trap per run
  EXPECT_EQ(recs[0]["event"], "check");
  EXPECT_EQ(recs[0]["check"], "archive");
  EXPECT_EQ(recs[6]["check"], "capabilities");
  EXPECT_EQ(recs[7]["event"], "entry");
  EXPECT_EQ(recs[7]["target"], "main:start");
  EXPECT_EQ(recs[8]["event"], "result");
  EXPECT_EQ(recs[8]["status"], "trap");
  EXPECT_EQ(recs[8]["steps"], 100);
  EXPECT_EQ(recs[8]["exit_status"], 7);
  EXPECT_EQ(recs[9]["event"], "trap");
  EXPECT_EQ(recs[9]["code"], "StepLimit");
  EXPECT_EQ(recs[9]["kind"], "step_limit");  // the trap's kind from traps.def, not its text
  EXPECT_EQ(recs[9]["module"], "main");
  EXPECT_NE(recs[0]["run"], recs[10]["run"]);  // runs are told apart
  EXPECT_EQ(recs[0]["run"], recs[9]["run"]);
  EXPECT_TRUE(recs[0]["time"].get<std::string>().ends_with("Z"));
}

// ---- issue 19: entry placement and operator limits ----

TEST(Hypervisor, EntryInsideAnInstructionIsRefusedByValidate) {
  // The assembler cannot write such a label; a hand-made module can (offset 2 is inside PUSH).
  isa::Module m = assemble("start:\n  PUSH 7\n  HALT\n", "main.pxasm");
  m.symbols.push_back({"mid", 2});
  std::string mf = manifest_with(R"({"default": "main:mid"})");
  Archive a;
  a.entries.push_back({EntryType::Manifest, "manifest.json", Bytes(mf.begin(), mf.end()), {}, 0});
  a.entries.push_back({EntryType::Module, "main", isa::serialize(m).value(), {}, 0});
  auto png = encode_pxa(a);
  ASSERT_TRUE(png) << png.error().detail;
  auto o = open(*png);
  ASSERT_FALSE(o.img);
  EXPECT_EQ(o.failed(), "entrypoints");
  EXPECT_HAS(o.img.error().detail, "does not start an instruction");
}

TEST(Hypervisor, OperatorLimitsOnlyLowerTheManifest) {
  auto o = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"max_steps": 5000})"), {{"main", kLoop}}));
  ASSERT_TRUE(o.img) << o.img.error().detail;
  auto with = [&](OperatorLimits caps) {
    RunRequest req;
    req.caps = caps;
    req.output = [](std::string_view) {};
    return run(*o.img, Policy{}, req);
  };
  auto low = with({.max_steps = 100});
  ASSERT_TRUE(low);
  EXPECT_EQ(low->result.trap.code, Errc::StepLimit);
  EXPECT_EQ(low->result.steps, 100u);
  auto high = with({.max_steps = 1'000'000'000});  // cannot raise the manifest's 5000
  ASSERT_TRUE(high);
  EXPECT_EQ(high->result.steps, 5000u);
  // The manifest's timeout is lowered too: 200 ms instead of the default 10 s (a hang guard only).
  auto o2 = open(make_pxa(manifest_with(R"({"default": "main:start"})", "[]", R"({"max_steps": 4000000000000000000})"),
                          {{"main", kLoop}}));
  ASSERT_TRUE(o2.img) << o2.img.error().detail;
  RunRequest req;
  req.caps.timeout_ms = 200;
  auto t = run(*o2.img, Policy{}, req);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->result.trap.code, Errc::TimeLimit);
  EXPECT_HAS(t->result.trap.detail, "time limit of 200 ms reached");
}

}  // namespace
}  // namespace pxos::hv::test
