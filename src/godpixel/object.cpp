// object.cpp: zstd objects, verified reads, no-replace atomic writes.
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

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failf(Errc::Io, "{}: cannot open directory: {}", dir, errno_text(errno));
  int r = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (r != 0) return failf(Errc::Io, "{}: fsync failed: {}", dir, errno_text(e));
  return {};
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
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return failf(Errc::NotFound, "{}: object is missing", path);
    if (e == ELOOP) return failf(Errc::StoreError, "{}: object is a symbolic link (refused)", path);
    return failf(Errc::Io, "{}: cannot open object: {}", path, errno_text(e));
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return failf(Errc::StoreError, "{}: object is not a regular file", path);
  }
  uint64_t cap = ZSTD_compressBound(kMaxPayload);
  if (uint64_t(st.st_size) > cap) {
    ::close(fd);
    return failf(Errc::StoreError, "{}: corrupted object: {} bytes is over the {} byte limit", path, uint64_t(st.st_size), cap);
  }
  Bytes file(size_t(st.st_size));
  size_t off = 0;
  while (off < file.size()) {
    ssize_t n = ::read(fd, file.data() + off, file.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      return failf(Errc::Io, "{}: read failed: {}", path, n < 0 ? errno_text(e) : "file shrank while reading");
    }
    off += size_t(n);
  }
  ::close(fd);
  return decode_object(file, want, path, kMaxPayload);
}

Result<bool> write_object(const std::string& path, const std::string& tmp_dir, ByteView z, const Sha256& want) {
  std::filesystem::path p(path);
  std::string dir = p.parent_path().string();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return failf(Errc::StoreError, "{}: cannot create directory: {}", dir, errno_text(errno));
  std::string tmpl = tmp_dir + "/obj." + p.filename().string().substr(0, 16) + ".XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);  // O_CREAT|O_EXCL: never follows or reuses a path
  if (fd < 0) return failf(Errc::StoreError, "{}: cannot create a temp file: {}", tmp_dir, errno_text(errno));
  auto bail = [&](const char* what, int e) {
    ::close(fd);
    ::unlink(name.data());
    return failf(Errc::StoreError, "{}: {}: {}", path, what, errno_text(e));
  };
  size_t off = 0;
  while (off < z.size()) {
    ssize_t n = ::write(fd, z.data() + off, z.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bail("write failed", errno);
    off += size_t(n);
  }
  if (::fchmod(fd, 0444) != 0) return bail("chmod failed", errno);
  if (::fsync(fd) != 0) return bail("fsync failed", errno);
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(name.data());
    return failf(Errc::StoreError, "{}: close failed: {}", path, errno_text(e));
  }
  bool repaired = false;
  if (::link(name.data(), path.c_str()) != 0) {
    int e = errno;
    if (e != EEXIST) {
      ::unlink(name.data());
      return failf(Errc::StoreError, "{}: link failed: {}", path, errno_text(e));
    }
    // Someone stored it first (or a corrupt copy sits there): keep a good one, replace a bad one.
    if (read_object(path, want)) {
      ::unlink(name.data());
      return false;
    }
    if (::rename(name.data(), path.c_str()) != 0) {
      int e2 = errno;
      ::unlink(name.data());
      return failf(Errc::StoreError, "{}: cannot replace the corrupt object: {}", path, errno_text(e2));
    }
    repaired = true;
  } else {
    ::unlink(name.data());
  }
  if (auto s = fsync_dir(dir); !s) return std::unexpected(s.error());
  return repaired;
}

}  // namespace pxos::god
