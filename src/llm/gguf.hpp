// gguf.hpp: a bounds-checked reader of GGUF v2/v3 files (header, typed metadata, tensor infos,
// aligned tensor data). Every error names the byte offset where the file went wrong.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos::llm {

enum class GgmlType : uint32_t {
#define X(name, id, be, bb, sup) name = id,
#include "llm/ggml_types.def"
#undef X
};
struct TypeInfo { const char* name; uint32_t block_elems, block_bytes; bool supported; };
const TypeInfo* type_info(uint32_t id);  // nullptr: unknown id

// GGUF metadata value types (gguf_type).
enum class KvType : uint32_t { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 };
const char* kv_type_name(KvType);

struct KvValue;
using KvArray = std::vector<KvValue>;
struct KvValue {
  KvType type = KvType::U8;
  // Integers (signed as two's complement), floats, bools and strings; arrays hold elements.
  std::variant<uint64_t, int64_t, double, std::string, std::shared_ptr<KvArray>> v;
  KvType elem = KvType::U8;  // for arrays
};

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the contiguous (row) length
  uint32_t type = 0;
  uint64_t offset = 0;         // relative to the data section
  uint64_t n_elems = 0, n_bytes = 0;
  ByteView data;               // inside the file
};

// Limits that keep a hostile header from asking for unbounded memory.
inline constexpr uint64_t kMaxKvs = 1u << 16, kMaxTensors = 1u << 16, kMaxArray = 1u << 24,
                          kMaxString = 1u << 24, kMaxDims = 4;

struct Gguf {
  uint32_t version = 0;
  uint64_t alignment = 32, data_offset = 0;
  std::vector<std::pair<std::string, KvValue>> kvs;  // file order
  std::vector<TensorInfo> tensors;
  const KvValue* find(std::string_view key) const;
  const TensorInfo* tensor(std::string_view name) const;
  // Typed getters: a missing key or a wrong type is ModelInvalid naming the key.
  Result<uint64_t> get_uint(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<std::string> get_string(std::string_view key) const;
};

// Parses FILE (the whole mapped file; tensors point into it). `what` names it in errors.
Result<Gguf> parse_gguf(ByteView file, const std::string& what);
std::string kv_to_string(const KvValue&, size_t max_elems = 8);

// The bytes of a regular file, read whole (FIFOs, directories, devices are refused).
class MappedFile {
 public:
  // PROGRESS (optional) sees (bytes read, file size) as the file comes in (a progress bar).
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path,
                                                  const std::function<void(uint64_t, uint64_t)>& progress = {});
  // Bytes already in memory (a GGUF reassembled from a .pxa archive).
  static std::unique_ptr<MappedFile> adopt(Bytes bytes);
  ~MappedFile();
  ByteView bytes() const { return buf_; }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
 private:
  MappedFile() = default;
  Bytes buf_;
};

}  // namespace pxos::llm
