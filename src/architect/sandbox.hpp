// sandbox.hpp: the architect's file boundary. Every path the model names is checked as text,
// then resolved on disk (symlinks followed, both the workspace root and the target), then
// written through a chain of O_NOFOLLOW directory handles so a race cannot redirect it.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace pxos::architect {

enum class Access { Read, Write };

// Text-only checks of a model-given relative path: non-empty, no NUL or control characters,
// not absolute, no backslash, no `~` start, no `..` component, no `.git` component (any case),
// no component starting with '-' (such a name reads as an option to the user's own `rm *`).
// Returns the normalized relative path ("a/./b//c" -> "a/b/c"), or SandboxDenied with the reason.
Result<std::string> check_relative_path(std::string_view rel);

// One row of protected.def: paths the model may never write (build inputs, git, hooks ...).
struct ProtectedRule {
  std::string_view pattern;  // fnmatch glob, matched ignoring case against every path component
  std::string_view why;
};
std::span<const ProtectedRule> protected_rules();
// The first rule a component of REL (a normalized relative path) matches, or nullptr.
const ProtectedRule* protected_match(std::string_view rel);

// A command argument that is not a path: letters, digits and . _ / + = , : @ % - only, not
// starting with '-' (no option injection), at most 255 characters. The reason names the
// offending character.
Status check_token(std::string_view arg);

class Workspace {
 public:
  // DIR must exist and be a directory other than "/"; it is resolved with realpath.
  static Result<Workspace> open(const std::string& dir);
  const std::string& root() const { return root_; }

  // Also protects everything below REL_DIR (the repository's configured core.hooksPath).
  void protect(std::string rel_dir, std::string why);
  // Why REL (normalized, relative) may not be written: a protected.def row or a protect()ed
  // folder; nullopt when it may.
  std::optional<std::string> protected_reason(std::string_view rel) const;

  // Resolves REL inside the workspace: every existing component is looked at with lstat.
  // Write: no component may be a symlink (the write would land on the link's target, which the
  // rules did not see), and no component may match a protected rule; the target must not exist
  // or be a regular file. Read: a symlink is followed (realpath) and must stay inside the root;
  // the target must exist and be a regular file. Both: dangling symlinks, device files, fifos,
  // sockets and anything under .git are refused, and every rule is checked again on the result.
  // Returns the resolved relative path ("src/x.pxasm").
  Result<std::string> resolve(std::string_view rel, Access access) const;

  // A command argument that may name something on disk: nullopt when nothing of that name
  // exists (it is then only a word); else where it resolves, under the Read rules except that
  // a directory is allowed. A word with '/' or a leading '.' must pass the text checks either way.
  Result<std::optional<std::string>> resolve_arg(std::string_view arg) const;

  // Writes CONTENT to the resolved relative path: walks from the root with
  // openat(O_DIRECTORY|O_NOFOLLOW) (creating missing directories), writes a temp file in the
  // final directory, fsyncs, renames over the name. Replacing (never writing through) the
  // final name means a hard link to a file outside is not written either.
  Status write(std::string_view resolved_rel, std::string_view content) const;

  // Reads at most CAP bytes of a resolved relative path through the same O_NOFOLLOW walk.
  // *truncated is set when the file is longer.
  Result<std::string> read(std::string_view resolved_rel, size_t cap, bool* truncated = nullptr) const;

  // Absolute path of a resolved relative path (for argv).
  std::string abs(std::string_view resolved_rel) const;

 private:
  std::string root_;
  std::vector<std::pair<std::string, std::string>> extra_protected_;  // folder, why
};

}  // namespace pxos::architect
