// helpers.hpp: building archives for the hypervisor tests: from sources in memory, from the
// demo directory, and raw payloads written byte by byte (to forge what the writer refuses).
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "asm/assembler.hpp"
#include "common/bytes.hpp"
#include "hv/archive.hpp"
#include "hv/hypervisor.hpp"
#include "image/pxi.hpp"

namespace pxos::hv::test {

inline const std::string kSourceDir = PXOS_SOURCE_DIR_STR;
inline const std::string kDemoDir = kSourceDir + "/examples/demo-archive";

inline isa::Module assemble(const std::string& src, const std::string& file) {
  auto m = assembler::assemble(src, file);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().detail);
  return m ? *m : isa::Module{};
}

// An archive from a manifest text and module sources {name -> .pxasm text}.
inline Archive make_archive(const std::string& manifest, const std::map<std::string, std::string>& modules) {
  Archive a;
  a.entries.push_back({EntryType::Manifest, "manifest.json", Bytes(manifest.begin(), manifest.end()), {}, 0});
  for (const auto& [name, src] : modules)
    a.entries.push_back({EntryType::Module, name, isa::serialize(assemble(src, name + ".pxasm")).value(), {}, 0});
  return a;
}

inline Bytes make_pxa(const std::string& manifest, const std::map<std::string, std::string>& modules) {
  Archive a = make_archive(manifest, modules);
  auto png = encode_pxa(a);
  EXPECT_TRUE(png.has_value()) << (png ? "" : png.error().detail);
  return png ? *png : Bytes{};
}

// A manifest with one "default" entry and the given runtime body.
inline std::string manifest_with(const std::string& entrypoints, const std::string& caps = "[]",
                                 const std::string& limits = R"({"max_steps": 1000000})") {
  return R"({"name": "t", "version": "1.0.0", "entrypoints": )" + entrypoints +
         R"(, "runtime": {"vm_version": ">=1", "capabilities": )" + caps + R"(, "limits": )" + limits + "}}";
}

// Raw payload writer, independent of encode_archive (it follows docs/pxa-format.md), so tests can
// forge duplicates, bad offsets and bad hashes that the writer would refuse.
struct RawEntry {
  uint8_t type = 3;
  std::string name;
  Bytes data;
  std::optional<uint64_t> offset;  // default: contiguous
  std::optional<Sha256> sha;       // default: the real hash
};
inline Bytes raw_payload(const std::vector<RawEntry>& es, bool fix_index_hash = true) {
  Bytes index, data;
  ByteWriter iw(index);
  for (const auto& e : es) {
    iw.u8(e.type);
    iw.u8(0);
    iw.u16(uint16_t(e.name.size()));
    iw.u64(e.offset.value_or(data.size()));
    iw.u64(e.data.size());
    iw.bytes(e.sha.value_or(sha256(e.data)));
    iw.str(e.name);
    data.insert(data.end(), e.data.begin(), e.data.end());
  }
  Bytes out;
  ByteWriter w(out);
  w.str("PXAR");
  w.u16(1);
  w.u16(0);
  w.u32(uint32_t(es.size()));
  w.u32(uint32_t(index.size()));
  w.u64(data.size());
  Sha256 h = fix_index_hash ? sha256(index) : Sha256{};
  w.bytes(h);
  w.bytes(index);
  w.bytes(data);
  return out;
}

inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace pxos::hv::test
