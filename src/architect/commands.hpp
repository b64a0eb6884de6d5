// commands.hpp: the allow-list of named commands the model may run. Each maps to a fixed
// argument vector with typed holes: {file} (an existing regular file inside the workspace,
// passed as an absolute path), {arg} (a plain token), {pxos} (this binary), {tmp} (a private
// temp directory). The model supplies only the holes' values, each validated.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "architect/sandbox.hpp"
#include "common/error.hpp"

namespace pxos::architect {

struct CommandSpec {
  std::vector<std::string> argv;  // template
  int timeout_s = 120;
  std::string help;
  std::string unavailable;        // non-empty: the command exists but cannot run here (why)
  size_t arity() const;           // number of {file}/{arg} holes
  std::string usage(const std::string& name) const;  // "asm FILE"
};

struct CommandTable {
  std::map<std::string, CommandSpec> commands;
  std::vector<std::string> env_passthrough;  // variable names copied into the child's env

  // The defaults: build, test, asm FILE, run FILE, gpu-check FILE, nasm-check FILE, status,
  // log, grep PATTERN.
  static CommandTable defaults();
  // A JSON file {"commands": {"name": {"argv": [...], "timeout_s": N, "help": "..."}},
  // "env_passthrough": [...]} replacing or adding entries. It must not lie inside the
  // workspace: the model could otherwise write its own allow-list.
  Status load_file(const std::string& path, const Workspace& ws);
};

struct Expanded {
  std::vector<std::string> argv;  // argv[0] resolved to an absolute path
  int timeout_s = 0;
};

// The check read_file applies after the sandbox resolved a path (git's ignore rules: ignored
// files may hold secrets). Given the resolved relative path; an error refuses it.
using ReadCheck = std::function<Status(const std::string& resolved_rel)>;

// Validates NAME and ARGS against the table and fills the holes. Every path-like argument gets
// read_file's rules: a {file} is resolved with Access::Read, an {arg} that names an existing
// file or folder (or has a '/' or a leading '.') with Workspace::resolve_arg, and each result
// passes READABLE. Refusals (unknown command, wrong arity, bad token, path outside the
// workspace, ignored file) are SandboxDenied with the reason.
Result<Expanded> expand(const CommandTable& table, const Workspace& ws, const std::string& name,
                        const std::vector<std::string>& args, const std::string& pxos_exe,
                        const std::string& tmpdir, const std::string& path_var, const ReadCheck& readable);

}  // namespace pxos::architect
