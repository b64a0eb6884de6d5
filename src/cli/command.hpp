// command.hpp: how a subcommand joins the one `pxos` binary. Each cmd_*.cpp holds a static
// Register that adds its CLI11 subcommand; callbacks report failure by throwing pxos::Failure.
#pragma once
#include <CLI/CLI.hpp>

#include "common/error.hpp"

namespace pxos::cli {

using Setup = void (*)(CLI::App& root);

// order: position in `pxos --help` (the flow of DESIGN.md: asm=10 … architect=90).
struct Register {
  Register(int order, Setup setup);
};

// Set by a callback that wants a non-zero exit without an error message of its own.
void set_exit_code(int code);

}  // namespace pxos::cli
