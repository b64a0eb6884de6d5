// httpd_plugin.cpp: libpxos_httpd.so, the one place cpp-httplib is used: routes every GET and
// POST to the handler that `llm serve` gives it, with a body size limit and chunked bodies for
// streams. Loaded with dlopen by httpd.cpp; nothing else in pxos links cpp-httplib.
#include <httplib.h>

#include "llm/httpd.hpp"

namespace {
using pxos::llm::HttpdOptions;
using pxos::llm::HttpHandler;
using pxos::llm::HttpRequest;
using pxos::llm::HttpResponse;

struct SinkWriter : pxos::llm::HttpWriter {
  httplib::DataSink& sink;
  explicit SinkWriter(httplib::DataSink& s) : sink(s) {}
  bool write(std::string_view b) override { return sink.write(b.data(), b.size()); }
};

struct Server {
  httplib::Server http;
  HttpHandler handler;
  int port = -1;
};

void route(Server* s, const httplib::Request& req, httplib::Response& res) {
  HttpRequest in{req.method, req.path, req.get_header_value("Content-Type"), req.body};
  HttpResponse out;
  s->handler(in, out);
  res.status = out.status;
  if (out.stream) {
    auto fn = std::make_shared<std::function<bool(pxos::llm::HttpWriter&)>>(std::move(out.stream));
    res.set_chunked_content_provider(out.content_type, [fn](size_t, httplib::DataSink& sink) {
      SinkWriter w(sink);
      const bool ok = (*fn)(w);
      if (ok) sink.done();
      return ok;
    });
  } else {
    res.set_content(out.body, out.content_type.c_str());
  }
}

void* create(const HttpdOptions* o, const HttpHandler* h, std::string* err) {
  auto s = std::make_unique<Server>();
  s->handler = *h;
  Server* raw = s.get();
  auto fn = [raw](const httplib::Request& q, httplib::Response& r) { route(raw, q, r); };
  s->http.Get(".*", fn);
  s->http.Post(".*", fn);
  s->http.Put(".*", fn);
  s->http.Delete(".*", fn);
  s->http.Options(".*", fn);
  if (o->max_body) s->http.set_payload_max_length(o->max_body);
  s->http.set_read_timeout(o->read_timeout_s, 0);
  // A body over the limit gets 413 from httplib with no body: give it the OpenAI error shape.
  s->http.set_error_handler([](const httplib::Request&, httplib::Response& r) {
    if (!r.body.empty()) return;
    const char* msg = r.status == 413 ? "request body too large" : r.status == 404 ? "not found" : "request error";
    r.set_content(std::string("{\"error\":{\"message\":\"") + msg + "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":" +
                      (r.status == 413 ? "\"request_too_large\"" : "null") + "}}",
                  "application/json");
  });
  s->port = o->port ? (s->http.bind_to_port(o->host, o->port) ? o->port : -1) : s->http.bind_to_any_port(o->host);
  if (s->port <= 0) {
    *err = "cannot listen on " + o->host + ":" + std::to_string(o->port) + ": " + std::strerror(errno);
    return nullptr;
  }
  return s.release();
}

int port(void* s) { return static_cast<Server*>(s)->port; }
void run(void* s) { static_cast<Server*>(s)->http.listen_after_bind(); }
void stop(void* s) { static_cast<Server*>(s)->http.stop(); }
void destroy(void* s) { delete static_cast<Server*>(s); }

const pxos::llm::HttpdApi kApi{create, port, run, stop, destroy};
}  // namespace

extern "C" __attribute__((visibility("default"))) const pxos::llm::HttpdApi* pxos_httpd_v1() { return &kApi; }
