// fs.hpp: whole-file reads with a size cap, and atomic writes: the common names for the OS
// layer's read_input and publish (os.hpp), so no command ever leaves a half-written file.
#pragma once
#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace pxos {

inline constexpr uint64_t kMaxInputBytes = 256ull << 20;  // refuse inputs over 256 MiB

Result<Bytes> read_file(const std::string& path, uint64_t max_bytes = kMaxInputBytes);
Result<std::string> read_text(const std::string& path, uint64_t max_bytes = kMaxInputBytes);
// Regular files only (a FIFO or device is refused without blocking).
// os::publish: "-" is stdout, a FIFO/char device is written into, a regular file is replaced
// atomically, anything else is refused. On any failure PATH is untouched.
Status write_file_atomic(const std::string& path, ByteView data, int mode = 0644);
inline Status write_file_atomic(const std::string& path, std::string_view s, int mode = 0644) {
  return write_file_atomic(path, as_bytes(s), mode);
}
std::string errno_text(int err);

}  // namespace pxos
