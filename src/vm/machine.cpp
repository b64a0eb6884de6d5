// machine.cpp: the PixelVM interpreter. Dispatch goes through VM_CASE/VM_BREAK so the same
// body compiles to computed goto (direct threading over predecoded cells) or a portable switch
// (PXOS_COMPUTED_GOTO, a build flag). The stack effect of each opcodes.def row is checked by the
// dispatch before its handler runs. Every trap has a kind (traps.def) and knows its cell, hence
// its pc and source line. The same file compiles freestanding for the kernel's ring-3 guest
// (kernel/vm, __STDC_HOSTED__ == 0): the few host-only parts (stdout, errno, the tracer's
// stdio, the table lock) are under PXOS_VM_HOSTED; the dispatch loop is the same text.
#include "vm/machine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <charconv>
#include <chrono>
#include <climits>
#include <cerrno>
#include <cstring>

#include "isa/decode.hpp"
#include "isa/isa.hpp"

#define PXOS_VM_HOSTED __STDC_HOSTED__
#if PXOS_VM_HOSTED
#include <optional>

#include "vm/trace.hpp"
#endif

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

namespace pxos::vm {

using isa::Op;

Machine::Machine(const Program& p, HostEnv& env) : prog_(p), env_(env), cells_(p.cells()) {}

void Machine::bind(int mode, const void* const* table, bool supers) {
  if (bound_mode_ == mode) return;
  const auto& sup = prog_.supers();
  for (size_t i = 0; i < cells_.size(); ++i)
    cells_[i].h = !table ? nullptr : (supers && sup[i]) ? table[sup[i]] : table[cells_[i].op()];
  bound_mode_ = mode;
}

namespace {
// The one definition of each operator, shared by plain and fused handlers.
template <Op op>
inline int32_t apply(int32_t a, int32_t b) {
  auto u = [](int32_t x) { return static_cast<uint32_t>(x); };
  if constexpr (op == Op::ADD) return int32_t(u(a) + u(b));
  else if constexpr (op == Op::SUB) return int32_t(u(a) - u(b));
  else if constexpr (op == Op::MUL) return int32_t(u(a) * u(b));
  else if constexpr (op == Op::DIV) return b == -1 ? int32_t(0u - u(a)) : a / b;  // b != 0 checked
  else if constexpr (op == Op::MOD) return b == -1 ? 0 : a % b;
  else if constexpr (op == Op::AND) return a & b;
  else if constexpr (op == Op::OR) return a | b;
  else if constexpr (op == Op::XOR) return a ^ b;
  else if constexpr (op == Op::SHL) return int32_t(u(a) << (u(b) & 31));
  else if constexpr (op == Op::SHR) return int32_t(u(a) >> (u(b) & 31));
  else if constexpr (op == Op::SAR) return a >> (u(b) & 31);
  else if constexpr (op == Op::EQ) return a == b;
  else if constexpr (op == Op::NE) return a != b;
  else if constexpr (op == Op::LT) return a < b;
  else if constexpr (op == Op::LE) return a <= b;
  else if constexpr (op == Op::GT) return a > b;
  else if constexpr (op == Op::GE) return a >= b;
}
constexpr bool divides(Op op) { return op == Op::DIV || op == Op::MOD; }
}  // namespace

void Machine::set_trap(TrapKind k, Errc code, const Cell* ip, const TrapContext& c) {
  trap_ = Trap{};
  trap_.kind = k;
  trap_.code = code;
  trap_.message = trap_message(k, c);
  trap_.at_instruction = true;
  trap_.pc = ip->pc();
  trap_.line = prog_.module().line_at(trap_.pc);
  trap_.locate(prog_.where(trap_.pc));
}

void Machine::set_trap(TrapKind k, const Cell* ip, const TrapContext& c) { set_trap(k, trap_errc(k), ip, c); }

void Machine::flush() {
  if (out_.empty()) return;
  if (opt_->output) {
    opt_->output(out_);
  }
#if PXOS_VM_HOSTED
  else if (!out_errno_) {
    // A closed pipe or a full disk stops the program at once (an endless printer would
    // otherwise run forever into the void): emit_text then traps with the errno kept here.
    errno = 0;
    if (std::fwrite(out_.data(), 1, out_.size(), stdout) != out_.size()) out_errno_ = errno ? errno : EIO;
  }
#endif
  out_.clear();
}

bool Machine::past_deadline() const {
  return env_.deadline != std::chrono::steady_clock::time_point::max() && std::chrono::steady_clock::now() >= env_.deadline;
}

void Machine::output_trap(const Cell* ip) {
#if PXOS_VM_HOSTED  // the guest's output callback never fails: out_errno_ stays 0 there
  if (out_errno_ == EPIPE) set_trap(TrapKind::pipe_closed, ip);
  else if (out_errno_) set_trap(TrapKind::write_failed, ip, {.reason = std::strerror(out_errno_)});
  else
#endif
  if (timed_out_) set_trap(TrapKind::time_limit, ip, {.limit = opt_->limits.timeout_ms});
  else set_trap(TrapKind::output_limit, ip);
}

bool Machine::emit_text(std::string_view s) {
  uint64_t lim = opt_->limits.max_output_bytes;
  if (lim && out_total_ + s.size() > lim) {
    s = s.substr(0, size_t(lim - out_total_));  // deliver what fits, then trap
    out_ += s;
    out_total_ += s.size();
    return false;
  }
  out_ += s;
  out_total_ += s.size();
  if (out_.size() >= kOutputFlushBytes) {
    flush();
    if (UNLIKELY(out_errno_)) return false;
    if (UNLIKELY(past_deadline())) return !(timed_out_ = true);
  }
  return true;
}

bool Machine::trace_line(const Cell* ip, int32_t* sp, Frame* fp, int32_t* lp, int32_t* ltop) {
#if !PXOS_VM_HOSTED  // the guest has no trace stream, counts nor hook (RunOptions' host-only parts)
  (void)ip, (void)sp, (void)fp, (void)lp, (void)ltop;
  return true;
#else
  if (opt_->counts) ++(*opt_->counts)[size_t(ip - cells_.data())];
  if (!hooked_) return true;
  // The hook reads the state through the accessors: publish the loop's registers first.
  ip_ = ip, sp_ = sp, fp_ = fp, lp_ = lp, ltop_ = ltop;
  depth_ = size_t(sp - stack_.data());
  if (!out_.empty()) {  // output before the trace line or the debugger's prompt, in order
    flush();
    if (!opt_->output) std::fflush(stdout);
  }
  switch (hook_(*this)) {
    case StepAction::go: return true;
    case StepAction::stop: return false;
    case StepAction::detach: hooked_ = false; return true;
  }
  return true;
#endif
}

int32_t* Machine::host_call(const Cell* ip, int32_t* sp) {
  // HOST_CALL's stack effect is per call (VAR in opcodes.def), so it is checked here by hand.
  const HostCall* hc = host_table()[uint8_t(ip->a)];
  if (!hc) {
    set_trap(TrapKind::host_unknown, ip, {.id = ip->a});
    return nullptr;
  }
  if (!(env_.granted & cap_bit(hc->cap))) {
    set_trap(TrapKind::host_denied, ip, {.call = hc->name, .cap = cap_name(hc->cap)});
    return nullptr;
  }
  if (sp - stack_.data() < hc->pops) {
    set_trap(TrapKind::host_underflow, ip, {.call = hc->name, .needs = hc->pops});
    return nullptr;
  }
  if (stack_.data() + stack_.size() - (sp - hc->pops) < hc->pushes) {
    set_trap(TrapKind::stack_overflow, ip, {.depth = sp - stack_.data(), .stack = stack_.size()});
    return nullptr;
  }
  int32_t args[8] = {}, res[8] = {};
  std::memcpy(args, sp - hc->pops, sizeof(int32_t) * hc->pops);
  if (auto st = hc->fn(env_, *this, args, res); !st) {
    // The host call's own kind of error (a time limit, a mailbox error) sets the exit status.
    Errc code = st.error().code == Errc::Internal ? trap_errc(TrapKind::host_failed) : st.error().code;
    set_trap(TrapKind::host_failed, code, ip, {.call = hc->name, .reason = st.error().detail});
    return nullptr;
  }
  sp -= hc->pops;
  std::memcpy(sp, res, sizeof(int32_t) * hc->pushes);
  return sp + hc->pushes;
}

// Superinstructions share the dispatch table with opcodes: their ids live in a reserved range
// that no opcode may take (else a new opcode would silently run a fused handler).
inline constexpr int kSuperFirst = 0x60, kSuperLast = 0xCF;
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) \
  static_assert((byte) < kSuperFirst || (byte) > kSuperLast, "opcode " #name " lies in the superinstruction range");
#include "isa/opcodes.def"
#undef X
#define SUPER(name, id, n, pattern) \
  static_assert(((id) >= kSuperFirst && (id) <= kSuperLast) || (id) > 0xFF, "superinstruction " #name " on an opcode byte");
#include "vm/superinstructions.def"
#undef SUPER
#define X(name) +1
inline constexpr int kBinops = 0 PXOS_SUPER_BINOPS(X), kCmps = 0 PXOS_SUPER_CMPS(X);
#undef X
static_assert(kSuperPushBinop >= kSuperFirst && kSuperPushBinop + kBinops <= kSuperCmpBranch &&
                  kSuperCmpBranch + 2 * kCmps <= kSuperPushCmpBranch && kSuperPushCmpBranch + 2 * kCmps <= kSuperLocalBinop &&
                  kSuperLocalBinop + kBinops - 1 <= kSuperLast,
              "superinstruction id ranges overlap or leave the reserved range");
// Ids from 0x100 lie above every opcode byte: named ones first, then the families, which must
// not overlap each other nor leave the table.
#define SUPER(name, id, n, pattern) static_assert((id) < kSuperPushBinop || ((id) >= 0x100 && (id) < kSuperLocalPushBinop), "superinstruction " #name " overlaps a family");
#include "vm/superinstructions.def"
#undef SUPER
static_assert(kSuperLocalPushBinop + kBinops <= kSuperMemBinop && kSuperMemBinop + kBinops <= kSuperBinopStore &&
                  kSuperBinopStore + kBinops <= kSuperLocalPushCmpBranch &&
                  kSuperLocalPushCmpBranch + 2 * kCmps <= kSuperLocalLocalCmpBranch &&
                  kSuperLocalLocalCmpBranch + 2 * kCmps <= kSuperLocalCmpBranch &&
                  kSuperLocalCmpBranch + 2 * kCmps <= kSuperMemPushCmpBranch &&
                  kSuperMemPushCmpBranch + 2 * kCmps <= kSuperTableSize,
              "superinstruction id families overlap or leave the dispatch table");

template <bool kExact, bool kTrace>
Machine::Exit Machine::loop(int64_t& fuel_io) {
  int64_t fuel = fuel_io;  // a local: the compiler keeps it in a register, not behind the reference
#if PXOS_COMPUTED_GOTO
  // One table per interpreter mode, filled once (label addresses are known only in here).
  static const void* table[kSuperTableSize];
  static std::atomic<bool> ready{false};
  if (UNLIKELY(!ready.load(std::memory_order_acquire))) {
#if PXOS_VM_HOSTED  // the guest is one ring-3 task: nobody to race with
  static std::mutex filling;
  std::lock_guard<std::mutex> lock(filling);
#endif
  if (!ready.load(std::memory_order_relaxed)) {
  for (auto& t : table) t = &&L_BAD;
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) table[byte] = &&L_##name;
#include "isa/opcodes.def"
#undef X
#define SUPER(name, id, n, pattern) table[id] = &&S_##name;
#include "vm/superinstructions.def"
#undef SUPER
  {
    int k = 0;
#define X(name) table[kSuperPushBinop + k] = &&SB_##name; table[kSuperLocalBinop + k] = &&SL_##name; ++k;
    PXOS_SUPER_BINOPS(X)
#undef X
    k = 0;
#define X(name) table[kSuperCmpBranch + k] = &&SCZ_##name; table[kSuperCmpBranch + k + 1] = &&SCN_##name; \
                table[kSuperPushCmpBranch + k] = &&SPZ_##name; table[kSuperPushCmpBranch + k + 1] = &&SPN_##name; k += 2;
    PXOS_SUPER_CMPS(X)
#undef X
    k = 0;
#define X(name) table[kSuperLocalPushBinop + k] = &&SLP_##name; table[kSuperMemBinop + k] = &&SM_##name; \
                table[kSuperBinopStore + k] = &&SBS_##name; ++k;
    PXOS_SUPER_BINOPS(X)
#undef X
    k = 0;
#define X(name) table[kSuperLocalPushCmpBranch + k] = &&SLPZ_##name; table[kSuperLocalPushCmpBranch + k + 1] = &&SLPN_##name; \
                table[kSuperLocalLocalCmpBranch + k] = &&SLLZ_##name; table[kSuperLocalLocalCmpBranch + k + 1] = &&SLLN_##name; \
                table[kSuperLocalCmpBranch + k] = &&SLCZ_##name; table[kSuperLocalCmpBranch + k + 1] = &&SLCN_##name; \
                table[kSuperMemPushCmpBranch + k] = &&SMPZ_##name; table[kSuperMemPushCmpBranch + k + 1] = &&SMPN_##name; k += 2;
    PXOS_SUPER_CMPS(X)
#undef X
  }
  ready.store(true, std::memory_order_release);
  }
  }
  bind(int(kExact) * 2 + int(kTrace), table, !kExact);
#define VM_CASE(name) L_##name: STACK_EFFECT(Op::name)
#define VM_DISPATCH() goto* ip->h
#define VM_SWITCH_BEGIN VM_DISPATCH();
#define VM_SWITCH_END
#else
  bind(0, nullptr, false);
#define VM_CASE(name) case uint8_t(Op::name): L_##name: STACK_EFFECT(Op::name)
#define VM_DISPATCH() goto dispatch
#define VM_SWITCH_BEGIN \
  dispatch:             \
  switch (ip->op()) {
#define VM_SWITCH_END \
  default:            \
    goto L_BAD;       \
    }
#endif

  const Cell* const cells = cells_.data();
  const uint32_t* const runlen = prog_.runlen().data();
  const Cell* ip = ip_;
  int32_t* sp = sp_;
  int32_t* const sbase = stack_.data();
  int32_t* const send = sbase + stack_.size();
  Frame* fp = fp_;
  Frame* const fbase = frames_.data();
  Frame* const fend = fbase + frames_.size();
  int32_t* lp = lp_;
  int32_t* ltop = ltop_;
  int32_t* const lend = locals_.data() + locals_.size();
  int32_t* const mem = mem_.data();
  const uint32_t mem_words = uint32_t(mem_.size());
  TrapKind trap_kind = TrapKind::bad_opcode;
  Exit exit = Exit::Trap;

  // Charge the run that starts at ip (fast mode only; exact mode charges every step).
#define CHARGE()                                  \
  do {                                            \
    if constexpr (!kExact) {                      \
      int64_t c_ = runlen[ip - cells];            \
      if (UNLIKELY((fuel -= c_) < 0)) {           \
        fuel += c_;                               \
        exit = Exit::Refuel;                      \
        goto save;                                \
      }                                           \
    }                                             \
  } while (0)
#define PREPARE()                                 \
  do {                                            \
    if constexpr (kExact) {                       \
      if (UNLIKELY(--fuel < 0)) {                 \
        fuel = 0;                                 \
        exit = Exit::OutOfFuel;                   \
        goto save;                                \
      }                                           \
    }                                             \
    if constexpr (kTrace) {                       \
      if (UNLIKELY(!trace_line(ip, sp, fp, lp, ltop))) { \
        if constexpr (kExact) ++fuel;             \
        exit = Exit::Stopped;                     \
        goto save;                                \
      }                                           \
    }                                             \
  } while (0)
#define VM_BREAK   \
  do {             \
    ++ip;          \
    PREPARE();     \
    VM_DISPATCH(); \
  } while (0)
#define JUMP_TO(idx) \
  do {               \
    ip = cells + (idx); \
    CHARGE();        \
    PREPARE();       \
    VM_DISPATCH();   \
  } while (0)
#define TRAP(kind)                \
  do {                            \
    trap_kind = TrapKind::kind;   \
    goto trap;                    \
  } while (0)
// The row's stack effect, before the handler: `pops` values present, room for the net growth.
// Constants per label, so each check compiles to what a handler would have written by hand.
#define STACK_EFFECT(op)                                                                   \
  if constexpr (isa::pops_of(op) > 0) {                                                    \
    if (UNLIKELY(sp - sbase < isa::pops_of(op))) TRAP(stack_underflow);                    \
  }                                                                                        \
  if constexpr (isa::pushes_of(op) - isa::pops_of(op) > 0) {                               \
    if (UNLIKELY(send - sp < isa::pushes_of(op) - isa::pops_of(op))) TRAP(stack_overflow); \
  }
#define BINOP(expr)      \
  do {                   \
    int32_t b = sp[-1];  \
    int32_t a = sp[-2];  \
    (void)a; (void)b;    \
    sp[-2] = (expr);     \
    --sp;                \
  } while (0)
// Output stopped: the output limit, or the deadline seen at a flush (an instruction can be
// expensive: one PRINT_STR may write megabytes).
#define OUTPUT_TRAP()   \
  do {                  \
    output_trap(ip);    \
    goto trap_set;      \
  } while (0)
#define U32(x) static_cast<uint32_t>(x)
#define I32(x) static_cast<int32_t>(x)
// n zeroed slots at ltop. Frames are small: four slots at once (one 16-byte store) when they fit
// the buffer, instead of a call to memset; slots past the new ltop are unallocated, and every
// LOCALS zeroes what it allocates, so writing them is invisible.
#define ZERO_LOCALS(n)                                     \
  do {                                                     \
    if (LIKELY((n) <= 4 && lend - ltop >= 4))              \
      ltop[0] = ltop[1] = ltop[2] = ltop[3] = 0;           \
    else                                                   \
      std::fill(ltop, ltop + (n), 0);                      \
  } while (0)

  CHARGE();
  PREPARE();
#if !PXOS_COMPUTED_GOTO
  // Every row needs its VM_CASE: a missing one is an undefined label here (the computed-goto
  // build gets the same error from its table).
  if (false) {
#define X(name, byte, fmt, flow, pops, pushes, effect, doc) goto L_##name;
#include "isa/opcodes.def"
#undef X
  }
#endif
  VM_SWITCH_BEGIN

  VM_CASE(PUSH) { *sp++ = ip->a; VM_BREAK; }
  VM_CASE(POP) { --sp; VM_BREAK; }
  VM_CASE(ADD) { BINOP(apply<Op::ADD>(a, b)); VM_BREAK; }
  VM_CASE(SUB) { BINOP(apply<Op::SUB>(a, b)); VM_BREAK; }
  VM_CASE(MUL) { BINOP(apply<Op::MUL>(a, b)); VM_BREAK; }
  VM_CASE(DIV) {
    if (UNLIKELY(sp[-1] == 0)) TRAP(div_zero);
    BINOP(apply<Op::DIV>(a, b));  // INT32_MIN / -1 wraps to INT32_MIN
    VM_BREAK;
  }
  VM_CASE(MOD) {
    if (UNLIKELY(sp[-1] == 0)) TRAP(mod_zero);
    BINOP(apply<Op::MOD>(a, b));
    VM_BREAK;
  }
  VM_CASE(NEG) { sp[-1] = I32(0u - U32(sp[-1])); VM_BREAK; }
  VM_CASE(INC) { sp[-1] = I32(U32(sp[-1]) + 1u); VM_BREAK; }
  VM_CASE(DEC) { sp[-1] = I32(U32(sp[-1]) - 1u); VM_BREAK; }
  VM_CASE(PRINT) {
    char buf[16];
    auto r = std::to_chars(buf, buf + 15, *--sp);
    *r.ptr++ = '\n';
    if (UNLIKELY(!emit_text({buf, size_t(r.ptr - buf)}))) OUTPUT_TRAP();
    VM_BREAK;
  }
  VM_CASE(PRINTN) {
    char buf[16];
    auto r = std::to_chars(buf, buf + 15, *--sp);
    if (UNLIKELY(!emit_text({buf, size_t(r.ptr - buf)}))) OUTPUT_TRAP();
    VM_BREAK;
  }
  VM_CASE(EMIT) {
    char c = char(*--sp & 0xff);
    if (UNLIKELY(!emit_text({&c, 1}))) OUTPUT_TRAP();
    VM_BREAK;
  }
  VM_CASE(PRINT_STR) {
    const std::string& s = prog_.strings()[size_t(ip->a)];
    if (UNLIKELY(!emit_text(s) || !emit_text("\n"))) OUTPUT_TRAP();
    VM_BREAK;
  }
  VM_CASE(DUP) { *sp = sp[-1]; ++sp; VM_BREAK; }
  VM_CASE(SWAP) { std::swap(sp[-1], sp[-2]); VM_BREAK; }
  VM_CASE(OVER) { *sp = sp[-2]; ++sp; VM_BREAK; }
  VM_CASE(ROT) {
    int32_t a = sp[-3];
    sp[-3] = sp[-2];
    sp[-2] = sp[-1];
    sp[-1] = a;
    VM_BREAK;
  }
  VM_CASE(EQ) { BINOP(apply<Op::EQ>(a, b)); VM_BREAK; }
  VM_CASE(LT) { BINOP(apply<Op::LT>(a, b)); VM_BREAK; }
  VM_CASE(GT) { BINOP(apply<Op::GT>(a, b)); VM_BREAK; }
  VM_CASE(NE) { BINOP(apply<Op::NE>(a, b)); VM_BREAK; }
  VM_CASE(LE) { BINOP(apply<Op::LE>(a, b)); VM_BREAK; }
  VM_CASE(GE) { BINOP(apply<Op::GE>(a, b)); VM_BREAK; }
  VM_CASE(AND) { BINOP(apply<Op::AND>(a, b)); VM_BREAK; }
  VM_CASE(OR) { BINOP(apply<Op::OR>(a, b)); VM_BREAK; }
  VM_CASE(XOR) { BINOP(apply<Op::XOR>(a, b)); VM_BREAK; }
  VM_CASE(NOT) { sp[-1] = ~sp[-1]; VM_BREAK; }
  VM_CASE(SHL) { BINOP(apply<Op::SHL>(a, b)); VM_BREAK; }
  VM_CASE(SHR) { BINOP(apply<Op::SHR>(a, b)); VM_BREAK; }
  VM_CASE(SAR) { BINOP(apply<Op::SAR>(a, b)); VM_BREAK; }
  VM_CASE(JMP) { JUMP_TO(ip->a); }
  VM_CASE(JZ) {
    if (*--sp == 0) JUMP_TO(ip->a);
    JUMP_TO(ip - cells + 1);
  }
  VM_CASE(JNZ) {
    if (*--sp != 0) JUMP_TO(ip->a);
    JUMP_TO(ip - cells + 1);
  }
  VM_CASE(CALL) {
    if (UNLIKELY(fp == fend)) TRAP(call_depth);
    fp->ret = ip + 1;
    fp->lp = lp;
    ++fp;
    lp = ltop;
    JUMP_TO(ip->a);
  }
  VM_CASE(RET) {
    if (fp == fbase) goto halt;  // RET at top level ends the program like HALT
    --fp;
    ltop = lp;
    lp = fp->lp;
    JUMP_TO(fp->ret - cells);
  }
  VM_CASE(LOCALS) {
    int32_t n = ip->a;
    if (UNLIKELY(lend - ltop < n)) TRAP(locals_exhausted);
    ZERO_LOCALS(n);
    ltop += n;
    VM_BREAK;
  }
  VM_CASE(LGET) {
    if (UNLIKELY(ip->a >= ltop - lp)) TRAP(local_unallocated);
    *sp++ = lp[ip->a];
    VM_BREAK;
  }
  VM_CASE(LSET) {
    if (UNLIKELY(ip->a >= ltop - lp)) TRAP(local_unallocated);
    lp[ip->a] = *--sp;
    VM_BREAK;
  }
  VM_CASE(LTEE) {
    if (UNLIKELY(ip->a >= ltop - lp)) TRAP(local_unallocated);
    lp[ip->a] = sp[-1];
    VM_BREAK;
  }
  VM_CASE(LOAD) {
    if (UNLIKELY(U32(ip->a) >= mem_words)) TRAP(memory_range);
    *sp++ = mem[ip->a];
    VM_BREAK;
  }
  VM_CASE(STORE) {
    if (UNLIKELY(U32(ip->a) >= mem_words)) TRAP(memory_range);
    mem[ip->a] = *--sp;
    VM_BREAK;
  }
  VM_CASE(LOADI) {
    if (UNLIKELY(U32(sp[-1]) >= mem_words)) TRAP(memory_range);
    sp[-1] = mem[sp[-1]];
    VM_BREAK;
  }
  VM_CASE(STOREI) {
    if (UNLIKELY(U32(sp[-1]) >= mem_words)) TRAP(memory_range);
    mem[sp[-1]] = sp[-2];
    sp -= 2;
    VM_BREAK;
  }
  VM_CASE(HOST_CALL) {
    int32_t* nsp = host_call(ip, sp);
    if (UNLIKELY(!nsp)) { exit = Exit::Trap; goto trap_set; }
    sp = nsp;
    VM_BREAK;
  }
  VM_CASE(NOP) { VM_BREAK; }
  VM_CASE(HALT) { goto halt; }

#if PXOS_COMPUTED_GOTO
  // ---- superinstructions (fast mode only); operands come from the covered cells. When any
  // check fails, FALLBACK runs the plain handler of the first cell, so a trap is reported by
  // exactly the instruction that would have trapped without fusion (fuzz_vm checks this).
#define FALLBACK() goto* table[ip->op()]
#define SLOT_OK(k) ((k) < ltop - lp)
  S_LGET2: {
    if (UNLIKELY(!SLOT_OK(ip->a) || !SLOT_OK(ip[1].a) || send - sp < 2)) FALLBACK();
    sp[0] = lp[ip->a];
    sp[1] = lp[ip[1].a];
    sp += 2;
    ++ip;
    VM_BREAK;
  }
  S_LINC: {
    if (UNLIKELY(!SLOT_OK(ip->a) || send - sp < 1)) FALLBACK();
    lp[ip->a] = I32(U32(lp[ip->a]) + 1u);
    ip += 2;
    VM_BREAK;
  }
  S_LINC_TEE: {
    if (UNLIKELY(!SLOT_OK(ip->a) || send - sp < 1)) FALLBACK();
    *sp++ = lp[ip->a] = I32(U32(lp[ip->a]) + 1u);
    ip += 2;
    VM_BREAK;
  }
  S_LDEC: {
    if (UNLIKELY(!SLOT_OK(ip->a) || send - sp < 1)) FALLBACK();
    lp[ip->a] = I32(U32(lp[ip->a]) - 1u);
    ip += 2;
    VM_BREAK;
  }
  S_LGET_LOADI: {
    if (UNLIKELY(!SLOT_OK(ip->a) || send - sp < 1 || U32(lp[ip->a]) >= mem_words)) FALLBACK();
    *sp++ = mem[lp[ip->a]];
    ++ip;
    VM_BREAK;
  }
  S_LGET_PUSH: {
    if (UNLIKELY(!SLOT_OK(ip->a) || send - sp < 2)) FALLBACK();
    sp[0] = lp[ip->a];
    sp[1] = ip[1].a;
    sp += 2;
    ++ip;
    VM_BREAK;
  }
  S_LACC: {
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == sbase || sp == send)) FALLBACK();
    lp[ip->a] = I32(U32(lp[ip->a]) + U32(*--sp));
    ip += 2;
    VM_BREAK;
  }
  S_LADD_LOADI: {
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == sbase || sp == send)) FALLBACK();
    uint32_t addr = U32(sp[-1]) + U32(lp[ip->a]);
    if (UNLIKELY(addr >= mem_words)) FALLBACK();
    sp[-1] = mem[addr];
    ip += 2;
    VM_BREAK;
  }
  S_PADD_LOADI: {
    if (UNLIKELY(sp == sbase || sp == send)) FALLBACK();
    uint32_t addr = U32(sp[-1]) + U32(ip->a);
    if (UNLIKELY(addr >= mem_words)) FALLBACK();
    sp[-1] = mem[addr];
    ip += 2;
    VM_BREAK;
  }
#define X(name)                                                                          \
  SB_##name: {                                                                           \
    if (UNLIKELY(sp == sbase || sp == send || (divides(Op::name) && ip->a == 0))) FALLBACK(); \
    sp[-1] = apply<Op::name>(sp[-1], ip->a);                                             \
    ++ip;                                                                                \
    VM_BREAK;                                                                            \
  }
  PXOS_SUPER_BINOPS(X)
#undef X
#define X(name)                                                                          \
  SL_##name: {                                                                           \
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == sbase || sp == send ||                        \
                 (divides(Op::name) && lp[ip->a] == 0))) FALLBACK();                    \
    sp[-1] = apply<Op::name>(sp[-1], lp[ip->a]);                                         \
    ++ip;                                                                                \
    VM_BREAK;                                                                            \
  }
  PXOS_SUPER_BINOPS(X)
#undef X
#define X(name)                                                       \
  SCZ_##name: {                                                       \
    if (UNLIKELY(sp - sbase < 2)) FALLBACK();                         \
    sp -= 2;                                                          \
    if (!apply<Op::name>(sp[0], sp[1])) JUMP_TO(ip[1].a);             \
    JUMP_TO(ip - cells + 2);                                          \
  }                                                                   \
  SCN_##name: {                                                       \
    if (UNLIKELY(sp - sbase < 2)) FALLBACK();                         \
    sp -= 2;                                                          \
    if (apply<Op::name>(sp[0], sp[1])) JUMP_TO(ip[1].a);              \
    JUMP_TO(ip - cells + 2);                                          \
  }                                                                   \
  SPZ_##name: {                                                       \
    if (UNLIKELY(sp == sbase || sp == send)) FALLBACK();              \
    --sp;                                                             \
    if (!apply<Op::name>(sp[0], ip->a)) JUMP_TO(ip[2].a);             \
    JUMP_TO(ip - cells + 3);                                          \
  }                                                                   \
  SPN_##name: {                                                       \
    if (UNLIKELY(sp == sbase || sp == send)) FALLBACK();              \
    --sp;                                                             \
    if (apply<Op::name>(sp[0], ip->a)) JUMP_TO(ip[2].a);              \
    JUMP_TO(ip - cells + 3);                                          \
  }
  PXOS_SUPER_CMPS(X)
#undef X
  // ---- frames
#define DO_RET()                  \
  do {                            \
    if (fp == fbase) goto halt;   \
    --fp;                         \
    ltop = lp;                    \
    lp = fp->lp;                  \
    JUMP_TO(fp->ret - cells);     \
  } while (0)
  S_ENTER_SET: {
    if (UNLIKELY(lend - ltop < ip->a || sp == sbase || ip[1].a >= ltop - lp + ip->a)) FALLBACK();
    ZERO_LOCALS(ip->a);
    ltop += ip->a;
    lp[ip[1].a] = *--sp;
    ip += 1;
    VM_BREAK;
  }
  S_ENTER_TEE: {
    if (UNLIKELY(lend - ltop < ip->a || sp == sbase || ip[1].a >= ltop - lp + ip->a)) FALLBACK();
    ZERO_LOCALS(ip->a);
    ltop += ip->a;
    lp[ip[1].a] = sp[-1];
    ip += 1;
    VM_BREAK;
  }
#define DO_CALL()                 \
  do {                            \
    fp->ret = ip + 1;             \
    fp->lp = lp;                  \
    ++fp;                         \
    lp = ltop;                    \
    JUMP_TO(ip->a);               \
  } while (0)
#define ENTER_OK(n, k) ((k) < ltop - lp + (n))
  S_ENTER_SET2: {
    if (UNLIKELY(lend - ltop < ip->a || sp - sbase < 2 || !ENTER_OK(ip->a, ip[1].a) || !ENTER_OK(ip->a, ip[2].a)))
      FALLBACK();
    ZERO_LOCALS(ip->a);
    ltop += ip->a;
    lp[ip[1].a] = sp[-1];
    lp[ip[2].a] = sp[-2];
    sp -= 2;
    ip += 2;
    VM_BREAK;
  }
  S_ENTER_SET3: {
    if (UNLIKELY(lend - ltop < ip->a || sp - sbase < 3 || !ENTER_OK(ip->a, ip[1].a) || !ENTER_OK(ip->a, ip[2].a) ||
                 !ENTER_OK(ip->a, ip[3].a)))
      FALLBACK();
    ZERO_LOCALS(ip->a);
    ltop += ip->a;
    lp[ip[1].a] = sp[-1];
    lp[ip[2].a] = sp[-2];
    lp[ip[3].a] = sp[-3];
    sp -= 3;
    ip += 3;
    VM_BREAK;
  }
  S_LSET2: {
    if (UNLIKELY(sp - sbase < 2 || !SLOT_OK(ip->a) || !SLOT_OK(ip[1].a))) FALLBACK();
    lp[ip->a] = sp[-1];
    lp[ip[1].a] = sp[-2];
    sp -= 2;
    ip += 1;
    VM_BREAK;
  }
  S_LGET_CALL: {
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == send || fp == fend)) FALLBACK();
    *sp++ = lp[ip->a];
    ip += 1;
    DO_CALL();
  }
  S_LGET2_CALL: {
    if (UNLIKELY(!SLOT_OK(ip->a) || !SLOT_OK(ip[1].a) || send - sp < 2 || fp == fend)) FALLBACK();
    sp[0] = lp[ip->a];
    sp[1] = lp[ip[1].a];
    sp += 2;
    ip += 2;
    DO_CALL();
  }
  S_LGET_RET: {
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == send)) FALLBACK();
    *sp++ = lp[ip->a];
    ip += 1;  // at the RET (a halt there reports it)
    DO_RET();
  }
  S_ADD_RET: {
    if (UNLIKELY(sp - sbase < 2)) FALLBACK();
    BINOP(apply<Op::ADD>(a, b));
    ip += 1;
    DO_RET();
  }
  S_LGET_INC: {
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == send)) FALLBACK();
    *sp++ = I32(U32(lp[ip->a]) + 1u);
    ip += 1;
    VM_BREAK;
  }
  S_LGET_DEC: {
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == send)) FALLBACK();
    *sp++ = I32(U32(lp[ip->a]) - 1u);
    ip += 1;
    VM_BREAK;
  }
  // ---- memory through locals
#define MEM_OK(x) (U32(x) < mem_words)
  S_LSTOREI: {
    if (UNLIKELY(!SLOT_OK(ip->a) || sp == sbase || sp == send || !MEM_OK(lp[ip->a]))) FALLBACK();
    mem[lp[ip->a]] = *--sp;
    ip += 1;
    VM_BREAK;
  }
  S_PLSTOREI: {
    if (UNLIKELY(send - sp < 2 || !SLOT_OK(ip[1].a) || !MEM_OK(lp[ip[1].a]))) FALLBACK();
    mem[lp[ip[1].a]] = ip->a;
    ip += 2;
    VM_BREAK;
  }
  S_LLADD_SET: {
    if (UNLIKELY(send - sp < 2 || !SLOT_OK(ip->a) || !SLOT_OK(ip[1].a) || !SLOT_OK(ip[3].a))) FALLBACK();
    lp[ip[3].a] = I32(U32(lp[ip->a]) + U32(lp[ip[1].a]));
    ip += 3;
    VM_BREAK;
  }
  S_LOADI_SET: {
    if (UNLIKELY(sp == send || !SLOT_OK(ip->a) || !MEM_OK(lp[ip->a]) || !SLOT_OK(ip[2].a))) FALLBACK();
    lp[ip[2].a] = mem[lp[ip->a]];
    ip += 2;
    VM_BREAK;
  }
  // ---- the seed's memory cells
  S_LOAD2: {
    if (UNLIKELY(send - sp < 2 || !MEM_OK(ip->a) || !MEM_OK(ip[1].a))) FALLBACK();
    sp[0] = mem[ip->a];
    sp[1] = mem[ip[1].a];
    sp += 2;
    ip += 1;
    VM_BREAK;
  }
  S_MINC: {
    if (UNLIKELY(sp == send || !MEM_OK(ip->a))) FALLBACK();
    mem[ip->a] = I32(U32(mem[ip->a]) + 1u);
    ip += 2;
    VM_BREAK;
  }
  S_MINC_TEE: {
    if (UNLIKELY(send - sp < 2 || !MEM_OK(ip->a))) FALLBACK();
    *sp++ = mem[ip->a] = I32(U32(mem[ip->a]) + 1u);
    ip += 3;
    VM_BREAK;
  }
  S_MDEC: {
    if (UNLIKELY(sp == send || !MEM_OK(ip->a))) FALLBACK();
    mem[ip->a] = I32(U32(mem[ip->a]) - 1u);
    ip += 2;
    VM_BREAK;
  }
  S_MACC: {
    if (UNLIKELY(sp == sbase || sp == send || !MEM_OK(ip->a))) FALLBACK();
    mem[ip->a] = I32(U32(mem[ip->a]) + U32(*--sp));
    ip += 2;
    VM_BREAK;
  }
  S_DUP_STORE: {
    if (UNLIKELY(sp == sbase || sp == send || !MEM_OK(ip[1].a))) FALLBACK();
    mem[ip[1].a] = sp[-1];
    ip += 1;
    VM_BREAK;
  }
  // ---- families over the binary operators
#define X(name)                                                                              \
  SLP_##name: {                                                                              \
    if (UNLIKELY(send - sp < 2 || !SLOT_OK(ip->a) || (divides(Op::name) && ip[1].a == 0))) FALLBACK(); \
    *sp++ = apply<Op::name>(lp[ip->a], ip[1].a);                                             \
    ip += 2;                                                                                 \
    VM_BREAK;                                                                                \
  }                                                                                          \
  SM_##name: {                                                                               \
    if (UNLIKELY(sp == sbase || sp == send || !MEM_OK(ip->a) ||                             \
                 (divides(Op::name) && mem[ip->a] == 0))) FALLBACK();                       \
    sp[-1] = apply<Op::name>(sp[-1], mem[ip->a]);                                            \
    ip += 1;                                                                                 \
    VM_BREAK;                                                                                \
  }                                                                                          \
  SBS_##name: {                                                                              \
    if (UNLIKELY(sp - sbase < 2 || !MEM_OK(ip[1].a) || (divides(Op::name) && sp[-1] == 0))) FALLBACK(); \
    mem[ip[1].a] = apply<Op::name>(sp[-2], sp[-1]);                                          \
    sp -= 2;                                                                                 \
    ip += 1;                                                                                 \
    VM_BREAK;                                                                                \
  }
  PXOS_SUPER_BINOPS(X)
#undef X
  // ---- compare-and-branch families: Z jumps when the comparison is false (JZ), N when true
#define X(name)                                                                          \
  SLPZ_##name: {                                                                         \
    if (UNLIKELY(send - sp < 2 || !SLOT_OK(ip->a))) FALLBACK();                         \
    if (!apply<Op::name>(lp[ip->a], ip[1].a)) JUMP_TO(ip[3].a);                         \
    JUMP_TO(ip - cells + 4);                                                             \
  }                                                                                      \
  SLPN_##name: {                                                                         \
    if (UNLIKELY(send - sp < 2 || !SLOT_OK(ip->a))) FALLBACK();                         \
    if (apply<Op::name>(lp[ip->a], ip[1].a)) JUMP_TO(ip[3].a);                          \
    JUMP_TO(ip - cells + 4);                                                             \
  }                                                                                      \
  SLLZ_##name: {                                                                         \
    if (UNLIKELY(send - sp < 2 || !SLOT_OK(ip->a) || !SLOT_OK(ip[1].a))) FALLBACK();    \
    if (!apply<Op::name>(lp[ip->a], lp[ip[1].a])) JUMP_TO(ip[3].a);                     \
    JUMP_TO(ip - cells + 4);                                                             \
  }                                                                                      \
  SLLN_##name: {                                                                         \
    if (UNLIKELY(send - sp < 2 || !SLOT_OK(ip->a) || !SLOT_OK(ip[1].a))) FALLBACK();    \
    if (apply<Op::name>(lp[ip->a], lp[ip[1].a])) JUMP_TO(ip[3].a);                      \
    JUMP_TO(ip - cells + 4);                                                             \
  }                                                                                      \
  SLCZ_##name: {                                                                         \
    if (UNLIKELY(sp == sbase || sp == send || !SLOT_OK(ip->a))) FALLBACK();             \
    --sp;                                                                                \
    if (!apply<Op::name>(sp[0], lp[ip->a])) JUMP_TO(ip[2].a);                           \
    JUMP_TO(ip - cells + 3);                                                             \
  }                                                                                      \
  SLCN_##name: {                                                                         \
    if (UNLIKELY(sp == sbase || sp == send || !SLOT_OK(ip->a))) FALLBACK();             \
    --sp;                                                                                \
    if (apply<Op::name>(sp[0], lp[ip->a])) JUMP_TO(ip[2].a);                            \
    JUMP_TO(ip - cells + 3);                                                             \
  }                                                                                      \
  SMPZ_##name: {                                                                         \
    if (UNLIKELY(send - sp < 2 || !MEM_OK(ip->a))) FALLBACK();                          \
    if (!apply<Op::name>(mem[ip->a], ip[1].a)) JUMP_TO(ip[3].a);                        \
    JUMP_TO(ip - cells + 4);                                                             \
  }                                                                                      \
  SMPN_##name: {                                                                         \
    if (UNLIKELY(send - sp < 2 || !MEM_OK(ip->a))) FALLBACK();                          \
    if (apply<Op::name>(mem[ip->a], ip[1].a)) JUMP_TO(ip[3].a);                         \
    JUMP_TO(ip - cells + 4);                                                             \
  }
  PXOS_SUPER_CMPS(X)
#undef X
#undef DO_RET
#undef DO_CALL
#undef ENTER_OK
#undef MEM_OK
#undef FALLBACK
#undef SLOT_OK
#endif

  VM_SWITCH_END

L_BAD:
  TRAP(bad_opcode);  // unreachable after verification; kept so a bad table cannot jump wild
halt:
  exit = Exit::Halt;
  goto save;
trap:
  // Every field a traps.def message may name from the loop's state; each row picks its own.
  set_trap(trap_kind, ip,
           {.depth = sp - sbase, .stack = stack_.size(), .memory = mem_words, .frames = frames_.size()});
trap_set:
  exit = Exit::Trap;
  if constexpr (!kExact) fuel += runlen[ip - cells] - 1;  // the rest of this run never ran
save:
  fuel_io = fuel;
  ip_ = ip;
  sp_ = sp;
  fp_ = fp;
  lp_ = lp;
  ltop_ = ltop;
  return exit;

#undef VM_CASE
#undef VM_DISPATCH
#undef VM_SWITCH_BEGIN
#undef VM_SWITCH_END
#undef CHARGE
#undef PREPARE
#undef VM_BREAK
#undef JUMP_TO
#undef TRAP
#undef STACK_EFFECT
#undef BINOP
#undef U32
#undef OUTPUT_TRAP
#undef I32
#undef ZERO_LOCALS
}

RunResult Machine::run(const RunOptions& opt) {
  opt_ = &opt;
  const Limits& lim = opt.limits;
  RunResult res;
  stack_.assign(std::max<uint32_t>(1, lim.stack_words), 0);
  locals_.assign(std::max<uint32_t>(1, lim.local_words), 0);
  mem_.assign(std::min(lim.memory_words, kMaxMemoryWords), 0);
  frames_.assign(std::max<uint32_t>(1, lim.max_frames), Frame{nullptr, nullptr});
  out_.clear();
  out_total_ = 0;
  env_.rng = env_.seed;
  env_.started = std::chrono::steady_clock::now();
  auto t0 = env_.started;
  timed_out_ = false;
  env_.timeout_ms = lim.timeout_ms;
  env_.deadline = lim.timeout_ms ? t0 + std::chrono::milliseconds(lim.timeout_ms) : std::chrono::steady_clock::time_point::max();

  int32_t entry = prog_.cell_at(opt.entry);
  if (entry < 0) {
    res.trap.kind = TrapKind::bad_entry;
    res.trap.code = trap_errc(TrapKind::bad_entry);
    res.trap.message = trap_message(TrapKind::bad_entry, {.entry = opt.entry});
    res.trap.pc = opt.entry;
    res.trap.locate(prog_.module().source);
    res.trap_pc = opt.entry;
    opt_ = nullptr;
    return res;
  }
  if (opt.counts) opt.counts->assign(cells_.size(), 0);
  std::copy_n(opt.start_memory.begin(), std::min(opt.start_memory.size(), mem_.size()), mem_.begin());
  size_t carried = std::min(opt.start_stack.size(), stack_.size());
  std::copy_n(opt.start_stack.begin(), carried, stack_.begin());
#if PXOS_VM_HOSTED
  std::optional<Tracer> tracer;
  hook_ = opt.on_step;
  if (!hook_ && opt.trace) {
    tracer.emplace(prog_, opt.trace_out);
    hook_ = [&tracer](const Machine& m) { return (*tracer)(m); };
  }
  hooked_ = bool(hook_);
#endif
  ip_ = cells_.data() + entry;
  sp_ = stack_.data() + carried;
  fp_ = frames_.data();
  lp_ = ltop_ = locals_.data();

  uint64_t budget = lim.max_steps ? lim.max_steps : UINT64_MAX;  // steps still allowed
  uint64_t used = 0;
  Exit e;
  for (;;) {
    uint64_t run = prog_.runlen()[size_t(ip_ - cells_.data())];
    const bool instrumented = hooked_ || opt.counts;
    if (instrumented || budget < run) {
      // Exact mode: charge each step (the last partial run, or tracing), in slices so that the
      // deadline is checked while tracing too.
      int64_t fuel = int64_t(std::min<uint64_t>(budget, uint64_t(kExactSlice)));
      int64_t given = fuel;
      e = instrumented ? loop<true, true>(fuel) : loop<true, false>(fuel);
      used += uint64_t(given - fuel);
      budget -= uint64_t(given - fuel);
      if (e == Exit::Stopped) {
        set_trap(TrapKind::stopped, ip_);
        e = Exit::Trap;
        break;
      }
      if (e != Exit::OutOfFuel) break;
      if (budget == 0) {
        set_trap(TrapKind::step_limit, ip_, {.limit = lim.max_steps});
        e = Exit::Trap;
        break;
      }
    } else {
      int64_t fuel = int64_t(std::min<uint64_t>(budget, uint64_t(std::max<int64_t>(kFuelSlice, int64_t(run)))));
      int64_t given = fuel;
      e = loop<false, false>(fuel);
      used += uint64_t(given - fuel);
      budget -= uint64_t(given - fuel);
      if (e != Exit::Refuel) break;
    }
    if (past_deadline()) {
      set_trap(TrapKind::time_limit, ip_, {.limit = lim.timeout_ms});
      e = Exit::Trap;
      break;
    }
  }
  flush();
  if (out_errno_ && e == Exit::Halt) {  // the last output was refused: the run did not succeed
    output_trap(ip_);
    e = Exit::Trap;
  }
  res.halted = e == Exit::Halt;
  if (!res.halted) {
    res.trap = trap_;
    res.trap_pc = trap_.pc;
  }
  res.steps = used;
  depth_ = size_t(sp_ - stack_.data());
  res.output_bytes = out_total_;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
#if PXOS_VM_HOSTED
  hook_ = nullptr;  // may refer to this run's tracer
  hooked_ = false;
#endif
  opt_ = nullptr;
  return res;
}

}  // namespace pxos::vm
