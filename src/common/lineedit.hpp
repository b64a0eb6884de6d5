// lineedit.hpp: reading lines at an interactive prompt. On a terminal: libedit's readline, with
// editing and a history file, opened on first use (dynlib.hpp); otherwise plain stdin.
#pragma once
#include <optional>
#include <string>

namespace pxos::os {

class LineReader {
 public:
  // history: a file loaded now and rewritten by remember(); empty keeps no history.
  explicit LineReader(std::string history = {});
  // The next line without its newline; nullopt at end of input.
  std::optional<std::string> read(const char* prompt);
  // Adds a line to the history (and its file), when editing.
  void remember(const std::string& line);
  // Whether libedit serves the prompt. False off a terminal, or when libedit is missing (a note
  // on stderr says so once, and input still works, unedited).
  bool editing() const { return editing_; }

 private:
  std::string history_;
  bool editing_ = false;
};

}  // namespace pxos::os
