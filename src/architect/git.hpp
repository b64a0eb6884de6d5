// git.hpp: the architect's git history. Every applied change is one commit of exactly the
// file it wrote (other staged or unstaged user work is left alone); /undo reverts the newest
// architect commit not yet reverted. Hooks and fsmonitor are off for our own git calls, so a
// hook path the model could write into never runs.
#pragma once
#include <string>
#include <vector>

#include "common/error.hpp"

namespace pxos::architect {

inline constexpr const char* kTrailer = "Pxos-Architect: action";  // marks our commits

class Git {
 public:
  // WORKSPACE must be inside a git work tree.
  static Result<Git> open(const std::string& workspace);
  const std::string& git_dir() const { return git_dir_; }
  const std::string& toplevel() const { return top_; }

  // The user's uncommitted state of REL (path relative to the workspace): empty when clean
  // and tracked or absent; else "modified", "untracked", "staged" ...
  Result<std::string> dirty(const std::string& rel) const;
  Result<bool> ignored(const std::string& rel) const;
  // The read rule on top of the sandbox's: an ignored file (.env, keys) may hold secrets, so it
  // is never sent to the model, whether by read_file, a command argument or the prompt's docs.
  // SandboxDenied naming REL when it is ignored (or when git cannot tell).
  Status readable(const std::string& rel) const;
  // The repository's own core.hooksPath (local, global or system config; not our `-c`
  // override), empty when none is set.
  Result<std::string> hooks_path() const;
  // Commits exactly REL with MESSAGE (+ trailer). Returns the new commit id.
  Result<std::string> commit_file(const std::string& rel, const std::string& message) const;
  // Reverts the newest architect commit that is not reverted yet. Returns "reverted <id> <subject>".
  Result<std::string> undo() const;
  Result<std::string> show_last() const;  // git show --stat -p of the newest architect commit
  Result<std::string> log(int n) const;   // our commits, one line each
  Result<std::string> ls_files() const;   // tracked + untracked-not-ignored, NUL separated
  Result<std::string> head() const;

  // Runs git with ARGS in the workspace (hooks off, fixed identity, clean env).
  Result<std::string> run(std::vector<std::string> args, int* exit_code = nullptr) const;

 private:
  std::string ws_, git_dir_, top_, git_exe_;
};

}  // namespace pxos::architect
