// error.hpp: the one error vocabulary (errors.def) and Result<T> = std::expected<T, Error>.
// Library code returns Result; only the CLI boundary turns an Error into a message + exit code.
#pragma once
#include <cstdint>
#include <expected>
#include <fmt/format.h>
#include <string>
#include <string_view>

namespace pxos {

enum class Errc : uint8_t {
#define X(name, status, msg) name,
#include "errors.def"
#undef X
};

std::string_view errc_message(Errc);  // the table's short message
int errc_exit_status(Errc);           // what `pxos` exits with

struct Error {
  Errc code = Errc::Internal;
  std::string detail;  // where and what: "file:line:col: ...", "offset 0x1c: ..."
  std::string to_string() const;  // one line: detail, or the short message when empty
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Errc c, std::string detail) {
  return std::unexpected(Error{c, std::move(detail)});
}
template <class... A>
std::unexpected<Error> failf(Errc c, fmt::format_string<A...> f, A&&... a) {
  return std::unexpected(Error{c, fmt::format(f, std::forward<A>(a)...)});
}

#if __cpp_exceptions  // the freestanding VM build (kernel/vm) has none: it never unwraps with must()
// Thrown only at the CLI boundary (or across C callbacks) and turned back into an exit code.
struct Failure : std::exception {
  Error err;
  explicit Failure(Error e) : err(std::move(e)) {}
  const char* what() const noexcept override { return err.detail.c_str(); }
};

// Unwrap at the boundary: value or throw Failure.
template <class T>
T must(Result<T> r) {
  if (!r) throw Failure(std::move(r.error()));
  return std::move(*r);
}
inline void must(Status r) {
  if (!r) throw Failure(std::move(r.error()));
}
#endif

}  // namespace pxos
