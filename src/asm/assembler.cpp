// assembler.cpp: line-oriented lexer + two-pass assembler driven by the opcodes.def table.
#include "asm/assembler.hpp"

#include <fmt/format.h>

#include <cctype>
#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "common/suggest.hpp"
#include "isa/isa.hpp"

namespace pxos::assembler {

std::string Diagnostic::to_string() const { return fmt::format("{}:{}:{}: error: {}", file, line, col, message); }

namespace {

using isa::Fmt;
using isa::Op;

struct Operand {
  enum Kind { None, Number, Label, String } kind = None;
  int64_t number = 0;
  std::string text;  // label name or string bytes
  uint32_t col = 0;
};

struct Line {
  uint32_t line = 0, col = 0;  // of the mnemonic
  Op op = Op::NOP;
  Operand arg;
  uint32_t pc = 0;
};

// Host calls by name (`HOST_CALL read_int`), from the one table of host calls; the assembler
// needs only the names and ids, so it reads the table without linking the VM.
struct HostName { std::string_view name; uint8_t id; };
constexpr HostName kHostNames[] = {
#define CAP(name, bit, dflt, doc)
#define HOSTCALL(id, name, cap, pops, pushes, effect, doc) {#name, id},
#include "vm/hostcalls.def"
#undef HOSTCALL
#undef CAP
};

std::vector<std::string> mnemonic_names() {
  std::vector<std::string> v;
  for (const auto& oi : isa::table())
    if (oi.valid()) v.emplace_back(oi.name);
  return v;
}

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

class Assembler {
 public:
  Assembler(std::string_view src, std::string_view file) : src_(src), file_(file) {}

  Result<isa::Module> run(std::vector<Diagnostic>* out) {
    size_t start = 0;
    uint32_t lineno = 0;
    while (start <= src_.size() && !too_many()) {
      size_t end = src_.find('\n', start);
      if (end == std::string_view::npos) end = src_.size();
      std::string_view l = src_.substr(start, end - start);
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      parse_line(l, ++lineno);
      if (end == src_.size()) break;
      start = end + 1;
    }
    isa::Module m;
    m.source = std::string(file_);
    if (!too_many()) emit(m);
    std::stable_sort(diags_.begin(), diags_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line != b.line ? a.line < b.line : a.col < b.col; });
    if (out) *out = diags_;
    if (!diags_.empty()) {
      std::string all;
      for (size_t i = 0; i < diags_.size(); ++i) all += (i ? "\n" : "") + diags_[i].to_string();
      if (too_many()) all += fmt::format("\n{}: too many errors, stopping", file_);
      return fail(Errc::AsmError, all);
    }
    return m;
  }

 private:
  bool too_many() const { return diags_.size() >= kMaxDiagnostics; }
  void error(uint32_t line, uint32_t col, std::string msg) {
    if (!too_many()) diags_.push_back({std::string(file_), line, col, std::move(msg)});
  }

  void parse_line(std::string_view l, uint32_t ln) {
    size_t i = 0;
    auto skip_ws = [&] { while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i; };
    auto at_end = [&] { skip_ws(); return i >= l.size() || l[i] == ';'; };
    for (size_t k = 0; k < l.size(); ++k)
      if (l[k] == '\0' || (static_cast<unsigned char>(l[k]) < 0x20 && l[k] != '\t')) {
        error(ln, uint32_t(k + 1), fmt::format("control byte 0x{:02x} in source: this is not assembly text",
                                               static_cast<unsigned char>(l[k])));
        return;
      }
    if (at_end()) return;
    // label definitions (several allowed on one line)
    for (;;) {
      skip_ws();
      size_t s = i;
      if (i < l.size() && ident_start(l[i])) {
        size_t j = i;
        while (j < l.size() && ident_char(l[j])) ++j;
        if (j < l.size() && l[j] == ':' && (j + 1 >= l.size() || !ident_start(l[j + 1]))) {
          define_label(std::string(l.substr(s, j - s)), ln, uint32_t(s + 1));
          i = j + 1;
          if (at_end()) return;
          continue;
        }
      }
      break;
    }
    skip_ws();
    size_t s = i;
    while (i < l.size() && ident_char(l[i])) ++i;
    std::string_view mnem = l.substr(s, i - s);
    if (mnem.empty()) {
      error(ln, uint32_t(s + 1), fmt::format("expected a mnemonic or label, found '{}'", l[s]));
      return;
    }
    auto op = isa::lookup(mnem);
    if (!op) {
      error(ln, uint32_t(s + 1), fmt::format("unknown mnemonic '{}'{}", mnem, did_you_mean(nearest(mnem, mnemonic_names()))));
      return;
    }
    Line L;
    L.line = ln;
    L.col = uint32_t(s + 1);
    L.op = *op;
    L.pc = pc_;
    const auto& oi = isa::info(uint8_t(*op));
    skip_ws();
    L.arg.col = uint32_t(i + 1);
    if (oi.fmt == Fmt::NONE) {
      if (!at_end()) { error(ln, uint32_t(i + 1), fmt::format("{} takes no operand", oi.name)); return; }
    } else {
      if (at_end()) { error(ln, uint32_t(i + 1), fmt::format("{} expects {}", oi.name, expected(oi.fmt))); return; }
      if (!parse_operand(l, i, ln, oi, L.arg)) return;
      if (!at_end()) { error(ln, uint32_t(i + 1), fmt::format("unexpected text after the operand of {}", oi.name)); return; }
    }
    uint64_t size = 1 + isa::operand_size(oi.fmt) + (oi.fmt == Fmt::STR ? L.arg.text.size() : 0);
    if (pc_ + size > isa::kMaxCodeBytes) { error(ln, L.col, "program too large"); return; }
    pc_ += uint32_t(size);
    lines_.push_back(std::move(L));
  }

  static std::string_view expected(Fmt f) {
    switch (f) {
      case Fmt::I32: return "an integer operand (-2147483648 .. 4294967295)";
      case Fmt::U8: return "an operand 0 .. 255";
      case Fmt::U16: return "an address operand 0 .. 65535";
      case Fmt::ADDR: return "a label (or module:label for CALL)";
      case Fmt::STR: return "a quoted string";
      case Fmt::NONE: break;
    }
    return "no operand";
  }

  bool parse_operand(std::string_view l, size_t& i, uint32_t ln, const isa::OpInfo& oi, Operand& a) {
    uint32_t col = uint32_t(i + 1);
    if (oi.fmt == Fmt::STR) {
      if (l[i] != '"') { error(ln, col, fmt::format("{} expects a quoted string", oi.name)); return false; }
      a.kind = Operand::String;
      return parse_string(l, i, ln, a.text);
    }
    if (oi.fmt == Fmt::ADDR && ident_start(l[i])) {
      size_t s = i;
      while (i < l.size() && (ident_char(l[i]) || l[i] == ':')) ++i;
      if (i - s > isa::kMaxNameBytes) {
        error(ln, col, fmt::format("label of {} characters is over the limit of {}", i - s, isa::kMaxNameBytes));
        return false;
      }
      a.kind = Operand::Label;
      a.text = std::string(l.substr(s, i - s));
      return true;
    }
    if (oi.byte == uint8_t(Op::HOST_CALL) && ident_start(l[i])) {
      size_t s = i;
      while (i < l.size() && ident_char(l[i])) ++i;
      std::string_view name = l.substr(s, i - s);
      for (const auto& h : kHostNames)
        if (h.name == name) {
          a.kind = Operand::Number;
          a.number = h.id;
          return true;
        }
      std::vector<std::string> names;
      for (const auto& h : kHostNames) names.emplace_back(h.name);
      error(ln, col, fmt::format("unknown host call '{}'{}", name, did_you_mean(nearest(name, names))));
      return false;
    }
    int64_t v = 0;
    if (!parse_number(l, i, ln, v)) return false;
    int64_t lo = 0, hi = 0;
    switch (oi.fmt) {
      case Fmt::I32: lo = INT32_MIN; hi = UINT32_MAX; break;
      case Fmt::U8: hi = 255; break;
      case Fmt::U16: hi = 65535; break;
      case Fmt::ADDR: hi = UINT32_MAX; break;
      default: break;
    }
    if (v < lo || v > hi) {
      error(ln, col, fmt::format("operand {} out of range for {}: expected {}", v, oi.name, expected(oi.fmt)));
      return false;
    }
    a.kind = Operand::Number;
    a.number = v;
    return true;
  }

  bool parse_number(std::string_view l, size_t& i, uint32_t ln, int64_t& out) {
    uint32_t col = uint32_t(i + 1);
    if (l[i] == '\'') {  // character literal
      std::string s;
      size_t j = i + 1;
      if (j < l.size() && l[j] == '\\') {
        if (!parse_escape(l, j, ln, s)) return false;
      } else if (j < l.size() && l[j] != '\'') {
        s.push_back(l[j++]);
      }
      if (s.size() != 1 || j >= l.size() || l[j] != '\'') {
        error(ln, col, "bad character literal: expected 'c'");
        return false;
      }
      i = j + 1;
      out = static_cast<unsigned char>(s[0]);
      return true;
    }
    bool neg = false;
    size_t s = i;
    if (l[i] == '-' || l[i] == '+') { neg = l[i] == '-'; ++i; }
    int base = 10;
    if (i + 1 < l.size() && l[i] == '0' && (l[i + 1] == 'x' || l[i + 1] == 'X')) { base = 16; i += 2; }
    else if (i + 1 < l.size() && l[i] == '0' && (l[i + 1] == 'b' || l[i + 1] == 'B')) { base = 2; i += 2; }
    size_t ds = i;
    while (i < l.size() && (std::isalnum(static_cast<unsigned char>(l[i])) || l[i] == '_')) ++i;
    std::string digits;
    for (char c : l.substr(ds, i - ds)) if (c != '_') digits.push_back(c);
    uint64_t mag = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), mag, base);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) {
      error(ln, col, fmt::format("bad number '{}'", l.substr(s, i - s)));
      return false;
    }
    if (mag > (uint64_t(1) << 33)) {
      error(ln, col, fmt::format("number '{}' is out of range", l.substr(s, i - s)));
      return false;
    }
    out = neg ? -int64_t(mag) : int64_t(mag);
    return true;
  }

  bool parse_escape(std::string_view l, size_t& i, uint32_t ln, std::string& out) {
    // l[i] == '\\'
    uint32_t col = uint32_t(i + 1);
    if (i + 1 >= l.size()) { error(ln, col, "unterminated escape sequence"); return false; }
    char c = l[i + 1];
    i += 2;
    switch (c) {
      case 'n': out.push_back('\n'); return true;
      case 't': out.push_back('\t'); return true;
      case 'r': out.push_back('\r'); return true;
      case '0': out.push_back('\0'); return true;
      case '"': out.push_back('"'); return true;
      case '\'': out.push_back('\''); return true;
      case '\\': out.push_back('\\'); return true;
      case 'x': {
        if (i + 2 <= l.size() && std::isxdigit(static_cast<unsigned char>(l[i])) &&
            std::isxdigit(static_cast<unsigned char>(l[i + 1]))) {
          out.push_back(char(std::stoi(std::string(l.substr(i, 2)), nullptr, 16)));
          i += 2;
          return true;
        }
        error(ln, col, "bad escape '\\x': expected two hex digits");
        return false;
      }
      default:
        error(ln, col, fmt::format("bad escape '\\{}': expected one of \\n \\t \\r \\0 \\\" \\\\ \\xHH", c));
        return false;
    }
  }

  bool parse_string(std::string_view l, size_t& i, uint32_t ln, std::string& out) {
    uint32_t col = uint32_t(i + 1);
    ++i;  // opening quote
    while (i < l.size()) {
      if (l[i] == '"') { ++i; return true; }
      if (l[i] == '\\') {
        if (!parse_escape(l, i, ln, out)) return false;
        continue;
      }
      out.push_back(l[i++]);
    }
    error(ln, col, "unterminated string: expected a closing '\"'");
    return false;
  }

  void define_label(std::string name, uint32_t ln, uint32_t col) {
    // The module stores names with a u16 length; the limit is checked here, with a line number.
    if (name.size() > isa::kMaxNameBytes) {
      error(ln, col, fmt::format("label of {} characters is over the limit of {}", name.size(), isa::kMaxNameBytes));
      return;
    }
    auto [it, fresh] = labels_.try_emplace(name, LabelDef{pc_, ln});
    if (!fresh) {
      error(ln, col, fmt::format("duplicate label '{}' (first defined on line {})", name, it->second.line));
      return;
    }
    order_.push_back(name);
  }

  void emit(isa::Module& m) {
    ByteWriter w(m.code);
    for (const auto& L : lines_) {
      const auto& oi = isa::info(uint8_t(L.op));
      m.lines.push_back({L.pc, L.line});
      w.u8(uint8_t(L.op));
      switch (oi.fmt) {
        case Fmt::NONE: break;
        case Fmt::U8: w.u8(uint8_t(L.arg.number)); break;
        case Fmt::U16: w.u16(uint16_t(L.arg.number)); break;
        case Fmt::I32: w.u32(uint32_t(L.arg.number)); break;
        case Fmt::STR: w.u32(uint32_t(L.arg.text.size())); w.str(L.arg.text); break;
        case Fmt::ADDR: {
          uint32_t target = 0;
          if (L.arg.kind == Operand::Number) {
            target = uint32_t(L.arg.number);
          } else if (auto colon = L.arg.text.find(':'); colon != std::string::npos) {
            if (L.op != Op::CALL) {
              error(L.line, L.arg.col, fmt::format("cross-module target '{}' is only allowed for CALL", L.arg.text));
            } else if (colon == 0 || colon + 1 == L.arg.text.size() || L.arg.text.find(':', colon + 1) != std::string::npos) {
              error(L.line, L.arg.col, fmt::format("bad cross-module target '{}': expected module:label", L.arg.text));
            } else {
              m.relocs.push_back({uint32_t(m.code.size()), L.arg.text});
            }
          } else if (auto it = labels_.find(L.arg.text); it != labels_.end()) {
            target = it->second.pc;
          } else {
            error(L.line, L.arg.col, fmt::format("undefined label '{}'", L.arg.text));
          }
          w.u32(target);
          break;
        }
      }
    }
    for (const auto& n : order_) m.symbols.push_back({n, labels_[n].pc});
  }

  struct LabelDef { uint32_t pc; uint32_t line; };
  std::string_view src_, file_;
  std::vector<Diagnostic> diags_;
  std::vector<Line> lines_;
  std::unordered_map<std::string, LabelDef> labels_;
  std::vector<std::string> order_;
  uint32_t pc_ = 0;
};

}  // namespace

Result<isa::Module> assemble(std::string_view source, std::string_view filename, std::vector<Diagnostic>* diags) {
  // An image handed to the assembler (`pxos asm prog.pxi`): say what to use instead of
  // reporting its bytes as control characters.
  if (source.starts_with("\x89PNG\r\n\x1a\n") || source.starts_with("PXFS") || source.starts_with("SFXP"))
    return failf(Errc::AsmError, "{}: this is an image, not assembly text: use pxos disasm {} (or pxos run)", filename,
                 filename);
  return Assembler(source, filename).run(diags);
}

}  // namespace pxos::assembler
