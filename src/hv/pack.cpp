// pack.cpp: directory walking with strict rules (pack.hpp), assembly of .pxasm modules, and
// extraction that cannot leave DIR (names are checked by the reader; symlinks are refused).
#include "hv/pack.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "asm/assembler.hpp"
#include "common/fs.hpp"
#include "image/pxi.hpp"
#include "isa/module.hpp"

namespace pxos::hv {
namespace fs = std::filesystem;

namespace {

// Bytes read so far against the bytes of every regular file under DIR (a pre-pass of stats):
// the progress line's figures.
struct Reading {
  const ProgressFeed& progress;
  uint64_t done = 0, total = 0;
  Result<Bytes> read(const fs::path& p) {
    auto bytes = read_file(p.string());
    if (bytes && progress) progress(done += bytes->size(), total, "reading");
    return bytes;
  }
};

uint64_t tree_bytes(const std::string& dir) {
  std::error_code ec;
  uint64_t n = 0;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec))
    if (it->is_regular_file(ec)) n += it->file_size(ec);
  return n;
}

Status add_data(const fs::path& root, const fs::path& dir, std::vector<Entry>& out, Reading& rd) {
  std::error_code ec;
  std::vector<fs::path> items;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) items.push_back(it->path());
  if (ec) return failf(Errc::Io, "{}: {}", dir.string(), ec.message());
  std::sort(items.begin(), items.end());
  for (const auto& p : items) {
    std::string fname = p.filename().string();
    if (fname.starts_with(".")) continue;
    auto st = fs::symlink_status(p, ec);
    if (ec) return failf(Errc::Io, "{}: {}", p.string(), ec.message());
    if (fs::is_symlink(st)) return failf(Errc::Io, "{}: is a symlink (archives hold only regular files)", p.string());
    if (fs::is_directory(st)) {
      if (auto s = add_data(root, p, out, rd); !s) return s;
      continue;
    }
    if (!fs::is_regular_file(st)) return failf(Errc::Io, "{}: not a regular file", p.string());
    auto bytes = rd.read(p);
    if (!bytes) return std::unexpected(bytes.error());
    Entry e;
    e.type = EntryType::Data;
    e.name = std::string(kDataPrefix) + fs::relative(p, root, ec).generic_string();
    if (auto why = check_entry_name(e.type, e.name)) return failf(Errc::ArchiveInvalid, "{}: {}", p.string(), *why);
    e.data = std::move(*bytes);
    out.push_back(std::move(e));
  }
  return {};
}

}  // namespace

Result<Archive> pack_directory(const std::string& dir, const ProgressFeed& progress) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return failf(Errc::Io, "{}: not a directory", dir);
  Reading rd{progress};
  if (progress) rd.total = tree_bytes(dir);
  std::vector<fs::path> items;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) items.push_back(it->path());
  if (ec) return failf(Errc::Io, "{}: {}", dir, ec.message());
  std::sort(items.begin(), items.end());

  Archive a;
  std::optional<Entry> manifest;
  std::map<std::string, std::pair<std::string, Entry>> modules;  // name -> (file, entry): sorted by name
  std::vector<Entry> data;
  for (const auto& p : items) {
    std::string fname = p.filename().string(), path = p.string();
    if (fname.starts_with(".")) continue;
    auto st = fs::symlink_status(p, ec);
    if (ec) return failf(Errc::Io, "{}: {}", path, ec.message());
    if (fs::is_symlink(st)) return failf(Errc::Io, "{}: is a symlink (archives hold only regular files)", path);
    if (fname == "data" && fs::is_directory(st)) {
      if (auto s = add_data(p, p, data, rd); !s) return std::unexpected(s.error());
      continue;
    }
    std::string ext = p.extension().string(), stem = p.stem().string();
    bool is_mod = ext == ".pxasm" || ext == ".pxi";
    if (!fs::is_regular_file(st) && !fs::is_directory(st))  // a FIFO would block the reader
      return failf(Errc::ArchiveInvalid, "{}: not a regular file (archives hold only regular files)", path);
    if (!fs::is_regular_file(st) || (fname != kManifestName && !is_mod))
      return failf(Errc::ArchiveInvalid, "{}: not part of an archive (a directory holds manifest.json, *.pxasm, *.pxi and data/)",
                   path);
    auto bytes = rd.read(p);
    if (!bytes) return std::unexpected(bytes.error());
    if (fname == kManifestName) {
      manifest = Entry{EntryType::Manifest, std::string(kManifestName), std::move(*bytes), {}, 0};
      continue;
    }
    if (!is_module_name(stem))
      return failf(Errc::ArchiveInvalid, "{}: '{}' is not a module name ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters)", path, stem);
    isa::Module m;
    if (ext == ".pxasm") {
      std::string_view src(reinterpret_cast<const char*>(bytes->data()), bytes->size());
      auto r = assembler::assemble(src, path);
      if (!r) return std::unexpected(r.error());
      m = std::move(*r);
      m.source = fname;  // traps name the file as it was in the archive's directory
    } else {
      auto img = image::decode_pxi(*bytes, path);
      if (!img) return std::unexpected(img.error());
      if (img->kind != image::Kind::Bytecode)
        return failf(Errc::ArchiveInvalid, "{}: holds a {} payload, not a bytecode module", path, image::kind_name(img->kind));
      auto r = isa::parse_module(img->payload, path);
      if (!r) return std::unexpected(r.error());
      m = std::move(*r);
      if (m.source.empty()) m.source = fname;
    }
    auto code = isa::serialize(m);
    if (!code) return std::unexpected(code.error());
    Entry e{EntryType::Module, stem, std::move(*code), {}, 0};
    auto [it, fresh] = modules.try_emplace(stem, fname, std::move(e));
    if (!fresh) return failf(Errc::ArchiveInvalid, "{}: module '{}' given twice ({} and {})", dir, stem, it->second.first, fname);
  }
  if (!manifest) return failf(Errc::ManifestInvalid, "{}: no manifest.json", dir);
  if (modules.empty()) return failf(Errc::ArchiveInvalid, "{}: no modules (*.pxasm or *.pxi)", dir);
  a.entries.push_back(std::move(*manifest));
  for (auto& [n, fe] : modules) a.entries.push_back(std::move(fe.second));
  for (auto& d : data) a.entries.push_back(std::move(d));
  return a;
}

Status extract_archive(const Archive& a, const std::string& dir) {
  std::error_code ec;
  fs::path root(dir);
  // All or nothing: every entry is checked and encoded before the first byte is written, and
  // whatever this extraction created is removed again if a write still fails (full disk).
  struct Planned { fs::path target; Bytes bytes; };
  std::vector<Planned> plan;
  std::set<std::string> files;
  for (const auto& e : a.entries) {
    // The reader already refused "..", absolute names, backslashes and a name that is also a
    // directory of another; refuse symlinks and things in the way too.
    if (auto why = check_entry_name(e.type, e.name)) return failf(Errc::ArchiveInvalid, "entry '{}': {}", e.name, *why);
    std::string rel = e.type == EntryType::Module ? e.name + ".pxi" : e.name;
    const fs::path relp(rel);
    fs::path target = root / relp;
    fs::path walk = root;
    for (const auto& part : relp) {
      walk /= part;
      auto st = fs::symlink_status(walk, ec);
      if (ec || !fs::exists(st)) continue;
      if (fs::is_symlink(st)) return failf(Errc::Io, "{}: is a symlink; refusing to write through it", walk.string());
      if (walk != target && !fs::is_directory(st)) return failf(Errc::Io, "{}: exists and is not a directory", walk.string());
      if (walk == target && !fs::is_regular_file(st)) return failf(Errc::Io, "{}: exists and is not a regular file", walk.string());
    }
    for (const auto& f : files)  // a file of this extraction where a directory must go, or the reverse
      if (rel.starts_with(f + "/") || f.starts_with(rel + "/"))
        return failf(Errc::ArchiveInvalid, "entry '{}': '{}' would be both a file and a directory", e.name, std::min(f, rel));
    files.insert(rel);
    Bytes bytes = e.data;
    if (e.type == EntryType::Module) {
      auto png = image::encode_pxi(e.data, image::Kind::Bytecode);
      if (!png) return failf(png.error().code, "entry '{}': {}", e.name, png.error().detail);
      bytes = std::move(*png);
    }
    plan.push_back({target, std::move(bytes)});
  }
  std::vector<fs::path> created;  // files and directories that did not exist before, in creation order
  auto undo = [&] {
    for (auto it = created.rbegin(); it != created.rend(); ++it) fs::remove(*it, ec);
  };
  auto make_dirs = [&](const fs::path& d) -> Status {
    fs::path walk;
    for (const auto& part : d) {
      walk /= part;
      if (fs::exists(walk, ec)) continue;
      if (!fs::create_directory(walk, ec) && ec) return failf(Errc::Io, "{}: cannot create: {}", walk.string(), ec.message());
      created.push_back(walk);
    }
    return {};
  };
  if (Status s = make_dirs(root); !s) return undo(), s;
  for (const auto& p : plan) {
    if (Status s = make_dirs(p.target.parent_path()); !s) return undo(), s;
    bool existed = fs::exists(p.target, ec);
    if (Status s = write_file_atomic(p.target.string(), p.bytes); !s) return undo(), s;
    if (!existed) created.push_back(p.target);
  }
  return {};
}

}  // namespace pxos::hv
