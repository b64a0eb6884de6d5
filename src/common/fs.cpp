// fs.cpp: size-capped reads and atomic writes: thin names over the OS layer (os.cpp).
#include "common/fs.hpp"

#include <cstring>

#include "common/os.hpp"

namespace pxos {

std::string errno_text(int err) { return std::strerror(err); }

Result<Bytes> read_file(const std::string& path, uint64_t max_bytes) {
  return os::read_input(path, max_bytes);
}

Result<std::string> read_text(const std::string& path, uint64_t max_bytes) {
  auto b = read_file(path, max_bytes);
  if (!b) return std::unexpected(b.error());
  return std::string(b->begin(), b->end());
}

Status write_file_atomic(const std::string& path, ByteView data, int mode) {
  auto r = os::publish(path, data, os::PublishOptions{.mode = mode});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace pxos
