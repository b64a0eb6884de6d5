// ops.hpp: the god-pixel operations shared by the CLI and the `pxos run` resolver: resurrect any
// god image (key or bootstrap), and the two ratios, printed side by side and never confused.
#pragma once
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "godpixel/image.hpp"
#include "godpixel/store.hpp"

namespace pxos::god {

struct Resurrected {
  GodImage image;
  Bytes payload;            // verified: hashes to image.sha
  std::optional<Entry> entry;  // the store row (key images)
  std::string store;        // the store consulted (key images)
};

// Key image: looks the key up in the store at `store_dir` and checks the result against the
// image's SHA-256. Bootstrap image: needs no store. `name` prefixes errors.
Result<Resurrected> resurrect_image(ByteView file, std::string_view name, const std::string& store_dir);

// "key reference ratio ..." and "stored ratio ..." lines. stored = compressed bytes, `where`
// says where they lie ("zstd object on disk"); nullopt: no object, `where` says why (seed method).
std::string ratio_lines(uint64_t payload, std::optional<uint64_t> stored, std::string_view where);

}  // namespace pxos::god
