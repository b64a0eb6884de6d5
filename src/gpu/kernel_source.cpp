// kernel_source.cpp: #include expansion for WGSL kernels (embedded, $PXOS_KERNELS_DIR, files
// given on the command line), the file:line map for errors, and the embedded-kernel lookup.
#include "gpu/kernel_source.hpp"

#include <cctype>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>

#include "common/os.hpp"
#include "gpu/runtime.hpp"

namespace pxos::gpu {
namespace {

constexpr int kMaxDepth = 8;
constexpr uint64_t kMaxFileBytes = 16u << 20;  // one WGSL file (what `gpu check` always allowed)

std::string dir_of(std::string_view p) {
  size_t s = p.rfind('/');
  return s == std::string_view::npos ? std::string() : std::string(p.substr(0, s + 1));
}

// The quoted path of an `#include "path"` line; nullopt for any other line; "" when the
// directive is malformed (reported by the caller).
std::optional<std::string_view> include_target(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos || !line.substr(i).starts_with("#include")) return std::nullopt;
  std::string_view r = line.substr(i + 8);
  r.remove_prefix(std::min(r.size(), r.find_first_not_of(" \t")));
  while (!r.empty() && (r.back() == ' ' || r.back() == '\t' || r.back() == '\r')) r.remove_suffix(1);
  if (r.size() < 3 || r.front() != '"' || r.back() != '"') return std::string_view();
  return r.substr(1, r.size() - 2);
}

struct Expander {
  const IncludeReader& read;
  KernelSource& out;
  std::vector<std::string> stack;  // paths being expanded (cycle check)
  std::vector<std::string> done;   // paths already expanded once
  uint64_t lines = 0;              // lines in out.text so far

  Status file(std::string_view text, const std::string& path, const std::string& label) {
    stack.push_back(path);
    done.push_back(path);
    out.segments.push_back({lines + 1, label, 1});
    uint64_t line_no = 0;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      ++line_no;
      auto target = include_target(line);
      if (!target) {
        out.text.append(line).push_back('\n');
        ++lines;
        continue;
      }
      if (target->empty() || target->front() == '/' || target->find("..") != std::string_view::npos)
        return failf(Errc::GpuError, "{}:{}: expected #include \"relative/path.wgsl\" (inside the kernels folder)",
                     label, line_no);
      std::string child = dir_of(path) + std::string(*target);
      if (std::find(stack.begin(), stack.end(), child) != stack.end())
        return failf(Errc::GpuError, "{}:{}: #include \"{}\" includes itself", label, line_no, *target);
      if (stack.size() >= size_t(kMaxDepth))
        return failf(Errc::GpuError, "{}:{}: #include nested deeper than {}", label, line_no, kMaxDepth);
      // The directive's line becomes an empty one, so the including file's lines keep their numbers
      // in the map; an already included file is not repeated (WGSL forbids redeclarations).
      out.text.push_back('\n');
      ++lines;
      if (std::find(done.begin(), done.end(), child) == done.end()) {
        auto f = read(child);
        if (!f) return std::unexpected(f.error());
        if (!*f) return failf(Errc::NotFound, "{}:{}: #include \"{}\": no such kernel file", label, line_no, *target);
        if (auto s = file((*f)->text, child, (*f)->label); !s) return s;
      }
      out.segments.push_back({lines + 1, label, line_no + 1});
    }
    stack.pop_back();
    return {};
  }
};

Result<std::optional<IncludedFile>> read_disk(const std::string& path) {
  int open_errno = 0;
  auto b = os::read_input(path, kMaxFileBytes, os::InputOptions{.kind = Errc::Io, .open_errno = &open_errno});
  if (!b) {
    if (open_errno == ENOENT) return std::optional<IncludedFile>();
    return std::unexpected(b.error());
  }
  return std::optional<IncludedFile>(IncludedFile{std::string(b->begin(), b->end()), path});
}

Result<std::optional<IncludedFile>> read_embedded(const std::string& path) {
  auto e = embedded_file(path);
  if (!e) return std::optional<IncludedFile>();
  return std::optional<IncludedFile>(IncludedFile{std::string(*e), "kernels/" + path});
}

// Files of the folder `root` first, then the embedded kernels.
IncludeReader disk_then_embedded(std::string root) {
  return [root = std::move(root)](const std::string& path) -> Result<std::optional<IncludedFile>> {
    auto f = read_disk(root + path);
    if (!f || *f) return f;
    return read_embedded(path);
  };
}

}  // namespace

std::string KernelSource::where(uint64_t line) const {
  const Segment* s = nullptr;
  for (const auto& seg : segments)
    if (seg.first_line <= line) s = &seg;
  if (!s) return fmt::format("{}:{}", label, line);
  return fmt::format("{}:{}", s->file, s->file_line + (line - s->first_line));
}

Result<KernelSource> expand_includes(std::string_view text, const std::string& path,
                                     const std::string& label, const IncludeReader& read) {
  KernelSource out;
  out.label = label;
  Expander e{read, out, {}, {}, 0};
  if (auto s = e.file(text, path, label); !s) return std::unexpected(s.error());
  return out;
}

std::optional<std::string_view> embedded_file(std::string_view path) {
  for (const auto* e = detail::kEmbeddedWgsl; e->path; ++e)
    if (path == e->path) return e->text;
  return std::nullopt;
}

Result<KernelSource> load_kernel(std::string_view name) {
  std::string file = std::string(name) + ".wgsl";
  if (const char* dir = std::getenv("PXOS_KERNELS_DIR"); dir && *dir) {
    std::string root = std::string(dir) + "/";
    auto f = read_disk(root + file);
    if (!f) return std::unexpected(f.error());
    if (*f) return expand_includes((*f)->text, file, (*f)->label, disk_then_embedded(root));
  }
  auto e = embedded_file(file);
  if (!e) return failf(Errc::NotFound, "no embedded kernel 'kernels/{}'", file);
  return expand_includes(*e, file, "kernels/" + file, read_embedded);
}

Result<KernelSource> load_wgsl_file(const std::string& path) {
  auto f = read_disk(path);
  if (!f) return std::unexpected(f.error());
  if (!*f) return failf(Errc::NotFound, "{}: no such file", path);
  std::string root = dir_of(path);
  return expand_includes((*f)->text, path.substr(root.size()), path, disk_then_embedded(root));
}

// The embedded kernels with their includes expanded, made once (string_views into them stay valid).
namespace {
const std::map<std::string, std::string, std::less<>>& expanded_embedded() {
  static const std::map<std::string, std::string, std::less<>> m = [] {
    std::map<std::string, std::string, std::less<>> r;
    for (const auto* e = detail::kEmbeddedWgsl; e->path; ++e) {
      std::string_view p = e->path;
      if (p.find('/') != std::string_view::npos) continue;  // kernels/lib/: included, not run
      auto k = expand_includes(e->text, e->path, "kernels/" + std::string(p), read_embedded);
      // A broken embedded include is a build defect; the kernel then stays unexpanded and its
      // compile error names the #include line (tests/gpu compiles every embedded kernel).
      r[std::string(p.substr(0, p.size() - 5))] = k ? std::move(k->text) : std::string(e->text);
    }
    return r;
  }();
  return m;
}
}  // namespace

std::optional<std::string_view> embedded_kernel(std::string_view name) {
  const auto& m = expanded_embedded();
  auto it = m.find(name);
  if (it == m.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::vector<std::string> embedded_kernel_names() {
  std::vector<std::string> v;
  for (const auto& [name, text] : expanded_embedded()) v.push_back(name);
  return v;
}

}  // namespace pxos::gpu

namespace pxos::gpu {

std::vector<BindingType> binding_types(std::string_view t) {
  std::vector<BindingType> out;
  auto skip_ws = [&](size_t& i) { while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i; };
  for (size_t at = t.find("@binding("); at != std::string_view::npos; at = t.find("@binding(", at + 1)) {
    size_t i = at + 9;
    uint32_t n = 0;
    size_t digits = 0;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) && digits < 9) n = n * 10 + uint32_t(t[i++] - '0'), ++digits;
    if (!digits || i >= t.size() || t[i] != ')') continue;
    size_t v = t.find("var", i);
    size_t semi = t.find(';', i);
    if (v == std::string_view::npos || semi == std::string_view::npos || v > semi) continue;
    size_t colon = t.find(':', v);
    if (colon == std::string_view::npos || colon > semi) continue;
    size_t ts = colon + 1;
    skip_ws(ts);
    std::string_view type = t.substr(ts, semi - ts);
    while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.remove_suffix(1);
    if (!type.starts_with("array<")) continue;
    std::string_view el = type.substr(6);
    if (size_t c = el.find(','); c != std::string_view::npos) el = el.substr(0, c);  // array<T, n>
    while (!el.empty() && (el.back() == '>' || std::isspace(static_cast<unsigned char>(el.back())))) el.remove_suffix(1);
    uint32_t lanes = 1;
    if (el.starts_with("vec") && el.size() > 5 && el[4] == '<') {
      lanes = uint32_t(el[3] - '0');
      if (lanes < 2 || lanes > 4) continue;
      el = el.substr(5);
    }
    if (el.starts_with("atomic<")) el = el.substr(7);
    std::string_view scalar = el;
    uint32_t bytes = scalar == "f16" ? 2 : (scalar == "f32" || scalar == "u32" || scalar == "i32") ? 4 : 0;
    if (!bytes) continue;
    out.push_back({n, std::string(scalar), bytes * (lanes == 3 ? 4 : lanes), std::string(type)});
  }
  return out;
}

}  // namespace pxos::gpu
