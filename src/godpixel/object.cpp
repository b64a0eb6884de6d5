// object.cpp: zstd objects, verified reads, no-replace atomic writes (through the OS layer).
#include "godpixel/object.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/fs.hpp"
#include "common/os.hpp"
#include "godpixel/config.hpp"

namespace pxos::god {
namespace {

struct DctxFree { void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); } };
struct CctxFree { void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); } };

// One context per thread: a fresh context per call costs more than decoding a small program.
ZSTD_DCtx* dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> c(ZSTD_createDCtx());
  return c.get();
}
ZSTD_CCtx* cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> c(ZSTD_createCCtx());
  return c.get();
}

}  // namespace

Result<Bytes> compress(ByteView payload, int level) {
  Bytes out(ZSTD_compressBound(payload.size()));
  size_t n = ZSTD_compressCCtx(cctx(), out.data(), out.size(), payload.data(), payload.size(), level);
  if (ZSTD_isError(n)) return failf(Errc::Internal, "zstd compression failed: {}", ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<Bytes> decompress_exact(ByteView z, uint64_t size, std::string_view name) {
  if (z.empty()) return failf(Errc::StoreError, "{}: empty zstd data", name);
  size_t frame = ZSTD_findFrameCompressedSize(z.data(), z.size());
  if (ZSTD_isError(frame))
    return failf(Errc::StoreError, "{}: not one complete zstd frame: {}", name, ZSTD_getErrorName(frame));
  if (frame != z.size())
    return failf(Errc::StoreError, "{}: offset {}: {} bytes after the zstd frame", name, frame, z.size() - frame);
  unsigned long long declared = ZSTD_getFrameContentSize(z.data(), z.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN)
    return failf(Errc::StoreError, "{}: zstd frame does not declare its content size", name);
  if (declared != size)
    return failf(Errc::StoreError, "{}: zstd frame declares {} bytes, expected {}", name, declared, size);
  Bytes out(size);
  size_t n = ZSTD_decompressDCtx(dctx(), out.data(), out.size(), z.data(), z.size());
  if (ZSTD_isError(n)) return failf(Errc::StoreError, "{}: corrupt zstd data: {}", name, ZSTD_getErrorName(n));
  if (n != size) return failf(Errc::StoreError, "{}: zstd frame produced {} bytes, expected {}", name, n, size);
  return out;
}

Result<Bytes> decode_object(ByteView file, const Sha256& want, std::string_view name, uint64_t max_size) {
  if (file.size() < 4) return failf(Errc::StoreError, "{}: corrupted object: {} bytes is too short for a zstd frame", name, file.size());
  unsigned long long declared = ZSTD_getFrameContentSize(file.data(), file.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return failf(Errc::StoreError, "{}: corrupted object: offset 0: not a zstd frame", name);
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
    return failf(Errc::StoreError, "{}: corrupted object: zstd frame does not declare its content size", name);
  if (declared > max_size)
    return failf(Errc::StoreError, "{}: corrupted object: declares {} bytes, over the {} byte limit", name, declared, max_size);
  auto out = decompress_exact(file, declared, fmt::format("{}: corrupted object", name));
  if (!out) return out;
  Sha256 got = sha256(*out);
  if (got != want)
    return failf(Errc::HashMismatch, "{}: corrupted object: content hashes to {}, not its name {}", name, hex(got),
                 hex(want));
  return out;
}

Result<Bytes> read_object(const std::string& path, const Sha256& want) {
  int open_errno = 0;
  auto file = os::read_input(path, ZSTD_compressBound(kMaxPayload),
                             os::InputOptions{.kind = Errc::StoreError, .no_follow = true, .open_errno = &open_errno});
  if (!file) {
    if (open_errno == ENOENT) return failf(Errc::NotFound, "{}: object is missing", path);
    if (open_errno == ELOOP) return failf(Errc::StoreError, "{}: object is a symbolic link (refused)", path);
    return failf(Errc::StoreError, "{}: corrupted object: {}", path, file.error().detail);
  }
  return decode_object(*file, want, path, kMaxPayload);
}

Result<bool> write_object(const std::string& path, const std::string& tmp_dir, ByteView z, const Sha256& want) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return failf(Errc::StoreError, "{}: cannot create directory: {}", dir, errno_text(errno));
  os::PublishOptions o{.mode = 0444, .kind = Errc::StoreError, .tmp_dir = tmp_dir, .no_replace = true};
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
