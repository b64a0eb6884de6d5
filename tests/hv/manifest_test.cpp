// manifest_test.cpp: the strict manifest reader: the issue's example, defaults, and every kind of
// bad manifest (not JSON, unknown fields, wrong types, duplicates, bad entrypoints, requirements).
#include <gtest/gtest.h>

#include "hv/manifest.hpp"
#include "hv/policy.hpp"

namespace pxos::hv {
namespace {

const char* kIssueExample = R"({
  "name": "demo",
  "version": "1.0.0",
  "entrypoints": { "default": "main:start", "countdown": "util:countdown" },
  "runtime": {
    "vm_version": ">=1",
    "capabilities": ["clock"],
    "limits": { "max_steps": 1000000, "max_output_bytes": 65536, "memory_words": 1024, "timeout_ms": 2000 }
  }
})";

std::string err(std::string_view text) {
  auto m = parse_manifest(text, "m.json");
  if (m) return "(accepted)";
  EXPECT_EQ(m.error().code, Errc::ManifestInvalid);
  return m.error().detail;
}

// Replaces the first occurrence of `from` in the issue's example.
std::string variant(std::string_view from, std::string_view to) {
  std::string s = kIssueExample;
  auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

#define EXPECT_HAS(hay, needle) EXPECT_NE(std::string(hay).find(needle), std::string::npos) << (hay)

TEST(Manifest, IssueExampleParses) {
  auto m = parse_manifest(kIssueExample, "m.json");
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->name, "demo");
  EXPECT_EQ(m->version, "1.0.0");
  ASSERT_EQ(m->entrypoints.size(), 2u);
  EXPECT_EQ(m->entrypoints[0].name, "default");  // file order is kept
  EXPECT_EQ(m->entrypoints[0].module, "main");
  EXPECT_EQ(m->entrypoints[0].label, "start");
  EXPECT_EQ(m->entrypoints[1].module, "util");
  EXPECT_EQ(m->limits.max_steps, 1000000u);
  EXPECT_EQ(m->limits.max_output_bytes, 65536u);
  EXPECT_EQ(m->limits.memory_words, 1024u);
  EXPECT_EQ(m->limits.timeout_ms, 2000u);
  ASSERT_TRUE(check_runtime(*m, "m.json"));
  EXPECT_EQ(m->caps, vm::cap_bit(vm::Cap::clock));
  EXPECT_EQ(m->entry_names(), "countdown, default");
}

TEST(Manifest, LimitsDefaultWhenLeftOut) {
  auto m = parse_manifest(R"({"name":"a","version":"0.1.0","entrypoints":{"x":"m:l"},"runtime":{"vm_version":"1"}})", "m");
  ASSERT_TRUE(m) << m.error().detail;
  EXPECT_EQ(m->limits.max_steps, kDefaultMaxSteps);
  EXPECT_EQ(m->limits.max_output_bytes, kDefaultMaxOutput);
  EXPECT_EQ(m->limits.memory_words, kDefaultMemoryWords);
  EXPECT_EQ(m->limits.timeout_ms, kDefaultTimeoutMs);
  EXPECT_TRUE(m->capabilities.empty());
}

TEST(Manifest, NotJsonNamesLineAndColumn) {
  EXPECT_HAS(err("{\n  \"name\": demo\n}"), "m.json: line 2, column 11: not valid JSON");
  EXPECT_HAS(err(""), "not valid JSON");
  EXPECT_HAS(err("{\"name\": \"a\",}"), "not valid JSON");
  EXPECT_HAS(err("[1, 2"), "not valid JSON");
  EXPECT_HAS(err("\xff\xfe"), "not valid JSON");
}

TEST(Manifest, RootMustBeAnObject) {
  EXPECT_HAS(err("[]"), "m.json: $: expected an object, got array");
  EXPECT_HAS(err("42"), "$: expected an object");
}

TEST(Manifest, UnknownFieldsNameTheirPath) {
  EXPECT_HAS(err(variant("\"name\"", "\"nmae\": 1, \"name\"")), "$.nmae: unknown field (did you mean 'name'?)");
  EXPECT_HAS(err(variant("\"limits\"", "\"limts\"")), "$.runtime.limts: unknown field (did you mean 'limits'?)");
  EXPECT_HAS(err(variant("\"timeout_ms\"", "\"timeout\"")), "$.runtime.limits.timeout: unknown field");
  EXPECT_HAS(err(variant("\"timeout_ms\"", "\"timeout\"")), "allowed here: max_steps, max_output_bytes, memory_words, timeout_ms");
  EXPECT_HAS(err(variant("\"name\"", "\"weird key\": 1, \"name\"")), "$[\"weird key\"]: unknown field");
}

TEST(Manifest, WrongTypesNameTheirPath) {
  EXPECT_HAS(err(variant("\"demo\"", "5")), "$.name: expected a string, got integer 5");
  EXPECT_HAS(err(variant("\"1.0.0\"", "1.0")), "$.version: expected a string, got number 1.0");
  EXPECT_HAS(err(variant("{ \"default\"", "[ \"default\"")), "not valid JSON");  // mismatched brackets
  EXPECT_HAS(err(variant("\"main:start\"", "[\"main:start\"]")), "$.entrypoints.default: expected a string, got array");
  EXPECT_HAS(err(variant("1000000", "\"1000000\"")), "$.runtime.limits.max_steps: expected a positive integer, got string \"1000000\"");
  EXPECT_HAS(err(variant("1000000", "1e6")), "$.runtime.limits.max_steps: expected a positive integer, got number");
  EXPECT_HAS(err(variant("65536", "-1")), "$.runtime.limits.max_output_bytes: must be at least 1, got -1");
  EXPECT_HAS(err(variant("1024", "0")), "$.runtime.limits.memory_words: must be at least 1, got 0");
  EXPECT_HAS(err(variant("2000", "true")), "$.runtime.limits.timeout_ms: expected a positive integer, got boolean true");
  EXPECT_HAS(err(variant("[\"clock\"]", "\"clock\"")), "$.runtime.capabilities: expected an array of strings, got string");
  EXPECT_HAS(err(variant("[\"clock\"]", "[\"clock\", 3]")), "$.runtime.capabilities[1]: expected a string, got integer 3");
  EXPECT_HAS(err(variant("[\"clock\"]", "[\"clock\", \"clock\"]")), "$.runtime.capabilities[1]: duplicate capability 'clock'");
  EXPECT_HAS(err(variant("\">=1\"", "1")), "$.runtime.vm_version: expected a string, got integer 1");
  EXPECT_HAS(err(variant("{ \"max_steps\": 1000000, \"max_output_bytes\": 65536, \"memory_words\": 1024, \"timeout_ms\": 2000 }", "null")),
             "$.runtime.limits: expected an object, got null");
  EXPECT_HAS(err(variant("{\n    \"vm_version\"", "[{\n    \"vm_version\"")), "not valid JSON");
}

TEST(Manifest, MissingRequiredFields) {
  EXPECT_HAS(err(R"({"version":"1.0.0","entrypoints":{"a":"m:l"},"runtime":{"vm_version":"1"}})"), "$: missing required field 'name'");
  EXPECT_HAS(err(R"({"name":"a","version":"1.0.0","entrypoints":{"a":"m:l"}})"), "$: missing required field 'runtime'");
  EXPECT_HAS(err(R"({"name":"a","version":"1.0.0","entrypoints":{"a":"m:l"},"runtime":{}})"),
             "$.runtime: missing required field 'vm_version'");
  EXPECT_HAS(err(R"({"name":"a","version":"1.0.0","entrypoints":{},"runtime":{"vm_version":"1"}})"), "$.entrypoints: no entrypoints");
}

TEST(Manifest, DuplicateKeysAreErrors) {
  EXPECT_HAS(err(variant("\"name\": \"demo\"", "\"name\": \"demo\", \"name\": \"x\"")), "m.json: $.name: duplicate key");
  EXPECT_HAS(err(variant("\"memory_words\": 1024", "\"memory_words\": 1024, \"memory_words\": 2")),
             "$.runtime.limits.memory_words: duplicate key");
  EXPECT_HAS(err(variant("\"countdown\": \"util:countdown\"", "\"countdown\": \"util:countdown\", \"default\": \"x:y\"")),
             "$.entrypoints.default: duplicate key");
}

TEST(Manifest, EntrypointTargetsMustBeModuleColonLabel) {
  for (const char* bad : {"\"main\"", "\"main:\"", "\":start\"", "\"1main:start\"", "\"main:start:x\"", "\"ma-in:start\"", "\"\""})
    EXPECT_HAS(err(variant("\"main:start\"", bad)), "$.entrypoints.default: expected \"module:label\"");
  auto ok = parse_manifest(variant("\"main:start\"", "\"main:print_item.bare\""), "m");
  EXPECT_TRUE(ok) << ok.error().detail;
}

TEST(Manifest, NameAndVersionFormats) {
  EXPECT_HAS(err(variant("\"demo\"", "\"\"")), "$.name: must be 1..64 characters");
  EXPECT_HAS(err(variant("\"demo\"", "\"de mo\"")), "$.name: must be 1..64 characters");
  EXPECT_HAS(err(variant("\"1.0.0\"", "\"1.0\"")), "$.version: '1.0' is not a version");
  EXPECT_TRUE(parse_manifest(variant("\"1.0.0\"", "\"2.10.3-rc.1+b5\""), "m"));
}

TEST(Manifest, DeepNestingIsRefusedNotACrash) {
  std::string deep = variant("\"demo\"", std::string(5000, '[') + std::string(5000, ']'));
  EXPECT_HAS(err(deep), "nested deeper than");
}

TEST(Manifest, Requirements) {
  struct Case { const char* text; bool ok; bool v1; };
  for (auto c : std::vector<Case>{{">=1", true, true},  {"1", true, true},    {"=1", true, true},   {"==1", true, true},
                                  {">=2", true, false}, {"<1", true, false},  {">0", true, true},   {"*", true, true},
                                  {">=1,<3", true, true}, {">=1 <3", true, true}, {">=2, <3", true, false}, {"<=1", true, true},
                                  {"", false, false},   {"abc", false, false}, {"=>1", false, false}, {">=", false, false},
                                  {">=1x", false, false}, {"1 2 3 4 5 6 7 8 9", false, false}}) {
    auto r = parse_requirement(c.text);
    EXPECT_EQ(bool(r), c.ok) << c.text;
    if (r) EXPECT_EQ(r->satisfied_by(1), c.v1) << c.text;
  }
  EXPECT_HAS(err(variant("\">=1\"", "\"=>1\"")), "$.runtime.vm_version: bad requirement '=>1'");
}

TEST(Manifest, RequirementsThisBuildCannotMeet) {
  auto check = [](std::string text) {
    auto m = parse_manifest(text, "m.json");
    EXPECT_TRUE(m) << m.error().detail;
    auto s = check_runtime(*m, "m.json");
    EXPECT_FALSE(s);
    if (s) return std::string("(met)");
    EXPECT_EQ(s.error().code, Errc::Unsupported);
    return s.error().detail;
  };
  EXPECT_HAS(check(variant("\">=1\"", "\">=2\"")), "$.runtime.vm_version: requires VM version '>=2'; this build runs VM version 1");
  EXPECT_HAS(check(variant("[\"clock\"]", "[\"clock\", \"teleport\"]")),
             "$.runtime.capabilities[1]: capability 'teleport' does not exist in this build (known: clock, random, input, mailbox, gpu)");
  EXPECT_HAS(check(variant("1024", "70000")), "$.runtime.limits.memory_words: 70000 words requested; this build's VM addresses at most 65536");
  EXPECT_HAS(check(variant("1000000", "18446744073709551615")), "$.runtime.limits.max_steps");
}

}  // namespace
}  // namespace pxos::hv
