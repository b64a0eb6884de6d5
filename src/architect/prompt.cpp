// prompt.cpp: assembling the system prompt and the per-turn user message within budgets.
#include "architect/prompt.hpp"

#include <map>

#include "architect/action.hpp"
#include "architect/config.hpp"

namespace pxos::architect {

std::string cap_text(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 continuation
  return s.substr(0, cut) + fmt::format("\n[... {} more bytes cut ...]", s.size() - cut);
}

std::string doc_section(const Workspace& ws, const std::string& rel, size_t cap, const ReadCheck& readable) {
  auto r = ws.resolve(rel, Access::Read);
  if (r)
    if (auto s = readable(*r); !s) r = std::unexpected(s.error());  // docs/isa.md -> ../.env
  if (!r) return fmt::format("({} is not available in this workspace yet: {}. Do not guess its contents; "
                             "read_file it later or work from the other sections.)\n", rel, r.error().detail);
  bool cut = false;
  auto text = ws.read(*r, cap, &cut);
  if (!text) return fmt::format("({} could not be read: {})\n", rel, text.error().detail);
  return *text + (cut ? fmt::format("\n[... {} is longer; read_file it for the rest ...]\n", rel) : "\n");
}

std::string workspace_map(const Git& git, size_t cap) {
  auto out = git.ls_files();
  if (!out) return "(workspace map unavailable: " + out.error().detail + ")\n";
  std::map<std::string, std::vector<std::string>> dirs;  // top folder -> files below it
  size_t total = 0;
  for (size_t i = 0; i < out->size();) {
    size_t j = out->find('\0', i);
    if (j == std::string::npos) j = out->size();
    std::string f = out->substr(i, j - i);
    i = j + 1;
    if (f.empty()) continue;
    ++total;
    size_t s = f.find('/');
    dirs[s == std::string::npos ? "." : f.substr(0, s)].push_back(f);
  }
  std::string map = fmt::format("{} files\n", total);
  // Pass 1: every file if it fits; else folders with counts and their first files.
  std::string full = map;
  for (auto& [d, fs] : dirs)
    for (auto& f : fs) full += f + "\n";
  if (full.size() <= cap) return full;
  size_t per = 8;
  for (auto& [d, fs] : dirs) {
    map += fmt::format("{}/ ({} files)", d, fs.size());
    for (size_t k = 0; k < fs.size() && k < per; ++k) map += (k ? ", " : ": ") + fs[k].substr(d == "." ? 0 : d.size() + 1);
    if (fs.size() > per) map += ", ...";
    map += "\n";
  }
  return cap_text(map, cap);
}

std::string system_prompt(const Workspace& ws, const Git& git, const CommandTable& cmds) {
  ReadCheck readable = [&](const std::string& rel) { return git.readable(rel); };
  std::string p =
      "You are the pxos architect: a careful engineer working on pxos, a pixel-native computing stack "
      "(PixelVM bytecode in PNG images, a NASM x86-64 microkernel booted in QEMU, a shared-memory mailbox "
      "between the kernel and a host runtime, WGSL compute kernels run through WebGPU). Your expertise: "
      "x86-64 assembly (NASM), WGSL compute shaders, PCIe configuration space, BARs and MMIO, the mailbox "
      "protocol, the PixelVM instruction set, performance work and documentation.\n\n"
      "Each turn you reply with exactly ONE JSON object (no prose around it) with the fields: task (what "
      "this step does, one line), action, rationale (why), and as the action needs: file_path (relative to "
      "the workspace), content (the whole file), command and args.\n\nActions:\n";
  for (auto& k : kinds()) p += fmt::format("- {}: {}\n", k.name, k.doc);
  p += "\nCommands for run_command (no shell: each is a fixed program and options; FILE is a path "
       "relative to the workspace, WORD a plain word without spaces, quotes or shell characters, not "
       "starting with '-'):\n";
  for (auto& [name, c] : cmds.commands)
    p += fmt::format("- {}: {}{}\n", c.usage(name), c.help, c.unavailable.empty() ? "" : " (UNAVAILABLE here: " + c.unavailable + ")");
  p += "\nRules: files are written only inside the workspace (no absolute paths, no '..', not .git, never "
       "through a symlink, no name starting with '-'); build inputs are never written (CMakeLists.txt, *.cmake, "
       "Makefile, scripts/, CI and git files, hooks, package manifests, requirements*.txt); file content is "
       "printable text, tabs and newlines only; files ignored by git are never read; "
       "every write is checked (assembled or compiled) and committed to git with your task and rationale; "
       "a refused or failed action comes back to you with the reason in the next turn: fix it rather than "
       "repeat it. Reply with action \"done\" when the goal is reached.\n";
  p += "\n## PixelVM instruction set (docs/isa.md of this workspace)\n" + doc_section(ws, "docs/isa.md", tun::kDocCapChars, readable);
  p += "\n## Mailbox protocol (docs/mailbox.md of this workspace)\n" + doc_section(ws, "docs/mailbox.md", tun::kDocCapChars, readable);
  p += "\n## Workspace map\n" + workspace_map(git, tun::kMapCapChars);
  return p;
}

std::string user_message(const std::string& goal, int iteration, const std::vector<Outcome>& history,
                         size_t token_budget) {
  std::string m = fmt::format("Goal: {}\nStep: {}\n", goal, iteration);
  size_t budget = token_budget * 4;  // characters
  std::string recent;
  int shown = 0;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    std::string e = fmt::format("- step {} {}{}: {} -> {}\n{}\n", it->iteration, it->action,
                                it->file.empty() ? "" : " " + it->file, it->task, it->ok ? "OK" : "FAILED",
                                cap_text(it->result, tun::kOneResultCapChars));
    if (recent.size() + e.size() > budget) {
      if (shown == 0) recent += cap_text(e, budget);  // the newest result always shows, cut
      break;
    }
    recent += e;
    ++shown;
  }
  if (recent.empty()) m += "No action taken yet.\n";
  else m += fmt::format("Results of the last {} action(s), newest first:\n{}", std::max(shown, 1), recent);
  m += "Reply with the next action as one JSON object.\n";
  return m;
}

}  // namespace pxos::architect
