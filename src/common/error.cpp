// error.cpp: table lookups for the error vocabulary.
#include "common/error.hpp"

namespace pxos {

std::string_view errc_message(Errc c) {
  switch (c) {
#define X(name, status, msg) case Errc::name: return msg;
#include "errors.def"
#undef X
  }
  return "unknown error";
}

int errc_exit_status(Errc c) {
  switch (c) {
#define X(name, status, msg) case Errc::name: return status;
#include "errors.def"
#undef X
  }
  return 70;
}

std::string Error::to_string() const {
  if (detail.empty()) return std::string(errc_message(code));
  return detail;
}

}  // namespace pxos
