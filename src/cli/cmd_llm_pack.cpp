// cmd_llm_pack.cpp: `pxos llm pack model.gguf -o model.pxa`: the GGUF's header and every tensor as
// hashed entries of a .pxa archive (a PNG; `pxos god create` then gives it a one-pixel key). It
// prints the honest sizes: the GGUF, the PNG file, and the payload its pixels store.
#include <fmt/format.h>

#include <filesystem>

#include "cli/llm_cli.hpp"
#include "common/fs.hpp"
#include "common/os.hpp"
#include "image/pxi.hpp"

namespace pxos::cli {
namespace {

struct PackOpts {
  std::string model, out;
};

void pack(const PackOpts& o) {
  std::string out = o.out.empty() ? std::filesystem::path(o.model).replace_extension(".pxa").string() : o.out;
  Bytes png;
  hv::Archive a;
  uint64_t gguf_bytes = 0;
  {
    llmcli::ProgressBar bar;
    auto file = must(llm::MappedFile::open(o.model, [&](uint64_t d, uint64_t t) { bar(d, t, "reading"); }));
    gguf_bytes = file->bytes().size();
    a = must(llm::pack_gguf(file->bytes(), o.model, bar.feed()));
    // The model must load from what is written: the same checks as every llm command.
    must(llm::load_model(must(llm::parse_gguf(file->bytes(), o.model)), o.model));
    bar(0, 1, "encoding the PNG");
    png = must(hv::encode_pxa(a));
  }
  must(os::publish(out, png));
  const uint64_t payload = a.payload_bytes;
  fmt::print("{} -> {}: {} entries (manifest, header, {} tensors), archive {}\n", o.model, out, a.entries.size(),
             a.entries.size() - 2, hex(a.hash).substr(0, 16));
  fmt::print("sizes: GGUF {} bytes, PNG {} bytes ({:.3f} x the GGUF), stored in its pixels {} bytes (archive payload: "
             "header, index, entries)\n",
             gguf_bytes, png.size(), double(png.size()) / double(gguf_bytes), payload);
  fmt::print("the packed Q4_1/Q8_0 weights hardly compress: the PNG is about the GGUF's size; "
             "`pxos god create {}` stores it and writes a one-pixel key that names it (a reference, not compression)\n",
             out);
}

void setup(CLI::App& root) {
  auto* llm = root.get_subcommand("llm");
  static PackOpts p;
  auto* c = llm->add_subcommand("pack", "store a GGUF's metadata and every tensor as hashed entries of a .pxa archive (PNG)");
  c->add_option("model", p.model, "the .gguf file")->required();
  c->add_option("-o,--output", p.out, "the archive (default: MODEL with .pxa)");
  c->callback([] { pack(p); });
}

const Register reg(88, {"llm"}, setup);  // after cmd_llm.cpp (85), which creates `llm`

}  // namespace
}  // namespace pxos::cli
