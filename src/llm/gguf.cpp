// gguf.cpp: the GGUF parser. Counts and sizes are checked against what is left of the file
// before anything is allocated, so a hostile header fails with its offset instead of an OOM.
#include "llm/gguf.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/fs.hpp"

namespace pxos::llm {

const TypeInfo* type_info(uint32_t id) {
  static const struct { uint32_t id; TypeInfo t; } table[] = {
#define X(name, id, be, bb, sup) {id, {#name, be, bb, bool(sup)}},
#include "llm/ggml_types.def"
#undef X
  };
  for (auto& e : table) if (e.id == id) return &e.t;
  return nullptr;
}

const char* kv_type_name(KvType t) {
  static const char* n[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  return uint32_t(t) < 13 ? n[uint32_t(t)] : "?";
}

namespace {

struct Parser {
  ByteReader r;
  const std::string& what;
  std::unexpected<Error> bad(size_t at, std::string_view msg) const {
    return failf(Errc::ModelInvalid, "{}: offset {:#x}: {}", what, at, msg);
  }
  Result<std::string> string() {
    size_t at = r.pos();
    uint64_t n = r.u64();
    if (!r.ok()) return bad(at, "truncated string length");
    if (n > kMaxString || n > r.remaining()) return bad(at, fmt::format("string of {} bytes runs past the end", n));
    return std::string(r.str(size_t(n)));
  }
  Result<KvValue> value(KvType t, int depth) {
    size_t at = r.pos();
    KvValue v;
    v.type = t;
    switch (t) {
      case KvType::U8: v.v = uint64_t(r.u8()); break;
      case KvType::Bool: {
        uint8_t b = r.u8();
        if (r.ok() && b > 1) return bad(at, fmt::format("bool value {}", b));
        v.v = uint64_t(b);
        break;
      }
      case KvType::I8: v.v = int64_t(int8_t(r.u8())); break;
      case KvType::U16: v.v = uint64_t(r.u16()); break;
      case KvType::I16: v.v = int64_t(int16_t(r.u16())); break;
      case KvType::U32: v.v = uint64_t(r.u32()); break;
      case KvType::I32: v.v = int64_t(int32_t(r.u32())); break;
      case KvType::U64: v.v = r.u64(); break;
      case KvType::I64: v.v = int64_t(r.u64()); break;
      case KvType::F32: v.v = double(std::bit_cast<float>(r.u32())); break;
      case KvType::F64: v.v = std::bit_cast<double>(r.u64()); break;
      case KvType::String: {
        auto s = string();
        if (!s) return std::unexpected(s.error());
        v.v = std::move(*s);
        break;
      }
      case KvType::Array: {
        if (depth > 0) return bad(at, "nested array");
        uint32_t et = r.u32();
        uint64_t n = r.u64();
        if (!r.ok()) return bad(at, "truncated array header");
        if (et > uint32_t(KvType::F64)) return bad(at, fmt::format("unknown array element type {}", et));
        // Each element takes at least one byte: a count past the end is refused up front.
        if (n > kMaxArray || n > r.remaining()) return bad(at, fmt::format("array of {} elements runs past the end", n));
        v.elem = KvType(et);
        auto arr = std::make_shared<KvArray>();
        arr->reserve(size_t(n));
        for (uint64_t i = 0; i < n; ++i) {
          auto e = value(KvType(et), depth + 1);
          if (!e) return e;
          arr->push_back(std::move(*e));
        }
        v.v = std::move(arr);
        break;
      }
      default: return bad(at, fmt::format("unknown metadata type {}", uint32_t(t)));
    }
    if (!r.ok()) return bad(at, fmt::format("truncated {} value", kv_type_name(t)));
    return v;
  }
};

}  // namespace

Result<Gguf> parse_gguf(ByteView file, const std::string& what) {
  Parser p{ByteReader(file), what};
  Gguf g;
  if (file.size() < 4 || std::memcmp(file.data(), "GGUF", 4) != 0) return p.bad(0, "not a GGUF file (wrong magic)");
  p.r.u32();
  g.version = p.r.u32();
  uint64_t n_tensors = p.r.u64(), n_kv = p.r.u64();
  if (!p.r.ok()) return p.bad(4, "truncated header");
  if (g.version != 2 && g.version != 3) return p.bad(4, fmt::format("unsupported GGUF version {} (2 and 3 are read)", g.version));
  if (n_tensors > kMaxTensors) return p.bad(8, fmt::format("{} tensors is over the limit", n_tensors));
  if (n_kv > kMaxKvs) return p.bad(16, fmt::format("{} metadata entries is over the limit", n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    auto key = p.string();
    if (!key) return std::unexpected(key.error());
    size_t at = p.r.pos();
    uint32_t t = p.r.u32();
    if (!p.r.ok()) return p.bad(at, "truncated metadata type");
    if (t > uint32_t(KvType::F64)) return p.bad(at, fmt::format("unknown metadata type {} for '{}'", t, *key));
    auto v = p.value(KvType(t), 0);
    if (!v) return std::unexpected(v.error());
    if (g.find(*key)) return p.bad(at, fmt::format("duplicate key '{}'", *key));
    g.kvs.emplace_back(std::move(*key), std::move(*v));
  }
  if (auto* a = g.find("general.alignment")) {
    if (a->type != KvType::U32) return p.bad(0, "general.alignment is not a u32");
    g.alignment = std::get<uint64_t>(a->v);
    if (g.alignment == 0 || (g.alignment & (g.alignment - 1)) || g.alignment > 65536)
      return p.bad(0, fmt::format("general.alignment {} is not a power of two up to 65536", g.alignment));
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    size_t at = p.r.pos();
    TensorInfo t;
    auto name = p.string();
    if (!name) return std::unexpected(name.error());
    t.name = std::move(*name);
    uint32_t nd = p.r.u32();
    if (!p.r.ok()) return p.bad(at, "truncated tensor info");
    if (nd == 0 || nd > kMaxDims) return p.bad(at, fmt::format("tensor '{}' has {} dimensions", t.name, nd));
    t.n_elems = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t n = p.r.u64();
      if (n == 0 || n > (1ull << 40) || t.n_elems > (1ull << 40) / n)
        return p.bad(at, fmt::format("tensor '{}' has an impossible shape", t.name));
      t.dims.push_back(n);
      t.n_elems *= n;
    }
    t.type = p.r.u32();
    t.offset = p.r.u64();
    if (!p.r.ok()) return p.bad(at, "truncated tensor info");
    const TypeInfo* ti = type_info(t.type);
    if (!ti) return p.bad(at, fmt::format("tensor '{}' has unknown type {}", t.name, t.type));
    if (t.dims[0] % ti->block_elems) return p.bad(at, fmt::format("tensor '{}': row of {} is not a whole number of {} blocks", t.name, t.dims[0], ti->name));
    t.n_bytes = t.n_elems / ti->block_elems * ti->block_bytes;
    if (t.offset % g.alignment) return p.bad(at, fmt::format("tensor '{}' data offset {:#x} is not aligned", t.name, t.offset));
    if (g.tensor(t.name)) return p.bad(at, fmt::format("duplicate tensor '{}'", t.name));
    g.tensors.push_back(std::move(t));
  }
  uint64_t end = p.r.pos();
  g.data_offset = (end + g.alignment - 1) / g.alignment * g.alignment;
  for (auto& t : g.tensors) {
    uint64_t start = g.data_offset + t.offset;
    if (t.offset > file.size() || start > file.size() || t.n_bytes > file.size() - start)
      return p.bad(size_t(std::min<uint64_t>(start, UINT64_MAX)), fmt::format("tensor '{}' ({} bytes at data offset {:#x}) runs past the end of the file ({} bytes)",
                                  t.name, t.n_bytes, t.offset, file.size()));
    t.data = file.subspan(size_t(start), size_t(t.n_bytes));
  }
  return g;
}

const KvValue* Gguf::find(std::string_view key) const {
  for (auto& [k, v] : kvs) if (k == key) return &v;
  return nullptr;
}
const TensorInfo* Gguf::tensor(std::string_view name) const {
  for (auto& t : tensors) if (t.name == name) return &t;
  return nullptr;
}
Result<uint64_t> Gguf::get_uint(std::string_view key) const {
  auto* v = find(key);
  if (!v) return failf(Errc::ModelInvalid, "metadata '{}' is missing", key);
  if (auto* u = std::get_if<uint64_t>(&v->v); u && v->type != KvType::Bool) return *u;
  if (auto* i = std::get_if<int64_t>(&v->v); i && *i >= 0) return uint64_t(*i);
  return failf(Errc::ModelInvalid, "metadata '{}' is a {}, not an unsigned integer", key, kv_type_name(v->type));
}
Result<double> Gguf::get_float(std::string_view key) const {
  auto* v = find(key);
  if (!v) return failf(Errc::ModelInvalid, "metadata '{}' is missing", key);
  if (auto* d = std::get_if<double>(&v->v)) return *d;
  return failf(Errc::ModelInvalid, "metadata '{}' is a {}, not a float", key, kv_type_name(v->type));
}
Result<std::string> Gguf::get_string(std::string_view key) const {
  auto* v = find(key);
  if (!v) return failf(Errc::ModelInvalid, "metadata '{}' is missing", key);
  if (auto* s = std::get_if<std::string>(&v->v)) return *s;
  return failf(Errc::ModelInvalid, "metadata '{}' is a {}, not a string", key, kv_type_name(v->type));
}

std::string kv_to_string(const KvValue& v, size_t max_elems) {
  if (auto* a = std::get_if<std::shared_ptr<KvArray>>(&v.v)) {
    std::string s = fmt::format("[{} x {}]", (*a)->size(), kv_type_name(v.elem));
    for (size_t i = 0; i < (*a)->size() && i < max_elems; ++i) s += " " + kv_to_string((**a)[i], 0);
    if ((*a)->size() > max_elems) s += " …";
    return s;
  }
  if (v.type == KvType::Bool) return std::get<uint64_t>(v.v) ? "true" : "false";
  if (auto* u = std::get_if<uint64_t>(&v.v)) return std::to_string(*u);
  if (auto* i = std::get_if<int64_t>(&v.v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v.v)) return fmt::format("{}", *d);
  const auto& s = std::get<std::string>(v.v);
  return s.size() > 80 ? fmt::format("\"{}…\" ({} bytes)", s.substr(0, 80), s.size()) : "\"" + s + "\"";
}

std::unique_ptr<MappedFile> MappedFile::adopt(Bytes bytes) {
  std::unique_ptr<MappedFile> m(new MappedFile());
  m->buf_ = std::move(bytes);
  return m;
}

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path,
                                                     const std::function<void(uint64_t, uint64_t)>& progress) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return failf(Errc::Io, "{}: cannot open: {}", path, errno_text(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return failf(Errc::Io, "{}: not a regular file", path);
  }
  // Read, not mmap: a file shrinking under a mapping would SIGBUS; here it is a short read.
  std::unique_ptr<MappedFile> m(new MappedFile());
  m->buf_.resize(size_t(st.st_size));
  size_t got = 0;
  constexpr size_t kChunk = 8u << 20;  // progress granularity; a read of any size is as fast
  while (got < m->buf_.size()) {
    ssize_t n = ::read(fd, m->buf_.data() + got, std::min(kChunk, m->buf_.size() - got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : 0;
      ::close(fd);
      return failf(Errc::Io, "{}: read failed at offset {:#x}: {}", path, got, e ? errno_text(e) : "file shrank");
    }
    got += size_t(n);
    if (progress) progress(got, m->buf_.size());
  }
  ::close(fd);
  return m;
}
MappedFile::~MappedFile() = default;

}  // namespace pxos::llm
