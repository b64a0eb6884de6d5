// cmd_llm_serve.cpp: `pxos llm serve MODEL`: the OpenAI-compatible server (src/llm/server.*) on
// the HTTP plugin (src/llm/httpd.*). Binds first and prints the port on one line, then loads
// the model (requests get 503 meanwhile); SIGINT/SIGTERM stop it cleanly.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <thread>

#include "cli/command.hpp"
#include "llm/httpd.hpp"
#include "llm/server.hpp"

namespace pxos::cli {
namespace {

struct Opts {
  std::string model, host = "127.0.0.1", model_id;
  int port = 0;
  unsigned parallel = 1, threads = 1;
  uint32_t n_ctx = llm::serve_tun::kDefaultCtx, max_tokens = 0;
};

std::string stem(const std::string& path) {
  std::string s = path.substr(path.rfind('/') + 1);
  if (s.ends_with(".gguf")) s.resize(s.size() - 5);
  return s;
}

void serve(const Opts& o) {
  if (o.port < 0 || o.port > 65535) throw Failure({Errc::Usage, fmt::format("--port {}: must be 0..65535", o.port)});
  const llm::HttpdApi* api = must(llm::open_httpd());
  llm::ChatServer server({.model_path = o.model, .model_id = o.model_id.empty() ? stem(o.model) : o.model_id,
                          .n_ctx = o.n_ctx, .parallel = o.parallel, .threads = o.threads,
                          .max_tokens_cap = o.max_tokens});
  // Signals go to the waiter thread only (blocked here before any thread starts).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that went away is a failed write, not a signal
  llm::HttpHandler handler = [&server](const llm::HttpRequest& q, llm::HttpResponse& r) { server.handle(q, r); };
  llm::HttpdOptions ho{.host = o.host, .port = o.port, .max_body = llm::serve_tun::kMaxBody};
  std::string err;
  void* h = api->create(&ho, &handler, &err);
  if (!h) throw Failure({Errc::Io, fmt::format("llm serve: {}", err)});
  const int port = api->port(h);
  std::printf("pxos llm serve: listening on http://%s:%d (model %s, loading)\n", o.host.c_str(), port, server.options().model_id.c_str());
  std::fflush(stdout);
  // Stopping is asked for by a signal or a failed load; httplib ignores a stop() that comes
  // before it listens, so the waiter repeats it until run() has returned.
  std::atomic<bool> stop_asked{false}, run_done{false};
  std::optional<Error> load_error;
  std::thread loader([&] {
    if (auto s = server.load(); !s) {
      load_error = s.error();
      stop_asked = true;
      return;
    }
    std::printf("pxos llm serve: ready (context %u, %u session%s)\n", server.options().n_ctx, o.parallel, o.parallel == 1 ? "" : "s");
    std::fflush(stdout);
  });
  std::thread waiter([&] {
    while (!run_done) {
      timespec ts{0, 50'000'000};
      if (sigtimedwait(&set, nullptr, &ts) > 0) stop_asked = true;
      if (stop_asked) api->stop(h);
    }
  });
  api->run(h);
  run_done = true;
  waiter.join();
  loader.join();
  api->destroy(h);
  if (load_error) throw Failure(std::move(*load_error));
  std::printf("pxos llm serve: stopped\n");
}

void setup(CLI::App& root) {
  auto* llm = root.get_subcommand("llm");
  auto* s = llm->add_subcommand("serve", "an OpenAI-compatible server: /v1/chat/completions (stream, json_schema), /v1/models, /health");
  static Opts o;
  s->add_option("model", o.model, "the .gguf file")->required();
  s->add_option("--host", o.host, "address to listen on (default 127.0.0.1)");
  s->add_option("--port", o.port, "port (0: the system picks one; the bound port is printed)")->check(at_least("--port"));
  s->add_option("--parallel", o.parallel, "requests generating at once, one model session each (others queue)")->check(at_least("--parallel", true));
  s->add_option("--threads", o.threads, "CPU threads per session")->check(at_least("--threads", true));
  s->add_option("--ctx", o.n_ctx, "context length per session (default 2048; at most the model's)")->check(at_least("--ctx", true));
  s->add_option("--max-tokens", o.max_tokens, "a ceiling on every request's max_tokens (0: none); schema replies close within it")->check(at_least("--max-tokens"));
  s->add_option("--model-id", o.model_id, "the model's name in the API (default: the file name without .gguf)");
  s->callback([] { serve(o); });
}

const Register reg(87, {"llm"}, setup);  // after cmd_llm.cpp (85), which creates `llm`

}  // namespace
}  // namespace pxos::cli
