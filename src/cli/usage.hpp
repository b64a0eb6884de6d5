// usage.hpp: git-style usage handling for `pxos`: one-line usage errors (exit 2) with "did you
// mean" suggestions, `pxos help CMD`, a group alone listing its commands, and a help formatter.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pxos::cli {

// A help text as a sentence: its first letter capitalised (help, man page and completions agree).
std::string sentence(std::string s);

// "pxos gpu bench": the command path of `app` as a user types it.
std::string command_path(const CLI::App* app);

// The help formatter every command uses: flag names without CLI11's "{false}" marks, defaults
// shown one way ("(default X)" at the end of the description), descriptions capitalised.
std::shared_ptr<CLI::Formatter> make_formatter();

// Looks at argv before CLI11 parses it and settles what CLI11 would get wrong: `pxos help ...`,
// an unknown command (one line with suggestions, exit 2), a command group given alone (its help,
// exit 0). Returns the exit status when it settled the run, nullopt to go on parsing.
std::optional<int> pre_parse(CLI::App& root, int argc, char** argv);

// A CLI11 parse error as one line on stderr ("pxos run: unknown option '--max-step' (did you mean
// '--max-steps'?)"); help and version requests print as CLI11 does. Returns the exit status.
int report_parse_error(CLI::App& root, const CLI::ParseError& e);

}  // namespace pxos::cli
