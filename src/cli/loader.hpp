// loader.hpp: turns whatever the user names (a .pxasm file, a bytecode .pxi, a legacy PixelFS
// image, or an image a module knows how to resolve, such as a god-pixel key) into a module.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

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

// `pxos inspect` of an image a module knows (a god-pixel key or bootstrap image): one field per
// line, `label: shown` for people and `key: value` (JSON text) for --json. nullopt: "not mine".
struct InspectField {
  std::string label, key, shown, json;  // json: the value as JSON text
};
using Inspector = std::function<std::optional<Result<std::vector<InspectField>>>(const std::string& path, ByteView file)>;
struct RegisterInspector {
  explicit RegisterInspector(Inspector i);
};
const std::vector<Inspector>& inspectors();

// The seed's own programs: raw seed bytecode (the instruction stream with no PXBC header, as the
// seed's PixelVM runs it) in a PixelFS file, a raw .pxi or a bare file such as a .bin.
//   Auto: a raw payload, or a file that is no image, is taken as seed bytecode;
//   Force (--raw): whatever the file holds is taken as seed bytecode;
//   Refuse (--no-raw): only PXBC modules and assembly run.
// "-" is standard input (assembly text when it is text, else as a file).
enum class RawMode { Auto, Force, Refuse };
struct Loaded {
  isa::Module module;
  bool raw = false;  // taken as seed bytecode (the verifier's verdict is then worded for that)
};
Result<Loaded> load_program(const std::string& path, RawMode mode);

}  // namespace pxos::cli
