// boot_modules.cpp: resolves `--module` specs for mailboxd's MODULE opcode. Each request
// resolves its spec afresh (the file may have changed since boot started): load_module for
// .pxasm, .pxi and god-pixel keys (their resolvers check the store and every hash), the
// hypervisor's full validation for ARCHIVE.pxa:ENTRY (index and entry hashes, manifest, link).
#include "cli/boot_modules.hpp"

#include "cli/loader.hpp"
#include "hv/hypervisor.hpp"
#include "isa/module.hpp"
#include "vm/limits.hpp"

namespace pxos::cli {

namespace {

Result<mailbox::BootModule> resolve(const std::string& spec, const BootDefaults& d) {
  mailbox::BootModule bm;
  bm.caps = d.caps;
  bm.seed = d.seed ? d.seed : vm::HostEnv{}.seed;
  bm.max_steps = d.max_steps;
  bm.max_output = d.max_output;
  bm.memory_words = d.memory_words ? d.memory_words : vm::kDefaultMemoryWords;
  // ARCHIVE.pxa:ENTRY (the entry names an entrypoint of its manifest)
  if (auto colon = spec.rfind(':'); colon != std::string::npos && spec.substr(0, colon).ends_with(".pxa")) {
    std::string path = spec.substr(0, colon), entry = spec.substr(colon + 1);
    hv::ValidateOptions vo;
    vo.entry = entry;
    auto img = hv::open_image_file(path, vo);
    if (!img) return std::unexpected(img.error());
    const hv::EntryInfo* e = img->entry(entry);
    if (!e) return failf(Errc::NotFound, "{}: no entrypoint '{}' (entrypoints: {})", path, entry, img->manifest.entry_names());
    auto bytes = isa::serialize(img->linked.module);
    if (!bytes) return std::unexpected(bytes.error());
    bm.pxbc = std::move(*bytes);
    bm.entry = e->offset;
    bm.caps = e->needs & img->manifest.caps;  // what the entry reaches, as far as the manifest grants
    const auto& L = img->manifest.limits;
    if (L.max_steps) bm.max_steps = L.max_steps;
    if (L.max_output_bytes) bm.max_output = L.max_output_bytes;
    if (L.memory_words) bm.memory_words = L.memory_words;
    return bm;
  }
  auto m = load_module(spec);
  if (!m) return std::unexpected(m.error());
  auto bytes = isa::serialize(*m);
  if (!bytes) return std::unexpected(bytes.error());
  bm.pxbc = std::move(*bytes);
  return bm;
}

const bool registered = [] {
  module_source_factory() = [](std::vector<std::string> specs, BootDefaults d) -> mailbox::ModuleSource {
    return [specs = std::move(specs), d](uint32_t n) -> std::optional<Result<mailbox::BootModule>> {
      if (n >= specs.size()) return std::nullopt;
      auto r = resolve(specs[n], d);
      if (!r) r.error().detail = specs[n] + ": " + r.error().detail;
      return r;
    };
  };
  return true;
}();

}  // namespace
}  // namespace pxos::cli
