// protocol.hpp: the mailbox protocol (protocol.def) as C++: constants, the shared-area layout
// as structs whose offsets are checked against the table at compile time, command-word helpers
// and one row list that the NASM generator, the docs and the agreement test all walk.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pxos::mailbox {

namespace c {  // constants
#define MB_CONST(name, value, doc) inline constexpr uint32_t name = value;
#include "mailbox/protocol.def"
}  // namespace c
namespace reg {  // register offsets
#define MB_REG(name, offset, field, writer, doc) inline constexpr uint32_t name = offset;
#include "mailbox/protocol.def"
}  // namespace reg
namespace st {  // STATUS bits
#define MB_STATUS(name, value, doc) inline constexpr uint32_t name = value;
#include "mailbox/protocol.def"
}  // namespace st
namespace flag {  // RING_FLAGS bits
#define MB_FLAG(name, value, doc) inline constexpr uint32_t name = value;
#include "mailbox/protocol.def"
}  // namespace flag
namespace op {  // opcodes
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) inline constexpr uint8_t name = byte;
#include "mailbox/protocol.def"
}  // namespace op
namespace err {  // error codes
#define MB_ERR(name, code, doc) inline constexpr uint16_t name = code;
#include "mailbox/protocol.def"
}  // namespace err
namespace sys {  // SYSCALL numbers
#define MB_SYS(name, number, handler, gpu, doc) inline constexpr uint16_t name = number;
#include "mailbox/protocol.def"
}  // namespace sys

// ---- what the rows say about each opcode and syscall byte --------------------------------
namespace detail {
// Not constexpr: reaching it while building a table below is a compile error that names the
// problem (a throw would do the same, but the kernel's freestanding guest has no exceptions).
inline void table_error(const char*) {}
inline constexpr uint8_t fast = 1, slow = 2;  // the speed column; 0 = no such opcode
// The gpu column: a row naming anything else does not compile. 0 = no such opcode/syscall.
inline constexpr uint8_t device = 1, host = 2;
inline constexpr std::array<uint8_t, 256> kOpGpu = [] {
  std::array<uint8_t, 256> t{};
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) t[byte] = gpu;
#include "mailbox/protocol.def"
  return t;
}();
inline constexpr std::array<uint8_t, 256> kOpSpeed = [] {
  std::array<uint8_t, 256> t{};
  int rows = 0, distinct = 0;
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) distinct += t[byte] == 0, t[byte] = speed, ++rows;
#include "mailbox/protocol.def"
  if (rows != distinct) table_error("protocol.def: two opcodes share a byte");  // not a constant: a compile error
  return t;
}();
inline constexpr uint16_t kSysNumbers[] = {
#define MB_SYS(name, number, handler, gpu, doc) number,
#include "mailbox/protocol.def"
};
inline constexpr size_t kSysCount = [] {  // one past the highest syscall number
  size_t n = 0;
  for (size_t i = 0; i < std::size(kSysNumbers); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (kSysNumbers[j] == kSysNumbers[i]) table_error("protocol.def: two syscalls share a number");
    if (kSysNumbers[i] >= n) n = kSysNumbers[i] + 1u;
  }
  return n;
}();
inline constexpr std::array<bool, kSysCount> kSysKnown = [] {
  std::array<bool, kSysCount> t{};
#define MB_SYS(name, number, handler, gpu, doc) t[number] = true;
#include "mailbox/protocol.def"
  return t;
}();
}  // namespace detail
constexpr bool op_known(uint8_t o) { return detail::kOpSpeed[o] != 0; }
// STATUS goes BUSY first for a slow v1 command (I/O, GPU); a fast one completes within
// nanoseconds, where the extra store would only add a cache-line round trip.
constexpr bool op_is_slow(uint8_t o) { return detail::kOpSpeed[o] == detail::slow; }
constexpr bool sys_known(uint32_t n) { return n < detail::kSysCount && detail::kSysKnown[n]; }
namespace detail {
inline constexpr std::array<uint8_t, kSysCount> kSysGpu = [] {
  std::array<uint8_t, kSysCount> t{};
#define MB_SYS(name, number, handler, gpu, doc) t[number] = gpu;
#include "mailbox/protocol.def"
  return t;
}();
}  // namespace detail
// The gpu column: the GPU backends (webgpu's WGSL handler, cuda's persistent kernel) serve
// these on the device; every other known opcode or syscall they defer to the host's table.
// So no backend answers BAD_OPCODE / BAD_SYSCALL for a command that has a row.
constexpr bool op_on_device(uint8_t o) { return detail::kOpGpu[o] == detail::device; }
constexpr bool sys_on_device(uint32_t n) { return sys_known(n) && detail::kSysGpu[n] == detail::device; }
// A command word the GPU side serves itself (SYSCALL: its number's row decides).
constexpr bool cmd_on_device(uint32_t cmd) {
  uint8_t o = uint8_t(cmd >> c::OPCODE_SHIFT);
  return op_on_device(o) && (o != op::SYSCALL || sys_on_device(cmd & c::PAYLOAD_MASK));
}
static_assert([] {
  for (unsigned o = 0; o < 256; ++o)
    if (op_known(uint8_t(o)) != (detail::kOpGpu[o] != 0)) return false;
  return true;
}(), "protocol.def: every opcode row names its gpu column (device or host)");

// ---- the shared area as structs (offsets asserted against protocol.def below) ----------
struct Sqe {
#define MB_SQE(name, offset, field, doc) uint32_t field;
#include "mailbox/protocol.def"
};
struct Cqe {
#define MB_CQE(name, offset, field, doc) uint32_t field;
#include "mailbox/protocol.def"
};

// Header page (0x0000 .. 0x0FFF). Ring indices sit on their own 64-byte lines so that the
// client's and the server's stores do not bounce one cache line between them.
struct Header {
  uint32_t cmd, status, resp, doorbell;                     // 0x00 v1 registers
  uint32_t magic, version, arg0, arg1;                      // 0x10
  uint32_t resp1, epoch, size, data_size;                   // 0x20
  uint32_t faults, last_fault, served, heartbeat;           // 0x30
  uint32_t sq_head, pad_sq_head[15];                        // 0x40
  uint32_t sq_tail, pad_sq_tail[15];                        // 0x80
  uint32_t cq_head, pad_cq_head[15];                        // 0xC0
  uint32_t cq_tail, pad_cq_tail[15];                        // 0x100
  uint32_t ring_flags, wake, pad_flags[14];                 // 0x140
  uint8_t reserved[0x1000 - 0x180];
};

struct Layout {
  Header h;
  Sqe sq[c::RING_ENTRIES];
  Cqe cq[c::RING_ENTRIES];
  // the data area follows at DATA_OFFSET; its size is the mapping's size minus DATA_OFFSET
};

#define MB_REG(name, offset, field, writer, doc) \
  static_assert(offsetof(Header, field) == (offset), "protocol.def: register " #name " moved");
#include "mailbox/protocol.def"
#define MB_SQE(name, offset, field, doc) \
  static_assert(offsetof(Sqe, field) == (offset), "protocol.def: SQE " #name " moved");
#include "mailbox/protocol.def"
#define MB_CQE(name, offset, field, doc) \
  static_assert(offsetof(Cqe, field) == (offset), "protocol.def: CQE " #name " moved");
#include "mailbox/protocol.def"
static_assert(sizeof(Header) == c::SQ_OFFSET);
static_assert(sizeof(Sqe) == c::SQE_SIZE && sizeof(Cqe) == c::CQE_SIZE);
static_assert(offsetof(Layout, sq) == c::SQ_OFFSET && offsetof(Layout, cq) == c::CQ_OFFSET);
static_assert(sizeof(Layout) <= c::DATA_OFFSET);
static_assert((c::RING_ENTRIES & (c::RING_ENTRIES - 1)) == 0 && c::RING_MASK == c::RING_ENTRIES - 1);
static_assert(c::MIN_SIZE > c::DATA_OFFSET);

// ---- command word ------------------------------------------------------------------------
constexpr uint32_t make_cmd(uint8_t opcode, uint8_t thread, uint16_t payload) {
  return uint32_t(opcode) << c::OPCODE_SHIFT | uint32_t(thread) << c::THREAD_SHIFT | payload;
}
constexpr uint8_t cmd_opcode(uint32_t w) { return uint8_t(w >> c::OPCODE_SHIFT); }
constexpr uint8_t cmd_thread(uint32_t w) { return uint8_t(w >> c::THREAD_SHIFT); }
constexpr uint16_t cmd_payload(uint32_t w) { return uint16_t(w & c::PAYLOAD_MASK); }
constexpr uint32_t error_status(uint16_t code) { return st::ERROR | code; }

// ---- rows: every named value of the table, for the generator, docs and tests -------------
enum class Kind : uint8_t { Const, Reg, Status, Flag, Op, Err, Sqe, Cqe, Sys };
struct Row {
  Kind kind;
  std::string_view name;
  uint32_t value;
  std::string_view doc;
  std::string_view args = {}, result = {};  // opcodes only
  std::string_view writer = {};             // registers only
  bool slow = false;                        // opcodes only: the speed column
  bool device = false;                      // opcodes and syscalls: the gpu column says device
};
inline constexpr Row kRows[] = {
#define MB_CONST(name, value, doc) {Kind::Const, #name, value, doc},
#define MB_REG(name, offset, field, writer, doc) {Kind::Reg, #name, offset, doc, {}, {}, #writer},
#define MB_STATUS(name, value, doc) {Kind::Status, #name, value, doc},
#define MB_FLAG(name, value, doc) {Kind::Flag, #name, value, doc},
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) \
  {Kind::Op, #name, byte, doc, args, result, {}, detail::speed == detail::slow, detail::gpu == detail::device},
#define MB_ERR(name, code, doc) {Kind::Err, #name, code, doc},
#define MB_SQE(name, offset, field, doc) {Kind::Sqe, #name, offset, doc},
#define MB_CQE(name, offset, field, doc) {Kind::Cqe, #name, offset, doc},
#define MB_SYS(name, number, handler, gpu, doc) {Kind::Sys, #name, number, doc, {}, {}, {}, false, detail::gpu == detail::device},
#include "mailbox/protocol.def"
};

// NASM symbol prefix of a kind: MB_REG_CMD, MB_OP_HALT, MB_ERR_BAD_FREE, MB_MAGIC ...
std::string_view kind_prefix(Kind k);
std::string_view op_name(uint8_t opcode);   // "?" when unknown
std::string_view err_name(uint32_t code);   // "?" when unknown
// The NASM include text (pxos_mailbox_gen writes it; tests compare it with the C++ values).
std::string nasm_include();
// The WGSL prelude kernels/mailbox_runtime.wgsl includes (lib/mailbox_protocol.wgsl, generated
// into the build and embedded): every row as a `const`, and mb_known_opcode / mb_known_syscall.
std::string wgsl_prelude();
// Markdown tables of every row (docs/mailbox.md embeds them; a test keeps them in sync).
std::string markdown_tables();

}  // namespace pxos::mailbox
