// command.hpp: how a subcommand joins the one `pxos` binary. Each cmd_*.cpp holds a static
// Register that adds its CLI11 subcommand; callbacks report failure by throwing pxos::Failure.
#pragma once
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pxos::cli {

using Setup = void (*)(CLI::App& root);

// order: position in `pxos --help` (the flow of DESIGN.md: asm=10 … architect=90).
// names: the top-level commands the setup adds or extends. `pxos NAME ...` runs only the setups
// that name NAME: building every command's CLI11 tree was a fifth of a trivial run's start-up
// (issue 16). main.cpp checks each setup it runs against its names, and `pxos man` (run after
// every link) runs them all, so a wrong list fails the build. A command that reads the whole tree
// (`completions`, `man`) says Tree::All, and then every setup runs.
enum class Tree { Own, All };
struct Register {
  Register(int order, std::initializer_list<std::string_view> names, Setup setup, Tree tree = Tree::Own);
};

// For numeric flags: CLI11 turns "-5" into a huge unsigned value (or keeps it), which reads
// as "unlimited". This check refuses a negative number (or a zero when `positive`) as a usage
// error, one line (thrown as Failure, so it bypasses CLI11's two-line message).
inline CLI::Validator at_least(std::string_view flag, bool positive = false) {
  return CLI::Validator(
      [flag = std::string(flag), positive](std::string& v) -> std::string {
        std::string_view t(v);
        while (!t.empty() && (t.front() == ' ' || t.front() == '+')) t.remove_prefix(1);
        bool neg = t.starts_with('-');
        bool zero = !t.empty() && t.find_first_not_of("0.") == std::string_view::npos;
        if (neg || (positive && zero))
          throw Failure(Error{Errc::Usage, fmt::format("{} {}: must be {}", flag, v, positive ? "at least 1" : "0 or more")});
        return {};
      },
      positive ? "N>0" : "N>=0");
}

// Set by a callback that wants a non-zero exit without an error message of its own.
void set_exit_code(int code);

}  // namespace pxos::cli
