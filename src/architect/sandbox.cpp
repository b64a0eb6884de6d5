// sandbox.cpp: path checks (text, then on disk), O_NOFOLLOW writes and reads, argument tokens.
#include "architect/sandbox.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <random>
#include <vector>

#include "architect/config.hpp"
#include "common/fs.hpp"
#include "common/os.hpp"

namespace pxos::architect {
namespace {
constexpr ProtectedRule kProtected[] = {
#define X(pattern, why) {pattern, why},
#include "architect/protected.def"
#undef X
};

auto deny(std::string_view path, std::string_view why) {
  return failf(Errc::SandboxDenied, "refused \"{}\": {}", std::string(path.substr(0, 120)), why);
}

std::vector<std::string> split(std::string_view rel) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    std::string_view c = rel.substr(i, j - i);
    if (!c.empty() && c != ".") out.emplace_back(c);
    i = j + 1;
  }
  return out;
}

bool iequals_git(std::string_view c) {
  if (c.size() != 4) return false;
  const char* g = ".git";
  for (size_t i = 0; i < 4; ++i)
    if (std::tolower(static_cast<unsigned char>(c[i])) != g[i]) return false;
  return true;
}

std::string join(const std::vector<std::string>& parts, size_t from = 0) {
  std::string s;
  for (size_t i = from; i < parts.size(); ++i) s += (s.empty() ? "" : "/") + parts[i];
  return s;
}

std::string real(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

// Is P (absolute, symlink-free) the root or below it?
bool inside(const std::string& root, const std::string& p) {
  return p == root || (p.size() > root.size() && p.compare(0, root.size(), root) == 0 && p[root.size()] == '/');
}

const char* kind_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a fifo";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symlink";
  return "not a regular file";
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) { if (fd >= 0) ::close(fd); fd = o.fd; o.fd = -1; }
    return *this;
  }
  ~Fd() { if (fd >= 0) ::close(fd); }
};

// Opens the directory that holds RESOLVED_REL's last component, walking from the root with
// O_NOFOLLOW on every step; CREATE makes missing directories.
Result<Fd> open_parent(const std::string& root, const std::vector<std::string>& parts, bool create) {
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0) return failf(Errc::Io, "{}: {}", root, errno_text(errno));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (create && ::mkdirat(dir.fd, parts[i].c_str(), 0755) != 0 && errno != EEXIST)
      return failf(Errc::Io, "cannot create directory {}: {}", join({parts.begin(), parts.begin() + i + 1}), errno_text(errno));
    Fd next(::openat(dir.fd, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.fd < 0)
      return deny(join(parts), fmt::format("component {} changed or is not a plain directory ({})", parts[i], errno_text(errno)));
    dir = std::move(next);
  }
  return dir;
}
}  // namespace

Result<std::string> check_relative_path(std::string_view rel) {
  if (rel.empty()) return deny(rel, "empty path");
  if (rel.size() > tun::kMaxPathChars) return deny(rel, "path too long");
  for (char c : rel) {
    if (c == '\0') return deny("(path with NUL)", "NUL byte in path");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return deny(rel, "control character in path");
    if (c == '\\') return deny(rel, "backslash in path: use '/'");
  }
  if (rel.front() == '/') return deny(rel, "absolute path: name a path relative to the workspace");
  if (rel.front() == '~') return deny(rel, "paths starting with '~' are refused: name a path relative to the workspace");
  auto parts = split(rel);
  if (parts.empty()) return deny(rel, "names the workspace itself, not a file");
  for (auto& c : parts) {
    if (c == "..") return deny(rel, "'..' component: paths may not leave the workspace");
    if (iequals_git(c)) return deny(rel, "the .git directory is off limits");
    if (c.front() == '-')
      return deny(rel, fmt::format("component \"{}\" starts with '-': it would read as an option", c.substr(0, 40)));
  }
  return join(parts);
}

std::span<const ProtectedRule> protected_rules() { return kProtected; }

const ProtectedRule* protected_match(std::string_view rel) {
  for (auto& c : split(rel))
    for (auto& r : kProtected)
      if (::fnmatch(std::string(r.pattern).c_str(), c.c_str(), FNM_CASEFOLD) == 0) return &r;
  return nullptr;
}

Status check_token(std::string_view arg) {
  if (arg.empty()) return fail(Errc::SandboxDenied, "refused argument: empty");
  if (arg.size() > tun::kMaxArgChars) return fail(Errc::SandboxDenied, "refused argument: too long");
  if (arg.front() == '-')
    return failf(Errc::SandboxDenied, "refused argument \"{}\": starts with '-' (options are fixed by the command table)",
                 std::string(arg.substr(0, 60)));
  for (char c : arg) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._/+=,:@%-").find(c) != std::string_view::npos;
    if (!ok) {
      std::string shown = (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                              ? fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c))
                              : fmt::format("'{}'", c);
      std::string safe;
      for (char d : arg.substr(0, 60)) safe += (static_cast<unsigned char>(d) < 0x20 || static_cast<unsigned char>(d) >= 0x7f) ? '?' : d;
      return failf(Errc::SandboxDenied,
                   "refused argument \"{}\": {} is not allowed (no shell runs, and shell metacharacters, "
                   "spaces and quotes are refused)", safe, shown);
    }
  }
  return {};
}

Result<Workspace> Workspace::open(const std::string& dir) {
  std::string r = real(dir);
  if (r.empty()) return failf(Errc::Usage, "workspace {}: {}", dir, errno_text(errno));
  struct stat st{};
  if (::stat(r.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return failf(Errc::Usage, "workspace {}: not a directory", dir);
  if (r == "/") return fail(Errc::Usage, "workspace may not be the file system root");
  Workspace w;
  w.root_ = r;
  return w;
}

std::string Workspace::abs(std::string_view resolved_rel) const { return root_ + "/" + std::string(resolved_rel); }

void Workspace::protect(std::string rel_dir, std::string why) {
  if (auto r = check_relative_path(rel_dir)) extra_protected_.emplace_back(*r, std::move(why));
}

std::optional<std::string> Workspace::protected_reason(std::string_view rel) const {
  if (auto* r = protected_match(rel))
    return fmt::format("it is a protected build input (matches \"{}\": {})", r->pattern, r->why);
  for (auto& [dir, why] : extra_protected_) {
    if (rel == dir || (rel.size() > dir.size() && rel.starts_with(dir) && rel[dir.size()] == '/'))
      return fmt::format("it is a protected build input (below {}: {})", dir, why);
  }
  return std::nullopt;
}

Result<std::string> Workspace::resolve(std::string_view rel_in, Access access) const {
  auto rel = check_relative_path(rel_in);
  if (!rel) return std::unexpected(rel.error());
  if (access == Access::Write)
    if (auto why = protected_reason(*rel)) return deny(rel_in, *why);
  const std::string root = real(root_);  // resolve the root again: it may have been swapped
  if (root.empty() || root != root_) return deny(rel_in, "the workspace root moved or became a symlink");

  std::vector<std::string> parts = split(*rel);
  std::string cur = root;
  size_t i = 0;
  bool missing = false;
  for (; i < parts.size(); ++i) {
    std::string next = cur + "/" + parts[i];
    struct stat st{};
    if (::lstat(next.c_str(), &st) != 0) {
      if (errno == ENOENT) { missing = true; break; }
      return deny(rel_in, fmt::format("cannot inspect {}: {}", parts[i], errno_text(errno)));
    }
    if (S_ISLNK(st.st_mode)) {
      if (access == Access::Write) {  // the write would land on the target, which no rule saw
        char buf[PATH_MAX];
        ssize_t n = ::readlink(next.c_str(), buf, sizeof buf - 1);
        return deny(rel_in, fmt::format("{} is a symlink (to {}): writes never go through symlinks",
                                        join({parts.begin(), parts.begin() + i + 1}),
                                        n > 0 ? std::string(buf, size_t(n)) : std::string("?")));
      }
      std::string target = real(next);
      if (target.empty()) {
        char buf[PATH_MAX];
        ssize_t n = ::readlink(next.c_str(), buf, sizeof buf - 1);
        std::string to = n > 0 ? std::string(buf, size_t(n)) : "?";
        return deny(rel_in, fmt::format("symlink {} -> {} points to nothing (dangling symlinks are refused)",
                                        join({parts.begin(), parts.begin() + i + 1}), to));
      }
      if (!inside(root, target))
        return deny(rel_in, fmt::format("symlink {} points outside the workspace (to {})",
                                        join({parts.begin(), parts.begin() + i + 1}), target));
      next = target;
      if (::stat(next.c_str(), &st) != 0) return deny(rel_in, "symlink target vanished");
    }
    if (i + 1 < parts.size() && !S_ISDIR(st.st_mode))
      return deny(rel_in, fmt::format("{} is {}, not a directory", parts[i], kind_name(st.st_mode)));
    if (i + 1 == parts.size() && !S_ISREG(st.st_mode))
      return deny(rel_in, fmt::format("the target is {}: only regular files are read or written", kind_name(st.st_mode)));
    cur = next;
  }
  if (missing) {
    if (access == Access::Read) return deny(rel_in, "no such file");
    for (size_t k = i; k < parts.size(); ++k) cur += "/" + parts[k];
  }
  if (!inside(root, cur) || cur == root) return deny(rel_in, "resolves outside the workspace");
  std::string out = cur.substr(root.size() + 1);
  for (auto& c : split(out))
    if (iequals_git(c)) return deny(rel_in, fmt::format("resolves into the .git directory ({})", out));
  if (access == Access::Write)
    if (auto why = protected_reason(out)) return deny(rel_in, fmt::format("resolves to {}: {}", out, *why));
  return out;
}

Result<std::optional<std::string>> Workspace::resolve_arg(std::string_view arg) const {
  bool pathish = arg.find('/') != std::string_view::npos || arg.starts_with(".");
  auto rel = check_relative_path(arg);
  if (!rel) {
    if (pathish) return std::unexpected(rel.error());
    return std::optional<std::string>();  // not a path at all (a check_token()ed word)
  }
  struct stat st{};
  if (::lstat(abs(*rel).c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return deny(arg, fmt::format("cannot inspect: {}", errno_text(errno)));
  }
  if (S_ISDIR(st.st_mode)) {  // a folder: the Read rules on its real path, the final kind aside
    std::string target = real(abs(*rel)), root = real(root_);
    if (root.empty() || root != root_) return deny(arg, "the workspace root moved or became a symlink");
    if (target.empty() || !inside(root, target)) return deny(arg, fmt::format("names a folder outside the workspace ({})", target));
    std::string out = target == root ? std::string(".") : target.substr(root.size() + 1);
    for (auto& c : split(out))
      if (iequals_git(c)) return deny(arg, fmt::format("resolves into the .git directory ({})", out));
    return std::optional<std::string>(out);
  }
  auto r = resolve(*rel, Access::Read);
  if (!r) return std::unexpected(r.error());
  return std::optional<std::string>(*r);
}

Status Workspace::write(std::string_view resolved_rel, std::string_view content) const {
  // The rules again, on exactly the name written: a caller that skipped resolve() gains nothing.
  auto checked = check_relative_path(resolved_rel);
  if (!checked) return std::unexpected(checked.error());
  if (auto why = protected_reason(*checked)) return deny(resolved_rel, *why);
  auto parts = split(*checked);
  if (parts.empty()) return deny(resolved_rel, "empty path");
  auto dir = open_parent(root_, parts, true);
  if (!dir) return std::unexpected(dir.error());
  const std::string& name = parts.back();
  struct stat st{};
  mode_t mode = 0644;
  if (::fstatat(dir->fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(st.st_mode)) return deny(resolved_rel, fmt::format("the target is {}", kind_name(st.st_mode)));
    mode = st.st_mode & 0777;
  }
  std::mt19937_64 rng(std::random_device{}());
  std::string tmp;
  int fd = -1;
  for (int tries = 0; tries < 16 && fd < 0; ++tries) {
    tmp = fmt::format(".{}.architect-{:08x}", name.substr(0, 100), rng() & 0xffffffffu);
    fd = ::openat(dir->fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return failf(Errc::Io, "{}: cannot create temp file: {}", resolved_rel, errno_text(errno));
  Fd f(fd);
  // os::publish takes a path; this writer stays on the directory fd the walk above opened with
  // O_NOFOLLOW, so a symlink swapped in after the checks cannot redirect it. Its I/O goes through
  // the OS layer all the same (EINTR-safe, fault-hooked).
  if (int e = os::write_all(f.fd, content.data(), content.size())) {
    ::unlinkat(dir->fd, tmp.c_str(), 0);
    return failf(Errc::Io, "{}: write failed: {}", resolved_rel, errno_text(e));
  }
  int e = os::fsync_fd(f.fd);
  if (!e && (os::inject(os::Op::Rename) || ::renameat(dir->fd, tmp.c_str(), dir->fd, name.c_str()) != 0)) e = errno;
  if (e) {
    ::unlinkat(dir->fd, tmp.c_str(), 0);
    return failf(Errc::Io, "{}: {}", resolved_rel, errno_text(e));
  }
  (void)os::fsync_fd(dir->fd);
  return {};
}

Result<std::string> Workspace::read(std::string_view resolved_rel, size_t cap, bool* truncated) const {
  auto parts = split(resolved_rel);
  if (parts.empty()) return deny(resolved_rel, "empty path");
  auto dir = open_parent(root_, parts, false);
  if (!dir) return std::unexpected(dir.error());
  // O_NONBLOCK: opening a fifo that slipped in must not hang; fstat then refuses it.
  Fd f(::openat(dir->fd, parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (f.fd < 0) return deny(resolved_rel, fmt::format("cannot open: {}", errno_text(errno)));
  struct stat st{};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return deny(resolved_rel, "not a regular file");
  std::string out;
  out.resize(std::min<size_t>(cap, size_t(st.st_size)) + 1);
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(f.fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failf(Errc::Io, "{}: {}", resolved_rel, errno_text(errno));
    if (n == 0) break;
    got += size_t(n);
  }
  bool more = got > cap;
  out.resize(std::min(got, cap));
  if (truncated) *truncated = more || size_t(st.st_size) > cap;
  return out;
}

}  // namespace pxos::architect
