// decode.cpp: operand decoding and formatting per operand format, never per opcode.
#include "isa/decode.hpp"

#include <fmt/format.h>

namespace pxos::isa {

Result<Insn> decode(ByteView code, uint32_t pc) {
  if (pc >= code.size()) return failf(Errc::VerifyError, "offset {:#06x}: past the end of code", pc);
  const OpInfo& oi = info(code[pc]);
  if (!oi.valid()) return failf(Errc::VerifyError, "offset {:#06x}: unknown opcode 0x{:02x}", pc, code[pc]);
  Insn in;
  in.pc = pc;
  in.op = Op(code[pc]);
  in.info = &oi;
  ByteReader r(code.subspan(pc + 1));
  switch (oi.fmt) {
    case Fmt::NONE: break;
    case Fmt::U8: in.operand = r.u8(); break;
    case Fmt::U16: in.operand = r.u16(); break;
    case Fmt::I32: in.operand = int32_t(r.u32()); break;
    case Fmt::ADDR: in.operand = r.u32(); break;
    case Fmt::STR: {
      uint32_t n = r.u32();
      in.operand = n;
      in.text = r.str(n);
      break;
    }
  }
  if (!r.ok()) return failf(Errc::VerifyError, "offset {:#06x}: {} operand truncated", pc, oi.name);
  in.next = pc + 1 + uint32_t(r.pos());
  return in;
}

std::string quote(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case 0: o += "\\0"; break;
      default:
        if (c < 0x20 || c == 0x7f) o += fmt::format("\\x{:02x}", c);
        else o += char(c);  // UTF-8 bytes pass through
    }
  }
  return o + "\"";
}

std::string format(const Insn& in, const std::function<std::string(const Insn&)>& target_name) {
  std::string s(in.info->name);
  switch (in.info->fmt) {
    case Fmt::NONE: break;
    case Fmt::U8:
    case Fmt::U16:
    case Fmt::I32: s += fmt::format(" {}", in.operand); break;
    case Fmt::ADDR: s += " " + (target_name ? target_name(in) : fmt::format("{}", in.operand)); break;
    case Fmt::STR: s += " " + quote(in.text); break;
  }
  return s;
}

}  // namespace pxos::isa
