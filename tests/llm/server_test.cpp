// server_test.cpp: the chat server without sockets: request parsing (every bad field named),
// 503 before the model is loaded, replies and streams through a fake writer, a writer that fails
// (the client went away) stopping generation, and concurrent requests not mixing state. Also
// the unit ThreadSanitizer runs (Makefile check-tsan).
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "gguf_writer.hpp"
#include "llm/server.hpp"

namespace pxos::llm {
namespace {
using nlohmann::json;

struct StringWriter : HttpWriter {
  std::string out;
  int fail_after = -1;  // writes before it starts failing; -1: never
  int writes = 0;
  bool write(std::string_view b) override {
    if (fail_after >= 0 && writes >= fail_after) return false;
    ++writes;
    out += b;
    return true;
  }
};

std::string tiny_path() {
  static const std::string p = [] {
    std::string path = ::testing::TempDir() + "/serve_tiny.gguf";
    Bytes b = testgguf::tiny_llama();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    return path;
  }();
  return p;
}

HttpRequest chat(json body) { return {"POST", "/v1/chat/completions", "application/json", body.dump()}; }
json msgs(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

// Runs a request to the end; the body (streamed or not) comes back.
std::pair<int, std::string> run(ChatServer& s, const HttpRequest& q, int fail_after = -1) {
  HttpResponse r;
  s.handle(q, r);
  if (!r.stream) return {r.status, r.body};
  StringWriter w;
  w.fail_after = fail_after;
  r.stream(w);
  return {r.status, w.out};
}

TEST(ChatRequestParse, GoodRequestAndDefaults) {
  auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"developer","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
    "max_tokens":7,"temperature":0.5,"top_p":0.9,"seed":3,"stop":"x","stream":true,"stream_options":{"include_usage":true},
    "response_format":{"type":"json_schema","json_schema":{"name":"n","strict":true,"schema":{"type":"object"}}},"unknown":1})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[0].role, "system");
  EXPECT_EQ(r->messages[1].content, "ab");
  EXPECT_EQ(r->max_tokens, 7u);
  EXPECT_TRUE(r->stream && r->include_usage && r->seeded);
  EXPECT_EQ(r->stop, std::vector<std::string>{"x"});
  EXPECT_EQ(r->format, ChatRequest::Format::JsonSchema);
  auto d = parse_chat_request(R"({"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sampling.temperature, 1.0f);
  EXPECT_EQ(d->max_tokens, 0u);
}

TEST(ChatRequestParse, EveryBadFieldIsNamed) {
  struct Case { const char* body; const char* param; };
  for (auto c : {Case{R"({"messages":[})", ""}, Case{R"([1])", ""}, Case{R"({})", "messages"},
                 Case{R"({"messages":[]})", "messages"}, Case{R"({"messages":"x"})", "messages"},
                 Case{R"({"messages":[{"role":"x","content":"a"}]})", "messages[0].role"},
                 Case{R"({"messages":[{"content":"a"}]})", "messages[0].role"},
                 Case{R"({"messages":[{"role":"user"}]})", "messages[0].content"},
                 Case{R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content[0]"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"max_tokens":0})", "max_tokens"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"max_tokens":1.5})", "max_tokens"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"temperature":-1})", "temperature"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"top_p":0})", "top_p"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"seed":"1"})", "seed"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"stop":[1]})", "stop"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"stop":["a","b","c","d","e"]})", "stop"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"n":2})", "n"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"stream":1})", "stream"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema"}})", "response_format.json_schema"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}})", "response_format.json_schema.name"},
                 Case{R"({"messages":[{"role":"user","content":"a"}],"response_format":{"type":"xml"}})", "response_format.type"}}) {
    auto r = parse_chat_request(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().status, 400) << c.body;
    EXPECT_EQ(r.error().param, c.param) << c.body;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(ChatServer, LoadingAnswers503ThenServes) {
  ChatServer s({.model_path = tiny_path(), .model_id = "tiny", .n_ctx = 128, .parallel = 2});
  HttpResponse h;
  s.handle({"GET", "/health", "", ""}, h);
  EXPECT_EQ(h.status, 503);
  auto [st, body] = run(s, chat({{"messages", msgs("hi")}}));
  EXPECT_EQ(st, 503);
  EXPECT_EQ(json::parse(body)["error"]["code"], "model_loading");
  ASSERT_TRUE(s.load());
  auto [st2, body2] = run(s, chat({{"messages", msgs("hi")}, {"max_tokens", 5}, {"seed", 1}}));
  EXPECT_EQ(st2, 200);
  auto j = json::parse(body2);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 5);
  auto [st3, body3] = run(s, chat({{"model", "other"}, {"messages", msgs("hi")}}));
  EXPECT_EQ(st3, 404);
  auto [st4, body4] = run(s, chat({{"messages", msgs(std::string(600, 'w'))}}));
  EXPECT_EQ(st4, 400);
  EXPECT_EQ(json::parse(body4)["error"]["code"], "context_length_exceeded");
}

TEST(ChatServer, StreamSpellsTheSameReplyAndEndsWithDone) {
  ChatServer s({.model_path = tiny_path(), .model_id = "tiny", .n_ctx = 128});
  ASSERT_TRUE(s.load());
  json req{{"messages", msgs("x")}, {"max_tokens", 10}, {"seed", 9}};
  auto [st, whole] = run(s, chat(req));
  req["stream"] = true;
  auto [st2, sse] = run(s, chat(req));
  ASSERT_EQ(st2, 200);
  ASSERT_TRUE(sse.ends_with("data: [DONE]\n\n"));
  std::string text;
  size_t p = 0;
  while (p < sse.size()) {
    size_t e = sse.find("\n\n", p);
    std::string ev = sse.substr(p + 6, e - p - 6);
    p = e + 2;
    if (ev == "[DONE]") break;
    auto c = json::parse(ev);
    if (c["choices"][0]["delta"].contains("content")) text += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, json::parse(whole)["choices"][0]["message"]["content"].get<std::string>());
}

TEST(ChatServer, SchemaRepliesValidateAndAGoneClientStopsGeneration) {
  ChatServer s({.model_path = tiny_path(), .model_id = "tiny", .n_ctx = 256});
  ASSERT_TRUE(s.load());
  json schema{{"type", "object"}, {"properties", {{"n", {{"type", "integer"}, {"minimum", 0}, {"maximum", 99}}}}},
              {"required", {"n"}}, {"additionalProperties", false}};
  for (int seed = 0; seed < 5; ++seed) {
    auto [st, body] = run(s, chat({{"messages", msgs("n?")}, {"seed", seed}, {"max_tokens", 100},
                                   {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "n"}, {"schema", schema}}}}}}));
    ASSERT_EQ(st, 200);
    auto content = json::parse(body)["choices"][0]["message"]["content"].get<std::string>();
    auto v = json::parse(content);
    EXPECT_TRUE(v["n"].is_number_integer() && v["n"] >= 0 && v["n"] <= 99) << content;
    EXPECT_EQ(v.size(), 1u);
  }
  EXPECT_EQ(s.cancelled(), 0u);
  run(s, chat({{"messages", msgs("go")}, {"max_tokens", 100}, {"seed", 1}, {"stream", true}}), 2);
  EXPECT_EQ(s.cancelled(), 1u);
  run(s, chat({{"messages", msgs("go")}, {"max_tokens", 100}, {"seed", 1}}), 0);  // the first probe fails
  EXPECT_EQ(s.cancelled(), 2u);
}

TEST(ChatServer, ConcurrentRequestsDoNotMixState) {
  ChatServer s({.model_path = tiny_path(), .model_id = "tiny", .n_ctx = 128, .parallel = 2});
  ASSERT_TRUE(s.load());
  std::vector<std::string> alone(8), together(8);
  auto req = [](int i) { return chat({{"messages", msgs("n " + std::to_string(i))}, {"max_tokens", 8}, {"seed", i}, {"temperature", 0.9}}); };
  for (int i = 0; i < 8; ++i) alone[size_t(i)] = json::parse(run(s, req(i)).second)["choices"][0]["message"]["content"];
  std::vector<std::thread> ts;
  for (int k = 0; k < 4; ++k)
    ts.emplace_back([&, k] {
      for (int i = k; i < 8; i += 4) together[size_t(i)] = json::parse(run(s, req(i)).second)["choices"][0]["message"]["content"];
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(alone, together);
}

}  // namespace
}  // namespace pxos::llm
