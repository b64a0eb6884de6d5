// model.hpp: a llama model described by a parsed GGUF: the hyper-parameters from the llama.*
// metadata and every weight by name, shape-checked, kept PACKED as views into the file's bytes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llm/gguf.hpp"

namespace pxos::llm {

struct Hparams {
  uint32_t n_vocab = 0, n_ctx = 0, dim = 0, n_ff = 0, n_layer = 0, n_head = 0, n_kv_head = 0, head_dim = 0;
  float rope_base = 10000.0f, rms_eps = 1e-5f;
  uint32_t kv_dim() const { return n_kv_head * head_dim; }
};

// A packed matrix of `rows` rows of `cols` elements (ggml dims [cols, rows]); a vector has rows 1.
struct Weight {
  std::string name;
  GgmlType type = GgmlType::F32;
  uint64_t cols = 0, rows = 0;
  size_t stride = 0;             // bytes per row
  const uint8_t* data = nullptr;  // inside the file
  const uint8_t* row(uint64_t r) const { return data + r * stride; }
};

struct Layer {
  Weight attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
};

struct Model {
  Hparams hp;
  Weight tok_embd, output_norm, output;  // output is tok_embd when the head is tied
  bool tied_output = false;
  std::vector<Layer> layers;
  std::vector<std::string> vocab;  // token strings as stored (GPT-2 byte alphabet), for display
  int32_t bos_id = -1, eos_id = -1;
};

// Builds the model from G (whose tensor views must outlive it). `what` names the file in errors:
// a missing or out-of-range key names the key, a missing or mis-shaped tensor names the tensor.
Result<Model> load_model(const Gguf& g, const std::string& what);

// A model and the file bytes it points into, read from PATH.
struct ModelFile {
  std::unique_ptr<MappedFile> file;
  Gguf gguf;
  Model model;
};
Result<std::unique_ptr<ModelFile>> open_model(const std::string& path);

}  // namespace pxos::llm
