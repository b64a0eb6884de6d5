// source.hpp: the ONE loader of every llm command: a model named by a .gguf file, a .pxa archive
// made by `pxos llm pack` (the GGUF's header and every tensor as hashed entries, in a PNG), or a
// god-pixel key to such an archive. All three give the same GGUF bytes, hence the same logits.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "hv/archive.hpp"
#include "llm/model.hpp"

namespace pxos::llm {

enum class SourceKind { Gguf, Pxa, Key };
const char* source_kind_name(SourceKind k);

// (done, total, phase): a progress bar's feed while a large file is read or packed.
using Progress = std::function<void(uint64_t, uint64_t, const char*)>;

struct LoadedModel {
  SourceKind kind = SourceKind::Gguf;
  uint64_t file_bytes = 0;         // the file named (GGUF, PNG archive or key image)
  std::unique_ptr<MappedFile> gguf_bytes;  // the GGUF bytes (read, or reassembled from the archive)
  Gguf gguf;                       // views into gguf_bytes
};

// Reads PATH (a regular file; FIFOs, directories, devices are refused) and parses the GGUF,
// whichever of the three forms it is. Key images are looked up in STORE_DIR (empty: the default
// store, PXOS_STORE). Each error is one line naming the file and what is wrong.
Result<LoadedModel> load_gguf_source(const std::string& path, const std::string& store_dir = {},
                                     const Progress& progress = {});

// load_gguf_source, then the llama model on it (llm run / chat / eval use this).
struct SourceModel {
  LoadedModel src;
  Model model;
};
Result<std::unique_ptr<SourceModel>> open_model_source(const std::string& path, const std::string& store_dir = {},
                                                       const Progress& progress = {});

// The archive of a GGUF: "manifest.json" (format, GGUF size and SHA-256, tensor count), entry
// "data/gguf/header" (every byte before the data section) and "data/gguf/tensor/<name>" per
// tensor, in file order. Refused when the file would not come back byte for byte (non-zero bytes
// between tensors) or a tensor name cannot be an entry name.
inline constexpr std::string_view kPackFormat = "pxos-llm-gguf";
inline constexpr std::string_view kHeaderEntry = "data/gguf/header";
inline constexpr std::string_view kTensorPrefix = "data/gguf/tensor/";
Result<hv::Archive> pack_gguf(ByteView gguf, const std::string& what, const Progress& progress = {});
// The GGUF bytes back from such an archive: every entry checked (sizes against the header, no
// entry missing or extra, the whole file against the manifest's SHA-256).
Result<Bytes> unpack_gguf(const hv::Archive& a, const std::string& what);

}  // namespace pxos::llm
