// object.cpp: the object header frame, zstd objects, verified reads, no-replace atomic writes
// (through the OS layer).
#include "godpixel/object.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/dynlib.hpp"
#include "common/fs.hpp"
#include "common/os.hpp"
#include "godpixel/config.hpp"
#include "godpixel/key.hpp"

namespace pxos::god {
namespace {

// libzstd is opened by the first object a command reads or writes (os::open_library), so that
// commands without a store (run, asm, hv) start without mapping it (issue 16, start-up).
struct Zstd {
#define PXOS_ZSTD_FNS(X)                                                                           \
  X(ZSTD_createDCtx) X(ZSTD_freeDCtx) X(ZSTD_createCCtx) X(ZSTD_freeCCtx) X(ZSTD_compressBound)    \
  X(ZSTD_compressCCtx) X(ZSTD_decompressDCtx) X(ZSTD_isError) X(ZSTD_getErrorName)                \
  X(ZSTD_findFrameCompressedSize) X(ZSTD_getFrameContentSize)
#define PXOS_ZSTD_MEMBER(fn) decltype(&::fn) fn = nullptr;
  PXOS_ZSTD_FNS(PXOS_ZSTD_MEMBER)
#undef PXOS_ZSTD_MEMBER
};

Result<Zstd> bind_zstd() {
  auto lib = os::open_library({"libzstd.so.1"}, "the god pixel store's compression (libzstd)", Errc::StoreError);
  if (!lib) return std::unexpected(lib.error());
  Zstd t{};
#define PXOS_ZSTD_BIND(fn) PXOS_DYNLIB_BIND(**lib, t, fn);
  PXOS_ZSTD_FNS(PXOS_ZSTD_BIND)
#undef PXOS_ZSTD_BIND
  return t;
}

// Loads the table once; every exported function that reaches zstd calls this first.
Result<const Zstd*> load_zstd() {
  static const Result<Zstd> t = bind_zstd();
  if (!t) return std::unexpected(t.error());
  return &*t;
}

// The table, for code reached only after load_zstd has succeeded.
const Zstd& zs() { return **load_zstd(); }


struct DctxFree { void operator()(ZSTD_DCtx* c) const { zs().ZSTD_freeDCtx(c); } };
struct CctxFree { void operator()(ZSTD_CCtx* c) const { zs().ZSTD_freeCCtx(c); } };

// One context per thread: a fresh context per call costs more than decoding a small program.
ZSTD_DCtx* dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> c(zs().ZSTD_createDCtx());
  return c.get();
}
ZSTD_CCtx* cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> c(zs().ZSTD_createCCtx());
  return c.get();
}

constexpr size_t kFixed = 60;       // header frame bytes after the 8-byte frame prefix, before text/claims
constexpr size_t kClaimBytes = 20;
constexpr uint8_t kHeaderVersion = 1;

void put_u64le(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint64_t get_u64le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

Bytes encode_header(const ObjectHeader& h) {
  size_t n = kFixed + h.generator.size() + kClaimBytes * h.claims.size();
  Bytes b(8 + n, 0);
  uint8_t* p = b.data();
  put_u32le(p, kHeaderFrameMagic);
  put_u32le(p + 4, uint32_t(n));
  std::memcpy(p + 8, "PXGH", 4);
  p[12] = kHeaderVersion;
  p[13] = h.method;
  p[14] = h.key_bits;
  put_u64le(p + 16, h.size);
  put_u64le(p + 24, h.generation);
  std::memcpy(p + 32, h.hash.data(), 32);
  p[64] = uint8_t(h.generator.size()), p[65] = uint8_t(h.generator.size() >> 8);
  p[66] = uint8_t(h.claims.size()), p[67] = uint8_t(h.claims.size() >> 8);
  std::memcpy(p + 68, h.generator.data(), h.generator.size());
  uint8_t* c = p + 68 + h.generator.size();
  for (const Claim& cl : h.claims) {
    put_u32le(c, cl.key);
    put_u32le(c + 4, cl.probes);
    put_u64le(c + 8, cl.created_ns);
    c[16] = uint8_t(cl.kind);
    c += kClaimBytes;
  }
  return b;
}

Result<std::optional<ObjectHeader>> parse_header(ByteView f, std::string_view name, size_t* consumed) {
  *consumed = 0;
  if (f.size() < 4 || (get_u32le(f.data()) & 0xFFFFFFF0u) != 0x184D2A50u) return std::optional<ObjectHeader>();
  auto bad = [&](size_t off, std::string_view what) {
    return failf(Errc::StoreError, "{}: offset {}: bad object header: {}", name, off, what);
  };
  if (get_u32le(f.data()) != kHeaderFrameMagic) return bad(0, "a skippable frame that is not a pxos header");
  if (f.size() < 8) return bad(4, "truncated before the frame size");
  uint32_t n = get_u32le(f.data() + 4);
  if (n > kMaxHeaderBytes) return bad(4, fmt::format("{} bytes is over the {} byte limit", n, kMaxHeaderBytes));
  if (n < kFixed) return bad(4, fmt::format("{} bytes is too short (at least {})", n, kFixed));
  if (f.size() - 8 < n) return bad(8, fmt::format("truncated: {} of {} bytes", f.size() - 8, n));
  const uint8_t* p = f.data();
  if (std::memcmp(p + 8, "PXGH", 4) != 0) return bad(8, "no PXGH tag");
  if (p[12] != kHeaderVersion) return bad(12, fmt::format("unknown version {}", p[12]));
  ObjectHeader h;
  h.method = p[13];
  h.key_bits = p[14];
  if (h.method > 1) return bad(13, fmt::format("unknown method {}", h.method));
  if (h.key_bits < 1 || h.key_bits > 32) return bad(14, fmt::format("bad key width {}", h.key_bits));
  if (p[15] != 0) return bad(15, "reserved byte is not zero");
  h.size = get_u64le(p + 16);
  h.generation = get_u64le(p + 24);
  std::memcpy(h.hash.data(), p + 32, 32);
  size_t g = size_t(p[64]) | size_t(p[65]) << 8, c = size_t(p[66]) | size_t(p[67]) << 8;
  if (kFixed + g + kClaimBytes * c != n)
    return bad(64, fmt::format("{} generator bytes and {} claims do not fill {} bytes", g, c, n));
  if (c == 0) return bad(66, "no claims");
  h.generator.assign(reinterpret_cast<const char*>(p + 68), g);
  if ((h.method == 1) != (g > 0)) return bad(64, "a generator goes with the seed method, and only with it");
  const uint8_t* q = p + 68 + g;
  for (size_t i = 0; i < c; ++i, q += kClaimBytes) {
    size_t off = size_t(q - p);
    Claim cl{get_u32le(q), get_u32le(q + 4), image::Kind(q[16]), get_u64le(q + 8)};
    if (cl.key > key_mask(h.key_bits)) return bad(off, fmt::format("key {} is wider than {} bits", key_hex(cl.key), h.key_bits));
    if (!image::kind_known(q[16]) || cl.kind == image::Kind::GodKey || cl.kind == image::Kind::GodBootstrap)
      return bad(off + 16, fmt::format("bad payload kind {}", q[16]));
    if (q[17] || q[18] || q[19]) return bad(off + 17, "reserved bytes are not zero");
    h.claims.push_back(cl);
  }
  *consumed = 8 + n;
  return std::optional<ObjectHeader>(std::move(h));
}

Result<Bytes> compress(ByteView payload, int level) {
  if (auto t = load_zstd(); !t) return std::unexpected(t.error());
  Bytes out(zs().ZSTD_compressBound(payload.size()));
  size_t n = zs().ZSTD_compressCCtx(cctx(), out.data(), out.size(), payload.data(), payload.size(), level);
  if (zs().ZSTD_isError(n)) return failf(Errc::Internal, "zstd compression failed: {}", zs().ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<Bytes> decompress_exact(ByteView z, uint64_t size, std::string_view name) {
  if (auto t = load_zstd(); !t) return std::unexpected(t.error());
  if (z.empty()) return failf(Errc::StoreError, "{}: empty zstd data", name);
  size_t frame = zs().ZSTD_findFrameCompressedSize(z.data(), z.size());
  if (zs().ZSTD_isError(frame))
    return failf(Errc::StoreError, "{}: not one complete zstd frame: {}", name, zs().ZSTD_getErrorName(frame));
  if (frame != z.size())
    return failf(Errc::StoreError, "{}: offset {}: {} bytes after the zstd frame", name, frame, z.size() - frame);
  unsigned long long declared = zs().ZSTD_getFrameContentSize(z.data(), z.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN)
    return failf(Errc::StoreError, "{}: zstd frame does not declare its content size", name);
  if (declared != size)
    return failf(Errc::StoreError, "{}: zstd frame declares {} bytes, expected {}", name, declared, size);
  Bytes out(size);
  size_t n = zs().ZSTD_decompressDCtx(dctx(), out.data(), out.size(), z.data(), z.size());
  if (zs().ZSTD_isError(n)) return failf(Errc::StoreError, "{}: corrupt zstd data: {}", name, zs().ZSTD_getErrorName(n));
  if (n != size) return failf(Errc::StoreError, "{}: zstd frame produced {} bytes, expected {}", name, n, size);
  return out;
}

Result<Bytes> decode_object(ByteView whole, const Sha256& want, std::string_view name, uint64_t max_size,
                            std::optional<ObjectHeader>* hdr_out) {
  if (auto t = load_zstd(); !t) return std::unexpected(t.error());
  size_t skip = 0;
  auto hdr = parse_header(whole, fmt::format("{}: corrupted object", name), &skip);
  if (!hdr) return std::unexpected(hdr.error());
  if (*hdr && (*hdr)->method != 0)
    return failf(Errc::StoreError, "{}: corrupted object: offset 13: a seed record where an object belongs", name);
  if (*hdr && (*hdr)->hash != want)
    return failf(Errc::HashMismatch, "{}: corrupted object: offset 32: its header names {}, not its name {}", name,
                 hex((*hdr)->hash), hex(want));
  ByteView file = whole.subspan(skip);
  if (file.size() < 4) return failf(Errc::StoreError, "{}: corrupted object: {} bytes is too short for a zstd frame", name, file.size());
  unsigned long long declared = zs().ZSTD_getFrameContentSize(file.data(), file.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return failf(Errc::StoreError, "{}: corrupted object: offset 0: not a zstd frame", name);
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
    return failf(Errc::StoreError, "{}: corrupted object: zstd frame does not declare its content size", name);
  if (declared > max_size)
    return failf(Errc::StoreError, "{}: corrupted object: declares {} bytes, over the {} byte limit", name, declared, max_size);
  if (*hdr && (*hdr)->size != declared)
    return failf(Errc::StoreError, "{}: corrupted object: offset 16: header says {} bytes, the zstd frame {}", name,
                 (*hdr)->size, declared);
  auto out = decompress_exact(file, declared, fmt::format("{}: corrupted object (offset {})", name, skip));
  if (!out) return out;
  Sha256 got = sha256(*out);
  if (got != want)
    return failf(Errc::HashMismatch, "{}: corrupted object: content hashes to {}, not its name {}", name, hex(got),
                 hex(want));
  if (hdr_out) *hdr_out = std::move(*hdr);
  return out;
}

Result<Bytes> read_object(const std::string& path, const Sha256& want, std::optional<ObjectHeader>* hdr) {
  if (auto t = load_zstd(); !t) return std::unexpected(t.error());
  int open_errno = 0;
  auto file = os::read_input(path, zs().ZSTD_compressBound(kMaxPayload) + kMaxHeaderBytes + 8,
                             os::InputOptions{.kind = Errc::StoreError, .no_follow = true, .open_errno = &open_errno});
  if (!file) {
    if (open_errno == ENOENT) return failf(Errc::NotFound, "{}: object is missing", path);
    if (open_errno == ELOOP) return failf(Errc::StoreError, "{}: object is a symbolic link (refused)", path);
    return failf(Errc::StoreError, "{}: corrupted object: {}", path, file.error().detail);
  }
  return decode_object(*file, want, path, kMaxPayload, hdr);
}

Result<std::optional<ObjectHeader>> read_header(const std::string& path) {
  auto fd = os::open_input(path, os::InputOptions{.kind = Errc::StoreError, .no_follow = true});
  if (!fd) return std::unexpected(fd.error());
  Bytes b(8 + kMaxHeaderBytes);
  ssize_t n = os::read_full(*fd, b.data(), 8);
  if (n == 8 && (get_u32le(b.data()) & 0xFFFFFFF0u) == 0x184D2A50u) {
    size_t want = std::min<size_t>(get_u32le(b.data() + 4), kMaxHeaderBytes + 1);  // one over: parse says why
    ssize_t m = os::read_full(*fd, b.data() + 8, std::min(want, kMaxHeaderBytes));
    n = m < 0 ? -1 : 8 + m;
  }
  int e = errno;
  ::close(*fd);
  if (n < 0) return failf(Errc::StoreError, "{}: read failed: {}", path, errno_text(e));
  size_t used = 0;
  return parse_header(ByteView(b.data(), size_t(n)), path, &used);
}

Result<bool> write_object(const std::string& path, const std::string& tmp_dir, ByteView z, const Sha256& want,
                          bool replace) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return failf(Errc::StoreError, "{}: cannot create directory: {}", dir, errno_text(errno));
  os::PublishOptions o{.mode = 0444, .kind = Errc::StoreError, .tmp_dir = tmp_dir, .no_replace = !replace,
                       .user_path = false};
  auto w = os::publish(path, z, o);
  if (!w) return std::unexpected(w.error());
  if (*w != os::Published::Existed) return false;
  // Someone stored it first (or a corrupt copy sits there): keep a good one, replace a bad one.
  if (read_object(path, want)) return false;
  o.no_replace = false;
  if (auto r = os::publish(path, z, o); !r)
    return failf(Errc::StoreError, "{}: cannot replace the corrupt object: {}", path, r.error().detail);
  return true;
}

}  // namespace pxos::god
