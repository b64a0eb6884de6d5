// pack.hpp: `pxos archive create` and `extract`: a directory <-> an Archive.
//
//  DIR/manifest.json        -> entry "manifest.json" (type manifest)      (required)
//  DIR/<name>.pxasm         -> entry "<name>" (type module), assembled on the way in
//  DIR/<name>.pxi           -> entry "<name>" (type module), a bytecode image
//  DIR/data/<path>          -> entry "data/<path>" (type data), any bytes
//  dotfiles are skipped; anything else (other files, symlinks, other folders) is an error.
// Extraction writes manifest.json, <name>.pxi per module and data/<path>, each atomically.
#pragma once
#include <string>

#include "common/error.hpp"
#include "common/progress.hpp"
#include "hv/archive.hpp"

namespace pxos::hv {

// progress: (bytes read so far, bytes of all regular files under DIR, "reading").
Result<Archive> pack_directory(const std::string& dir, const ProgressFeed& progress = {});
// Writes every entry under DIR (created if missing); refuses to write through a symlink.
Status extract_archive(const Archive& a, const std::string& dir);

}  // namespace pxos::hv
