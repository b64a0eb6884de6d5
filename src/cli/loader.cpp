// loader.cpp: assemble .pxasm on the fly, decode images, consult registered resolvers.
#include "cli/loader.hpp"

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
