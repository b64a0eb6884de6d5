// fuzz_archive.cpp: the .pxa reader (raw payload, or a whole PNG when the input starts with the
// PNG signature), then everything after it: manifest, modules, link, entry analysis, and a short
// run of each entrypoint with small limits. Any input must give a clean error or a clean run.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/bytes.hpp"
#include "hv/archive.hpp"
#include "hv/hypervisor.hpp"

namespace {
using namespace pxos;

// Mutations almost always break a hash, which would stop every input at the hash checks. So a
// second copy gets its entry hashes and its index hash recomputed (where the declared offsets
// and sizes lie inside the input), which lets mutations reach the manifest, modules and linker.
Bytes rehashed(ByteView in) {
  Bytes p(in.begin(), in.end());
  if (p.size() < hv::kHeaderSize || std::memcmp(p.data(), "PXAR", 4) != 0) return p;
  uint32_t n = get_u32le(p.data() + 8), index_len = get_u32le(p.data() + 12);
  if (index_len > p.size() - hv::kHeaderSize) return p;
  size_t data_start = hv::kHeaderSize + index_len, at = hv::kHeaderSize;
  for (uint32_t i = 0; i < n && at + hv::kIndexEntryFixed <= data_start; ++i) {
    ByteReader r(ByteView(p).subspan(at + 2));
    uint16_t nlen = r.u16();
    uint64_t off = r.u64(), sz = r.u64();
    if (off <= p.size() - data_start && sz <= p.size() - data_start - off) {
      Sha256 h = sha256(ByteView(p).subspan(data_start + off, sz));
      std::memcpy(p.data() + at + 20, h.data(), 32);
    }
    at += hv::kIndexEntryFixed + nlen;
  }
  Sha256 ih = sha256(ByteView(p).subspan(hv::kHeaderSize, index_len));
  std::memcpy(p.data() + 24, ih.data(), 32);
  return p;
}

void exercise(Result<hv::Archive> a) {
  if (!a) return;
  hv::ValidateOptions vo;
  vo.check_policy = false;
  auto img = hv::open_archive(std::move(*a), "fuzz.pxa", vo);
  if (!img) return;
  auto& L = img->manifest.limits;  // keep each run short whatever the manifest asks for
  L.max_steps = std::min<uint64_t>(L.max_steps, 20000);
  L.max_output_bytes = std::min<uint64_t>(L.max_output_bytes, 4096);
  L.timeout_ms = std::min<uint64_t>(L.timeout_ms, 200);
  hv::Policy all;
  all.grant = ~0u;
  for (const auto& e : img->entries) {
    hv::RunRequest req;
    req.entry = e.name;
    req.input = nullptr;
    req.output = [](std::string_view) {};
    (void)hv::run(*img, all, req);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  bool png = size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
  if (png) {
    exercise(hv::decode_pxa(in, "fuzz.pxa"));
    return 0;
  }
  exercise(hv::parse_archive(in, "fuzz.pxa"));
  Bytes fixed = rehashed(in);
  exercise(hv::parse_archive(fixed, "fuzz.pxa"));
  return 0;
}
