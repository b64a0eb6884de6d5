// lineedit.cpp: libedit through its readline interface, bound at run time so that commands
// without a prompt never load it (nor its terminfo and libbsd).
#include "common/lineedit.hpp"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/dynlib.hpp"

namespace pxos::os {
namespace {

struct Edit {
  decltype(&::readline) readline;
  decltype(&::using_history) using_history;
  decltype(&::read_history) read_history;
  decltype(&::add_history) add_history;
  decltype(&::write_history) write_history;
};

Result<Edit> bind_edit() {
  auto lib = open_library({"libedit.so.2", "libedit.so"}, "line editing (libedit)");
  if (!lib) return std::unexpected(lib.error());
  Edit e{};
  PXOS_DYNLIB_BIND(**lib, e, readline);
  PXOS_DYNLIB_BIND(**lib, e, using_history);
  PXOS_DYNLIB_BIND(**lib, e, read_history);
  PXOS_DYNLIB_BIND(**lib, e, add_history);
  PXOS_DYNLIB_BIND(**lib, e, write_history);
  return e;
}

const Edit* edit() {
  static Result<Edit> e = bind_edit();
  static bool told = false;
  if (!e && !told) {
    told = true;
    std::fprintf(stderr, "pxos: line editing off: %s\n", e.error().detail.c_str());
  }
  return e ? &*e : nullptr;
}

}  // namespace

LineReader::LineReader(std::string history) : history_(std::move(history)) {
  if (!::isatty(0)) return;
  const Edit* e = edit();
  if (!e) return;
  editing_ = true;
  e->using_history();
  if (!history_.empty()) e->read_history(history_.c_str());
}

std::optional<std::string> LineReader::read(const char* prompt) {
  if (editing_) {
    char* l = edit()->readline(prompt);
    if (!l) return std::nullopt;
    std::string s = l;
    std::free(l);
    return s;
  }
  std::fputs(prompt, stdout);
  std::fflush(stdout);
  std::string s;
  if (!std::getline(std::cin, s)) return std::nullopt;
  return s;
}

void LineReader::remember(const std::string& line) {
  if (!editing_ || line.empty()) return;
  edit()->add_history(line.c_str());
  if (!history_.empty()) edit()->write_history(history_.c_str());
}

}  // namespace pxos::os
