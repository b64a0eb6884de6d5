// ops.cpp: resurrection with every check, and the honest ratio lines.
#include "godpixel/ops.hpp"

namespace pxos::god {

Result<Resurrected> resurrect_image(ByteView file, std::string_view name, const std::string& store_dir) {
  auto img = decode_god_image(file, name);
  if (!img) return std::unexpected(img.error());
  Resurrected out;
  out.image = std::move(*img);
  const GodImage& g = out.image;
  if (g.type == image::Kind::GodBootstrap) {
    auto p = bootstrap_payload(g, name);
    if (!p) return std::unexpected(p.error());
    out.payload = std::move(*p);
    return out;
  }
  out.store = store_dir;
  auto st = Store::open(store_dir, false);
  if (!st) {
    if (st.error().code == Errc::NotFound)
      return failf(Errc::NotFound, "{}: unknown key {}: {}", name, key_hex(g.key), st.error().detail);
    return failf(st.error().code, "{}: {}", name, st.error().detail);
  }
  if (st->key_bits() != g.key_bits)
    return failf(Errc::StoreError, "{}: a {}-bit key, but store {} uses {}-bit keys", name, g.key_bits, store_dir,
                 st->key_bits());
  Entry e;
  auto p = st->get(g.key, &e);
  if (!p) return failf(p.error().code, "{}: {}", name, p.error().detail);
  if (e.hash != g.sha || e.kind != g.kind)
    return failf(Errc::HashMismatch,
                 "{}: key {} in store {} names program {} ({}), but this key image was made for {} ({}); "
                 "it belongs to another store",
                 name, key_hex(g.key), store_dir, hex(e.hash), image::kind_name(e.kind), hex(g.sha),
                 image::kind_name(g.kind));
  out.payload = std::move(*p);
  out.entry = e;
  return out;
}

std::string ratio_lines(uint64_t payload, std::optional<uint64_t> stored, std::string_view where) {
  std::string s = fmt::format("key reference ratio  {:>10.2f}:1  ({} B payload : 4 B key; the key names the program "
                              "in a store, it is not compression)\n",
                              double(payload) / 4.0, payload);
  if (stored && *stored > 0)
    s += fmt::format("stored ratio         {:>10.2f}:1  ({} B payload : {} B {}; the real compression)\n",
                     double(payload) / double(*stored), payload, *stored, where);
  else
    s += fmt::format("stored ratio                n/a    ({} B payload : no object on disk; {})\n", payload, where);
  return s;
}

}  // namespace pxos::god
