// httpd.hpp: the HTTP server pxos's `llm serve` runs on, as a plain interface. cpp-httplib (as
// Debian builds it: linked to OpenSSL, zlib and brotli) lives in a plugin, libpxos_httpd.so,
// opened only by `llm serve` (os::open_library), so no other command maps those libraries.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pxos::llm {

struct HttpRequest {
  std::string method, path, content_type, body;
};

struct HttpWriter {
  virtual ~HttpWriter() = default;
  virtual bool write(std::string_view bytes) = 0;  // false: the client has gone
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Set: the body is sent chunked as this writes it (streams, long generations); `body` unused.
  // Returning false ends the connection.
  std::function<bool(HttpWriter&)> stream;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpdOptions {
  std::string host = "127.0.0.1";
  int port = 0;              // 0: the system picks one
  size_t max_body = 0;       // bigger request bodies get 413 before the handler sees them
  int read_timeout_s = 30;   // a client that sends nothing for this long is dropped
};

// The plugin's C entry point, "pxos_httpd_v1": a table of functions (a stable ABI across dlopen).
struct HttpdApi {
  void* (*create)(const HttpdOptions* o, const HttpHandler* h, std::string* err);  // binds; null on error
  int (*port)(void* s);
  void (*run)(void* s);   // serves until stop
  void (*stop)(void* s);
  void (*destroy)(void* s);
};

// Opens the plugin (next to the pxos binary, or PXOS_HTTPD_PLUGIN) and returns its table.
Result<const HttpdApi*> open_httpd();

}  // namespace pxos::llm
