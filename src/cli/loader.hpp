// loader.hpp: turns whatever the user names (a .pxasm file, a bytecode .pxi, a legacy PixelFS
// image, or an image a module knows how to resolve, such as a god-pixel key) into a module.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "isa/module.hpp"

namespace pxos::cli {

// A resolver looks at a file's bytes; nullopt means "not mine", else the bytecode-module payload
// (or an error). Modules register theirs at static-init time (e.g. src/godpixel).
using Resolver = std::function<std::optional<Result<Bytes>>(const std::string& path, ByteView file)>;
struct RegisterResolver {
  explicit RegisterResolver(Resolver r);
};

Result<isa::Module> load_module(const std::string& path);

}  // namespace pxos::cli
