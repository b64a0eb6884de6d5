// loader.cpp: assemble .pxasm on the fly, decode images, consult registered resolvers.
#include "cli/loader.hpp"

#include <algorithm>
#include <vector>

#include "asm/assembler.hpp"
#include "common/fs.hpp"
#include "image/pxi.hpp"

namespace pxos::cli {
namespace {
std::vector<Resolver>& resolvers() {
  static std::vector<Resolver> r;
  return r;
}
}  // namespace

RegisterResolver::RegisterResolver(Resolver r) { resolvers().push_back(std::move(r)); }

namespace {
std::vector<Inspector>& inspector_list() {
  static std::vector<Inspector> v;
  return v;
}
}  // namespace
RegisterInspector::RegisterInspector(Inspector i) { inspector_list().push_back(std::move(i)); }
const std::vector<Inspector>& inspectors() { return inspector_list(); }

namespace {
bool is_text(ByteView b) {
  for (uint8_t c : b)
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) return false;
  return true;
}
bool looks_like_png(ByteView b) {
  static constexpr uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return b.size() >= 8 && std::equal(sig, sig + 8, b.begin());
}
isa::Module seed_module(ByteView code, const std::string& path) {
  isa::Module m;
  m.source = path;
  m.code.assign(code.begin(), code.end());
  return m;
}
}  // namespace

Result<Loaded> load_program(const std::string& path, RawMode mode) {
  auto file = read_file(path);
  if (!file) return std::unexpected(file.error());
  auto assemble = [&]() -> Result<Loaded> {
    std::string_view src(reinterpret_cast<const char*>(file->data()), file->size());
    auto m = assembler::assemble(src, path);
    if (!m) return std::unexpected(m.error());
    return Loaded{std::move(*m), false};
  };
  if (mode == RawMode::Force) {
    // The payload of an image (the seed's PixelFS files hold the code in their pixels), else the bytes.
    if (looks_like_png(*file) || image::looks_like_pxfs(*file)) {
      auto img = image::decode_pxi(*file, path);
      if (!img) return std::unexpected(img.error());
      return Loaded{seed_module(img->payload, path), true};
    }
    return Loaded{seed_module(*file, path), true};
  }
  if (path.ends_with(".pxasm")) return assemble();
  for (auto& r : resolvers())
    if (auto got = r(path, *file)) {
      if (!*got) return std::unexpected(got->error());
      auto m = isa::parse_module(**got, path);
      if (!m) return std::unexpected(m.error());
      return Loaded{std::move(*m), false};
    }
  bool image = looks_like_png(*file) || image::looks_like_pxfs(*file);
  if (!image && mode == RawMode::Auto && !file->empty()) {
    if (file->size() >= 4 && std::equal(file->begin(), file->begin() + 4, "PXBC")) {  // a bare module
      auto m = isa::parse_module(*file, path);
      if (!m) return std::unexpected(m.error());
      return Loaded{std::move(*m), false};
    }
    if (path == "-" && is_text(*file)) return assemble();  // `pxos run - <prog.pxasm`
    return Loaded{seed_module(*file, path), true};
  }
  auto img = image::decode_pxi(*file, path);
  if (!img) return std::unexpected(img.error());
  if (img->kind == image::Kind::Raw && mode == RawMode::Auto) return Loaded{seed_module(img->payload, path), true};
  if (img->kind != image::Kind::Bytecode)
    return failf(Errc::PxiInvalid, "{}: holds a {} payload, not bytecode ({}pxos unpack extracts it)", path,
                 image::kind_name(img->kind), img->kind == image::Kind::Raw ? "pxos run --raw runs it as seed bytecode; " : "");
  auto m = isa::parse_module(img->payload, path);
  if (!m) return std::unexpected(m.error());
  return Loaded{std::move(*m), false};
}

Result<isa::Module> load_module(const std::string& path) {
  auto file = read_file(path);
  if (!file) return std::unexpected(file.error());
  if (path.ends_with(".pxasm")) {
    std::string_view src(reinterpret_cast<const char*>(file->data()), file->size());
    return assembler::assemble(src, path);
  }
  for (auto& r : resolvers())
    if (auto got = r(path, *file)) {
      if (!*got) return std::unexpected(got->error());
      return isa::parse_module(**got, path);
    }
  auto img = image::decode_pxi(*file, path);
  if (!img) return std::unexpected(img.error());
  if (img->kind != image::Kind::Bytecode)
    return failf(Errc::PxiInvalid, "{}: holds a {} payload, not bytecode (pxos unpack extracts it)", path,
                 image::kind_name(img->kind));
  return isa::parse_module(img->payload, path);
}

}  // namespace pxos::cli
