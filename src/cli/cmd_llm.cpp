// cmd_llm.cpp: `pxos llm info MODEL`: a GGUF model's architecture, shapes, quant types, sizes
// and chat template. Unsupported architectures and tensor types are named, not guessed.
#include <fmt/format.h>

#include <map>

#include "cli/command.hpp"
#include "llm/gguf.hpp"

namespace pxos::cli {
namespace {

// Architectures the engine runs; anything else is named in the error.
constexpr std::string_view kArchitectures[] = {"llama"};

void info(const std::string& path, bool all_kvs) {
  auto file = must(llm::MappedFile::open(path));
  auto g = must(llm::parse_gguf(file->bytes(), path));
  std::string arch = must(g.get_string("general.architecture"));
  bool known = false;
  for (auto a : kArchitectures) known |= a == arch;
  if (!known) throw Failure({Errc::Unsupported, fmt::format("{}: architecture '{}' is not supported (llama is)", path, arch)});
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // type -> (tensors, bytes)
  uint64_t params = 0;
  for (auto& t : g.tensors) {
    auto* ti = llm::type_info(t.type);
    if (!ti->supported) throw Failure({Errc::Unsupported, fmt::format("{}: tensor '{}' has type {}, which the engine does not dequantize", path, t.name, ti->name)});
    auto& e = by_type[ti->name];
    e.first++;
    e.second += t.n_bytes;
    params += t.n_elems;
  }
  fmt::print("file: {} ({} bytes, GGUF v{}, alignment {})\n", path, file->bytes().size(), g.version, g.alignment);
  fmt::print("architecture: {}   name: {}\n", arch, g.find("general.name") ? llm::kv_to_string(*g.find("general.name")) : "-");
  for (auto k : {"context_length", "embedding_length", "feed_forward_length", "block_count", "attention.head_count",
                 "attention.head_count_kv", "rope.freq_base", "attention.layer_norm_rms_epsilon"}) {
    auto* v = g.find(arch + "." + k);
    fmt::print("  {:<34} {}\n", k, v ? llm::kv_to_string(*v) : "(missing)");
  }
  fmt::print("tensors: {} ({} parameters)\n", g.tensors.size(), params);
  for (auto& [n, e] : by_type) fmt::print("  {:<5} {:>4} tensors {:>12} bytes\n", n, e.first, e.second);
  if (auto* t = g.find("tokenizer.ggml.tokens"))
    fmt::print("tokenizer: {} ({}), pre {}, {} tokens\n", g.find("tokenizer.ggml.model") ? llm::kv_to_string(*g.find("tokenizer.ggml.model")) : "-",
               "byte-level BPE", g.find("tokenizer.ggml.pre") ? llm::kv_to_string(*g.find("tokenizer.ggml.pre")) : "-",
               std::get<std::shared_ptr<llm::KvArray>>(t->v)->size());
  if (auto ct = g.get_string("tokenizer.chat_template")) fmt::print("chat template:\n{}\n", *ct);
  if (all_kvs) {
    fmt::print("metadata:\n");
    for (auto& [k, v] : g.kvs) fmt::print("  {} = {}\n", k, llm::kv_to_string(v));
    for (auto& t : g.tensors)
      fmt::print("  tensor {} {} [{}] at {:#x}\n", t.name, llm::type_info(t.type)->name, fmt::join(t.dims, ","), g.data_offset + t.offset);
  }
}

void setup(CLI::App& root) {
  auto* llm = root.add_subcommand("llm", "the Pixel LLM engine: GGUF models (SmolLM2-135M-Instruct)");
  llm->require_subcommand(1);
  auto* i = llm->add_subcommand("info", "architecture, shapes, quant types, sizes, chat template of a GGUF");
  static std::string path;
  static bool all = false;
  i->add_option("model", path, "the .gguf file")->required();
  i->add_flag("--all", all, "also every metadata key and tensor");
  i->callback([] { info(path, all); });
}

const Register reg(85, setup);

}  // namespace
}  // namespace pxos::cli
