// source.cpp: .gguf / .pxa / god-key model loading and the GGUF <-> archive mapping of `llm pack`.
// The archive keeps the GGUF's own bytes (header, packed tensors), so nothing is re-encoded and
// the engine parses the very same file whichever form it came in.
#include "llm/source.hpp"

#include <fmt/format.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "godpixel/image.hpp"
#include "godpixel/ops.hpp"
#include "godpixel/store.hpp"
#include "image/pxi.hpp"

namespace pxos::llm {

const char* source_kind_name(SourceKind k) {
  switch (k) {
    case SourceKind::Gguf: return "gguf";
    case SourceKind::Pxa: return "pxa";
    case SourceKind::Key: return "key";
  }
  return "?";
}

namespace {

constexpr uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
// A reassembled GGUF may not be larger than an archive payload can be, plus alignment padding.
constexpr uint64_t kMaxGguf = image::kMaxPayload * 2;

std::unexpected<Error> bad(const std::string& what, std::string_view msg) {
  return failf(Errc::ModelInvalid, "{}: {}", what, msg);
}

Result<LoadedModel> from_archive(hv::Archive a, const std::string& what, SourceKind kind, uint64_t file_bytes) {
  auto g = unpack_gguf(a, what);
  if (!g) return std::unexpected(std::move(g.error()));
  LoadedModel m;
  m.kind = kind;
  m.file_bytes = file_bytes;
  m.gguf_bytes = MappedFile::adopt(std::move(*g));
  auto parsed = parse_gguf(m.gguf_bytes->bytes(), what);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  m.gguf = std::move(*parsed);
  return m;
}

// Every tensor's type must be one the engine reads, named when not (before the hyper-parameters,
// so a file of an unsupported quantisation says so rather than what else it lacks).
Status check_tensor_types(const Gguf& g, const std::string& what) {
  for (auto& t : g.tensors) {
    const TypeInfo* ti = type_info(t.type);
    if (!ti->supported)
      return failf(Errc::Unsupported, "{}: tensor '{}' has type {}, which the engine does not dequantize", what, t.name, ti->name);
  }
  return {};
}

}  // namespace

Result<hv::Archive> pack_gguf(ByteView gguf, const std::string& what, const Progress& progress) {
  auto g = parse_gguf(gguf, what);
  if (!g) return std::unexpected(std::move(g.error()));
  if (auto s = check_tensor_types(*g, what); !s) return std::unexpected(std::move(s.error()));
  hv::Archive a;
  nlohmann::json man = {{"format", kPackFormat},
                        {"version", 1},
                        {"gguf_bytes", gguf.size()},
                        {"gguf_sha256", hex(sha256(gguf))},
                        {"gguf_version", g->version},
                        {"tensors", g->tensors.size()}};
  a.entries.push_back({hv::EntryType::Manifest, std::string(hv::kManifestName), {}, {}, 0});
  const std::string ms = man.dump(1) + "\n";
  a.entries.back().data.assign(ms.begin(), ms.end());
  a.entries.push_back({hv::EntryType::Data, std::string(kHeaderEntry),
                       Bytes(gguf.begin(), gguf.begin() + ptrdiff_t(g->data_offset)), {}, 0});
  // Every byte outside the header and the tensors must be zero, or the file would not come back.
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (auto& t : g->tensors) spans.emplace_back(g->data_offset + t.offset, t.n_bytes);
  std::sort(spans.begin(), spans.end());
  uint64_t at = g->data_offset;
  for (auto [s, n] : spans) {
    for (uint64_t i = at; i < s; ++i)
      if (gguf[size_t(i)]) return failf(Errc::Unsupported, "{}: offset {:#x}: a non-zero byte between tensors (the archive keeps tensors, not padding)", what, i);
    at = std::max(at, s + n);
  }
  for (uint64_t i = at; i < gguf.size(); ++i)
    if (gguf[size_t(i)]) return failf(Errc::Unsupported, "{}: offset {:#x}: a non-zero byte after the last tensor", what, i);
  uint64_t done = 0, total = 0;
  for (auto& t : g->tensors) total += t.n_bytes;
  for (auto& t : g->tensors) {
    std::string name = std::string(kTensorPrefix) + t.name;
    if (auto why = hv::check_entry_name(hv::EntryType::Data, name))
      return failf(Errc::Unsupported, "{}: tensor '{}' cannot be an archive entry: {}", what, t.name, *why);
    a.entries.push_back({hv::EntryType::Data, std::move(name), Bytes(t.data.begin(), t.data.end()), {}, 0});
    done += t.n_bytes;
    if (progress) progress(done, total, "packing tensors");
  }
  return a;
}

Result<Bytes> unpack_gguf(const hv::Archive& a, const std::string& what) {
  const hv::Entry* m = a.manifest();
  if (!m) return bad(what, "the archive has no manifest.json (not made by `pxos llm pack`)");
  nlohmann::json man = nlohmann::json::parse(m->data.begin(), m->data.end(), nullptr, false);
  if (man.is_discarded() || !man.is_object()) return bad(what, "manifest.json is not a JSON object");
  if (!man.contains("format") || man["format"] != kPackFormat)
    return bad(what, fmt::format("manifest.json: format is not \"{}\" (not an archive made by `pxos llm pack`)", kPackFormat));
  if (!man.contains("gguf_bytes") || !man["gguf_bytes"].is_number_unsigned() || !man.contains("gguf_sha256") ||
      !man["gguf_sha256"].is_string())
    return bad(what, "manifest.json: gguf_bytes or gguf_sha256 is missing");
  const uint64_t size = man["gguf_bytes"].get<uint64_t>();
  const hv::Entry* h = a.find(kHeaderEntry);
  if (!h) return bad(what, fmt::format("entry '{}' is missing", kHeaderEntry));
  if (size > kMaxGguf || size < h->data.size())
    return bad(what, fmt::format("manifest.json: gguf_bytes {} is impossible (header {} bytes, at most {})", size, h->data.size(), kMaxGguf));
  Bytes out(size_t(size), 0);
  std::memcpy(out.data(), h->data.data(), h->data.size());
  // The header names every tensor's offset and size; its bounds checks run on the full length.
  auto g = parse_gguf(out, what + " (header entry)");
  if (!g) return std::unexpected(std::move(g.error()));
  if (g->data_offset != h->data.size())
    return bad(what, fmt::format("entry '{}' is {} bytes but its data section starts at {}", kHeaderEntry, h->data.size(), g->data_offset));
  std::set<std::string> used{std::string(hv::kManifestName), std::string(kHeaderEntry)};
  for (auto& t : g->tensors) {
    const std::string name = std::string(kTensorPrefix) + t.name;
    const hv::Entry* e = a.find(name);
    if (!e) return bad(what, fmt::format("entry '{}' is missing", name));
    if (e->data.size() != t.n_bytes)
      return bad(what, fmt::format("entry '{}' is {} bytes, the header says {}", name, e->data.size(), t.n_bytes));
    std::memcpy(out.data() + g->data_offset + t.offset, e->data.data(), e->data.size());
    used.insert(name);
  }
  for (auto& e : a.entries)
    if (!used.count(e.name)) return bad(what, fmt::format("entry '{}' is not part of the model", e.name));
  if (hex(sha256(out)) != man["gguf_sha256"].get<std::string>())
    return failf(Errc::HashMismatch, "{}: the reassembled GGUF does not hash to manifest.json's gguf_sha256", what);
  return out;
}

Result<LoadedModel> load_gguf_source(const std::string& path, const std::string& store_dir, const Progress& progress) {
  auto file = MappedFile::open(path, [&](uint64_t d, uint64_t t) { if (progress) progress(d, t, "reading"); });
  if (!file) return std::unexpected(std::move(file.error()));
  ByteView b = (*file)->bytes();
  if (b.size() >= 4 && std::memcmp(b.data(), "GGUF", 4) == 0) {
    LoadedModel m;
    m.kind = SourceKind::Gguf;
    m.file_bytes = b.size();
    m.gguf_bytes = std::move(*file);
    auto g = parse_gguf(m.gguf_bytes->bytes(), path);
    if (!g) return std::unexpected(std::move(g.error()));
    m.gguf = std::move(*g);
    return m;
  }
  if (b.size() < 8 || std::memcmp(b.data(), kPngMagic, 8) != 0)
    return failf(Errc::ModelInvalid, "{}: offset 0x0: not a GGUF file (wrong magic), nor a .pxa archive or god key (PNG)", path);
  if (god::is_god_image(b)) {
    std::string dir = store_dir.empty() ? god::default_store_dir() : store_dir;
    if (progress) progress(0, 1, "resurrecting the key");
    auto r = god::resurrect_image(b, path, dir);
    if (!r) return std::unexpected(std::move(r.error()));
    if (r->image.kind != image::Kind::Archive)
      return failf(Errc::ModelInvalid, "{}: the key names a {} payload, not a model archive", path, image::kind_name(r->image.kind));
    auto a = hv::parse_archive(r->payload, path);
    if (!a) return std::unexpected(std::move(a.error()));
    return from_archive(std::move(*a), path, SourceKind::Key, b.size());
  }
  if (progress) progress(0, 1, "decoding the PNG");
  auto a = hv::decode_pxa(b, path);
  if (!a) return std::unexpected(std::move(a.error()));
  return from_archive(std::move(*a), path, SourceKind::Pxa, b.size());
}

Result<std::unique_ptr<SourceModel>> open_model_source(const std::string& path, const std::string& store_dir,
                                                       const Progress& progress) {
  auto src = load_gguf_source(path, store_dir, progress);
  if (!src) return std::unexpected(std::move(src.error()));
  auto sm = std::make_unique<SourceModel>();
  sm->src = std::move(*src);
  if (auto s = check_tensor_types(sm->src.gguf, path); !s) return std::unexpected(std::move(s.error()));
  auto m = load_model(sm->src.gguf, path);
  if (!m) return std::unexpected(std::move(m.error()));
  sm->model = std::move(*m);
  return sm;
}

}  // namespace pxos::llm
