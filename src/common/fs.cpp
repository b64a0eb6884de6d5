// fs.cpp: size-capped reads and atomic writes on POSIX.
#include "common/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace pxos {

std::string errno_text(int err) { return std::strerror(err); }

Result<Bytes> read_file(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failf(Errc::Io, "{}: cannot open: {}", path, errno_text(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return failf(Errc::Io, "{}: not a regular file", path);
  }
  Bytes out;
  if (S_ISREG(st.st_mode)) {
    if (uint64_t(st.st_size) > max_bytes) {
      ::close(fd);
      return failf(Errc::TooLarge, "{}: {} bytes is over the {} byte limit", path,
                   uint64_t(st.st_size), max_bytes);
    }
    out.reserve(size_t(st.st_size));
  }
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return failf(Errc::Io, "{}: read failed: {}", path, errno_text(e));
    }
    if (n == 0) break;
    if (out.size() + size_t(n) > max_bytes) {
      ::close(fd);
      return failf(Errc::TooLarge, "{}: over the {} byte limit", path, max_bytes);
    }
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

Result<std::string> read_text(const std::string& path, uint64_t max_bytes) {
  auto b = read_file(path, max_bytes);
  if (!b) return std::unexpected(b.error());
  return std::string(b->begin(), b->end());
}

Status write_file_atomic(const std::string& path, ByteView data, int mode) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string tmpl = (std::filesystem::path(dir) / ("." + p.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return failf(Errc::Io, "{}: cannot create temp file: {}", path, errno_text(errno));
  auto bail = [&](const char* what) {
    int e = errno;
    ::close(fd);
    ::unlink(name.data());
    return failf(Errc::Io, "{}: {}: {}", path, what, errno_text(e));
  };
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return bail("write failed");
    }
    off += size_t(n);
  }
  if (::fchmod(fd, mode_t(mode)) != 0) return bail("chmod failed");
  if (::fsync(fd) != 0) return bail("fsync failed");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(name.data());
    return failf(Errc::Io, "{}: close failed: {}", path, errno_text(e));
  }
  if (::rename(name.data(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(name.data());
    return failf(Errc::Io, "{}: rename failed: {}", path, errno_text(e));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace pxos
