// archive.cpp: the .pxa writer and the strict reader (every count checked against the bytes
// left, every hash recomputed, every name checked before anything is trusted).
#include "hv/archive.hpp"

#include <fmt/format.h>

#include <cstring>
#include <set>

#include "common/fs.hpp"
#include "hv/policy.hpp"
#include "image/pxi.hpp"

namespace pxos::hv {

std::string_view type_name(EntryType t) {
  switch (t) {
    case EntryType::Manifest: return "manifest";
    case EntryType::Module: return "module";
    case EntryType::Data: return "data";
  }
  return "?";
}

const Entry* Archive::find(std::string_view name) const {
  for (const auto& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<const Entry*> Archive::modules() const {
  std::vector<const Entry*> out;
  for (const auto& e : entries)
    if (e.type == EntryType::Module) out.push_back(&e);
  return out;
}

bool is_module_name(std::string_view n) {
  if (n.empty() || n.size() > kMaxModuleName) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(n[0])) return false;
  for (char c : n)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

std::optional<std::string> check_entry_name(EntryType t, std::string_view n) {
  switch (t) {
    case EntryType::Manifest:
      if (n != kManifestName) return fmt::format("a manifest entry must be named '{}'", kManifestName);
      return std::nullopt;
    case EntryType::Module:
      if (!is_module_name(n))
        return fmt::format("module name must be an identifier of at most {} characters ([A-Za-z_][A-Za-z0-9_]*)",
                           kMaxModuleName);
      return std::nullopt;
    case EntryType::Data: {
      if (!n.starts_with(kDataPrefix) || n.size() == kDataPrefix.size())
        return fmt::format("a data entry's name must start with '{}'", kDataPrefix);
      if (n.size() > kMaxEntryName) return fmt::format("name longer than {} bytes", kMaxEntryName);
      for (unsigned char c : n)
        if (c < 0x20 || c == 0x7f || c == '\\') return "name holds a control byte or a backslash";
      // every path component must be a plain name
      size_t s = 0;
      while (s <= n.size()) {
        size_t e = n.find('/', s);
        if (e == std::string_view::npos) e = n.size();
        std::string_view part = n.substr(s, e - s);
        if (part.empty() || part == "." || part == "..") return "name has an empty, '.' or '..' path component";
        s = e + 1;
      }
      return std::nullopt;
    }
  }
  return "unknown entry type";
}

Result<Bytes> encode_archive(Archive& a) {
  if (a.entries.size() > kMaxEntries) return failf(Errc::ArchiveInvalid, "too many entries ({}, at most {})", a.entries.size(), kMaxEntries);
  std::set<std::string_view> seen;
  Bytes index;
  ByteWriter iw(index);
  uint64_t off = 0;
  for (auto& e : a.entries) {
    if (auto why = check_entry_name(e.type, e.name)) return failf(Errc::ArchiveInvalid, "entry '{}': {}", e.name, *why);
    if (!seen.insert(e.name).second) return failf(Errc::ArchiveInvalid, "duplicate entry '{}'", e.name);
    e.sha = sha256(e.data);
    e.offset = off;
    iw.u8(uint8_t(e.type));
    iw.u8(0);
    iw.u16(uint16_t(e.name.size()));
    iw.u64(off);
    iw.u64(e.data.size());
    iw.bytes(e.sha);
    iw.str(e.name);
    off += e.data.size();
  }
  for (const auto& n : seen)
    if (auto it = seen.lower_bound(std::string(n) + "/"); it != seen.end() && it->starts_with(std::string(n) + "/"))
      return failf(Errc::ArchiveInvalid, "entry '{}' is a file and also the directory of entry '{}'", n, *it);
  if (index.size() > UINT32_MAX) return fail(Errc::ArchiveInvalid, "index too large");
  a.hash = sha256(index);
  Bytes out;
  ByteWriter w(out);
  w.bytes(as_bytes(std::string_view(kArchiveMagic, 4)));
  w.u16(kArchiveVersion);
  w.u16(0);
  w.u32(uint32_t(a.entries.size()));
  w.u32(uint32_t(index.size()));
  w.u64(off);
  w.bytes(a.hash);
  w.bytes(index);
  for (auto& e : a.entries) {
    e.offset += kHeaderSize + index.size();
    w.bytes(e.data);
  }
  a.payload_bytes = out.size();
  if (out.size() > image::kMaxPayload) return failf(Errc::TooLarge, "archive payload of {} bytes is over the limit", out.size());
  return out;
}

Result<Archive> parse_archive(ByteView p, std::string_view name) {
  auto bad = [&](size_t off, std::string what) {
    return fail(Errc::ArchiveInvalid, fmt::format("{}: offset {}: {}", name, off, what));
  };
  if (p.size() < 4 || std::memcmp(p.data(), kArchiveMagic, 4) != 0) return bad(0, "not a pxos archive (no 'PXAR' magic)");
  if (p.size() < kHeaderSize) return bad(p.size(), fmt::format("truncated header ({} of {} bytes)", p.size(), kHeaderSize));
  ByteReader r(p);
  r.take(4);
  uint16_t ver = r.u16(), flags = r.u16();
  uint32_t n = r.u32(), index_len = r.u32();
  uint64_t data_len = r.u64();
  ByteView stored = r.take(32);
  if (ver != kArchiveVersion) return bad(4, fmt::format("archive version {} not supported (this build reads {})", ver, kArchiveVersion));
  if (flags != 0) return bad(6, fmt::format("unknown flags {:#06x}", flags));
  if (n > kMaxEntries) return bad(8, fmt::format("{} entries declared, at most {}", n, kMaxEntries));
  if (index_len > p.size() - kHeaderSize)
    return bad(12, fmt::format("truncated: index of {} bytes declared, {} bytes follow the header", index_len, p.size() - kHeaderSize));
  uint64_t data_start = kHeaderSize + uint64_t(index_len);
  if (data_len != p.size() - data_start) {
    if (data_len > p.size() - data_start)
      return bad(16, fmt::format("truncated: {} data bytes declared, {} present", data_len, p.size() - data_start));
    return bad(data_start + data_len, fmt::format("{} trailing bytes after the data", p.size() - data_start - data_len));
  }
  ByteView index = r.take(index_len);
  Archive a;
  a.payload_bytes = p.size();
  a.hash = sha256(index);
  if (std::memcmp(a.hash.data(), stored.data(), 32) != 0)
    return fail(Errc::HashMismatch, fmt::format("{}: offset 24: archive hash mismatch: the index hashes to {}, the header says {}",
                                                 name, hex(a.hash), hex(stored)));
  ByteReader ir(index);
  std::set<std::string> seen;
  uint64_t expect = 0;
  for (uint32_t i = 0; i < n; ++i) {
    size_t at = kHeaderSize + ir.pos();
    if (ir.remaining() < kIndexEntryFixed) return bad(at, fmt::format("index truncated at entry {} of {}", i, n));
    Entry e;
    uint8_t type = ir.u8(), rsv = ir.u8();
    uint16_t nlen = ir.u16();
    uint64_t off = ir.u64(), size = ir.u64();
    ByteView sha = ir.take(32);
    if (nlen > ir.remaining()) return bad(at + 2, fmt::format("entry {}: name of {} bytes runs past the index", i, nlen));
    e.name = std::string(ir.str(nlen));
    std::string label = fmt::format("entry {} ('{}')", i, e.name);
    if (type < 1 || type > 3) return bad(at, fmt::format("{}: unknown entry type {}", label, type));
    if (rsv != 0) return bad(at + 1, fmt::format("{}: reserved byte is {}, must be 0", label, rsv));
    e.type = EntryType(type);
    if (nlen == 0 || nlen > kMaxEntryName) return bad(at + 2, fmt::format("entry {}: name length {} (1..{})", i, nlen, kMaxEntryName));
    if (auto why = check_entry_name(e.type, e.name)) return bad(at + kIndexEntryFixed, fmt::format("{}: {}", label, *why));
    if (!seen.insert(e.name).second) return bad(at + kIndexEntryFixed, fmt::format("duplicate entry '{}'", e.name));
    if (off != expect)
      return bad(at + 4, fmt::format("{}: data offset {} (entries must be contiguous: expected {})", label, off, expect));
    if (size > data_len - off)
      return bad(at + 12, fmt::format("{}: truncated: {} bytes at data offset {} run past the end of the data ({} bytes)", label,
                                      size, off, data_len));
    e.offset = data_start + off;
    ByteView body = p.subspan(size_t(e.offset), size_t(size));
    e.sha = sha256(body);
    if (std::memcmp(e.sha.data(), sha.data(), 32) != 0)
      return fail(Errc::HashMismatch, fmt::format("{}: offset {}: {}: SHA-256 mismatch: the data hashes to {}, the index says {}",
                                                   name, e.offset, label, hex(e.sha), hex(sha)));
    e.data.assign(body.begin(), body.end());
    expect = off + size;
    a.entries.push_back(std::move(e));
  }
  // "data/a" and "data/a/b" cannot both be extracted: one name would be a file and a directory.
  for (const auto& n : seen)
    if (auto it = seen.lower_bound(n + "/"); it != seen.end() && it->starts_with(n + "/"))
      return bad(kHeaderSize, fmt::format("entry '{}' is a file and also the directory of entry '{}'", n, *it));
  if (!ir.at_end()) return bad(kHeaderSize + ir.pos(), fmt::format("{} stray bytes after the last index entry", ir.remaining()));
  if (expect != data_len) return bad(data_start + expect, fmt::format("{} data bytes belong to no entry", data_len - expect));
  return a;
}

Result<Bytes> encode_pxa(Archive& a) {
  auto payload = encode_archive(a);
  if (!payload) return std::unexpected(payload.error());
  return image::encode_pxi(*payload, image::Kind::Archive);
}

Result<Archive> decode_pxa(ByteView file, std::string_view name) {
  auto img = image::decode_pxi(file, name);
  if (!img) return std::unexpected(img.error());
  if (img->kind != image::Kind::Archive)
    return failf(Errc::ArchiveInvalid, "{}: holds a {} payload, not an archive", name, image::kind_name(img->kind));
  return parse_archive(img->payload, name);
}

Result<Archive> load_pxa(const std::string& path) {
  auto file = read_file(path, image::kMaxPayload * 2);
  if (!file) return std::unexpected(file.error());
  return decode_pxa(*file, path);
}

}  // namespace pxos::hv
