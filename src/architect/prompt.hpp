// prompt.hpp: what the model sees each turn. The system prompt carries the seed's expertise
// (NASM x86-64, WGSL, PCIe/BAR/MMIO, the mailbox protocol, the PixelVM ISA) drawn from the
// workspace's own docs/isa.md and docs/mailbox.md at run time, the action and command tables,
// and a compact map of the workspace; the user message carries the goal and recent results.
#pragma once
#include <string>
#include <vector>

#include "architect/commands.hpp"
#include "architect/git.hpp"
#include "architect/sandbox.hpp"

namespace pxos::architect {

struct Outcome {          // one past step, as remembered for the next turns
  int iteration = 0;
  std::string action, task, file, commit;
  bool ok = false;
  std::string result;     // what happened, already capped
};

// Reads a doc from the workspace through the sandbox and read_file's rules (READABLE); a
// missing or refused doc becomes a one-line note.
std::string doc_section(const Workspace& ws, const std::string& rel, size_t cap, const ReadCheck& readable);
std::string workspace_map(const Git& git, size_t cap);
std::string system_prompt(const Workspace& ws, const Git& git, const CommandTable& cmds);
// Newest results first, each capped, all within TOKEN_BUDGET (1 token ~ 4 characters).
std::string user_message(const std::string& goal, int iteration, const std::vector<Outcome>& history,
                         size_t token_budget);
// Cuts S to at most N bytes on a UTF-8 boundary, marking the cut.
std::string cap_text(const std::string& s, size_t n);

}  // namespace pxos::architect
