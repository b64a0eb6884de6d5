// server.cpp: one-step processing of the shared area and the opcode handlers. Every word a
// client wrote is loaded once into a local and checked before use; the server writes only the
// words protocol.def marks as its own, CQ entries, and checked data-area ranges.
#include "mailbox/server.hpp"

#include "common/printable.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "mailbox/area.hpp"
#include "mailbox/tsc.hpp"

namespace pxos::mailbox {

namespace {
Reply ok(uint32_t resp = 0, uint32_t resp1 = 0) { return {st::COMPLETE, resp, resp1}; }
uint32_t rd32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
}  // namespace

Result<std::vector<Bytes>> cpu_gpu_exec(std::string_view kernel, std::string_view entry, std::vector<Bytes> b,
                                        std::array<uint32_t, 3> wg) {
  (void)entry;
  if (kernel == "add_u32") {  // buf0[i] += buf1[i]
    if (b.size() != 2) return fail(Errc::GpuError, "add_u32: needs 2 buffers");
    size_t n = std::min(b[0].size(), b[1].size()) / 4;
    for (size_t i = 0; i < n; ++i) {
      uint32_t x = rd32(&b[0][i * 4]) + rd32(&b[1][i * 4]);
      std::memcpy(&b[0][i * 4], &x, 4);
    }
    b.resize(1);
    return b;
  }
  if (kernel == "fill_u32") {  // buf0[i] = workgroups.x
    if (b.size() != 1) return fail(Errc::GpuError, "fill_u32: needs 1 buffer");
    for (size_t i = 0; i + 4 <= b[0].size(); i += 4) std::memcpy(&b[0][i], &wg[0], 4);
    return b;
  }
  return failf(Errc::GpuError, "no cpu kernel '{}'", kernel);
}

Server::Server(uint8_t* base, size_t size, ServerConfig cfg)
    : base_(base), size_(size), cfg_(std::move(cfg)) {
  // A size outside the table's range would put fixed offsets outside the mapping: clamp the
  // server to a no-op rather than touch it (Area refuses such sizes before we get here).
  if (size_ < c::MIN_SIZE || size_ > c::MAX_SIZE) size_ = 0;
  if (cfg_.max_batch == 0 || cfg_.max_batch > c::RING_ENTRIES) cfg_.max_batch = c::RING_ENTRIES;
  if (cfg_.mmio_size % 4 || cfg_.mmio_size < 8 || cfg_.mmio_size > (1u << 20) ||
      uint64_t(cfg_.mmio_base) + cfg_.mmio_size > (1ull << 32) || cfg_.mmio_base % 4) {
    cfg_.mmio_base = c::MMIO_BASE;
    cfg_.mmio_size = c::MMIO_SIZE;
  }
  mmio_.assign(cfg_.mmio_size / 4, 0);
  mmio_[0] = c::MAGIC;
  mmio_[1] = cfg_.mmio_size;
  if (size_) alloc_ = DataAllocator(c::DATA_OFFSET, uint32_t(size_), c::ALLOC_ALIGN);
#define MB_OP(name, byte, handler, speed, gpu, args, result, doc) table_[op::name] = &Server::op_##handler;
#include "mailbox/protocol.def"
  rng_ ^= uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
}

void Server::start() {
  if (!size_) return;
  Header& h = header();
  st_rlx(h.magic, c::MAGIC);
  st_rlx(h.version, c::VERSION);
  st_rlx(h.size, uint32_t(size_));
  st_rlx(h.data_size, uint32_t(size_ - c::DATA_OFFSET));
  epoch_ = ld_rlx(h.epoch) + 1;
  st_rlx(h.epoch, epoch_);
  st_rlx(h.ring_flags, 0);
  // Adopt the ring where a previous server left it; a corrupt pair is resynchronised.
  sq_head_ = ld_acq(h.sq_head);
  uint32_t sq_tail = ld_acq(h.sq_tail);
  if (sq_tail - sq_head_ > c::RING_ENTRIES) {
    fault(err::RING_CORRUPT, "at start: SQ_TAIL 0x{:x} SQ_HEAD 0x{:x}", sq_tail, sq_head_);
    sq_head_ = sq_tail;
    st_rlx(h.ring_flags, flag::SQ_FAULT);
  }
  cq_tail_ = ld_acq(h.cq_tail);
  uint32_t cq_head = ld_acq(h.cq_head);
  if (cq_tail_ - cq_head > c::RING_ENTRIES) {
    fault(err::RING_CORRUPT, "at start: CQ_TAIL 0x{:x} CQ_HEAD 0x{:x}", cq_tail_, cq_head);
    cq_tail_ = cq_head;  // nothing valid is pending for the client
    st_rlx(h.ring_flags, ld_rlx(h.ring_flags) | flag::CQ_FAULT);
  }
  st_rel(h.sq_head, sq_head_);
  st_rel(h.cq_tail, cq_tail_);
  st_rel(h.status, st::READY);
}

size_t Server::step() {
  if (!size_ || halted_) return 0;
  size_t n = step_v1();
  if (!halted_) n += step_ring();
  return n;
}

Reply Server::timed(uint32_t cmd, uint32_t arg0, uint32_t arg1) {
  if (!cfg_.time_ops) return execute(cmd, arg0, arg1);
  uint64_t t0 = tsc_now();
  Reply r = execute(cmd, arg0, arg1);
  stats_[cmd_opcode(cmd)].ticks.add(tsc_now() - t0);
  return r;
}

size_t Server::step_v1() {
  Header& h = header();
  uint32_t db = ld_acq(h.doorbell);
  if (db == 0) return 0;
  Reply r;
  if (db != 1) {
    r = fault(err::BAD_DOORBELL, "DOORBELL 0x{:x}", db);
  } else {
    uint32_t cmd = ld_rlx(h.cmd), a0 = ld_rlx(h.arg0), a1 = ld_rlx(h.arg1);
    // BUSY for commands that can take a while (I/O, GPU). The register-only ones finish within
    // nanoseconds: a BUSY store there only adds one more cache-line round trip with the
    // client, which polls this line, to the latency (docs/mailbox.md).
    uint8_t o = cmd_opcode(cmd);
    if (op_is_slow(o)) st_rlx(h.status, st::BUSY);
    r = timed(cmd, a0, a1);
  }
  st_rlx(h.resp, r.resp);
  st_rlx(h.resp1, r.resp1);
  st_rlx(h.status, r.status);
  st_rlx(h.served, uint32_t(++served_));
  st_rel(h.doorbell, 0);  // hands the slot (and RESP/STATUS) back to the client
  return 1;
}

size_t Server::step_ring() {
  Header& h = header();
  // CQ_TAIL is ours: a client that overwrote it gets the true value back at once, so that it
  // can resynchronise (Client::resync) instead of the ring wedging (issue 19.7b). A load of a
  // line the client only reads costs no cache-line transfer.
  if (uint32_t seen = ld_rlx(h.cq_tail); seen != cq_tail_) {
    fault(err::RING_CORRUPT, "CQ_TAIL overwritten with 0x{:x} (true 0x{:x}); restored", seen, cq_tail_);
    st_rel(h.cq_tail, cq_tail_);
  }
  uint32_t tail = ld_acq(h.sq_tail);
  uint32_t pending = tail - sq_head_;
  if (pending == 0) return 0;
  if (pending > c::RING_ENTRIES) {  // backwards or past the size: drop the span, resync
    fault(err::RING_CORRUPT, "SQ_TAIL 0x{:x} SQ_HEAD 0x{:x}", tail, sq_head_);
    sq_head_ = tail;
    st_rlx(h.ring_flags, ld_rlx(h.ring_flags) | flag::SQ_FAULT);
    st_rel(h.sq_head, sq_head_);
    return 0;
  }
  uint32_t cq_head = ld_acq(h.cq_head);
  uint32_t used = cq_tail_ - cq_head;
  if (used > c::RING_ENTRIES) {  // the client's CQ_HEAD is insane: hold completions
    if (!cq_fault_) {
      fault(err::RING_CORRUPT, "CQ_HEAD 0x{:x} CQ_TAIL 0x{:x}", cq_head, cq_tail_);
      st_rlx(h.ring_flags, ld_rlx(h.ring_flags) | flag::CQ_FAULT);
      cq_fault_ = true;
    }
    return 0;
  }
  if (cq_fault_) {
    cq_fault_ = false;
    st_rlx(h.ring_flags, ld_rlx(h.ring_flags) & ~flag::CQ_FAULT);
  }
  uint32_t n = std::min({pending, c::RING_ENTRIES - used, cfg_.max_batch});
  Layout& L = *reinterpret_cast<Layout*>(base_);
  uint32_t done = 0;
  auto post = [&](uint32_t i, uint32_t ud, const Reply& r) {
    Cqe& e = L.cq[(cq_tail_ + i) & c::RING_MASK];
    st_rlx(e.user_data, ud);
    st_rlx(e.status, r.status);
    st_rlx(e.resp, r.resp);
    st_rlx(e.resp1, r.resp1);
  };
  if (cfg_.batch) {  // copy the batch once (the client may scribble on it), serve it, post it
    std::array<Sqe, c::RING_ENTRIES> in;
    std::array<Reply, c::RING_ENTRIES> rep{};
    for (uint32_t i = 0; i < n; ++i) {
      const Sqe& s = L.sq[(sq_head_ + i) & c::RING_MASK];
      in[i] = Sqe{ld_rlx(s.cmd), ld_rlx(s.arg0), ld_rlx(s.arg1), ld_rlx(s.user_data)};
    }
    uint64_t t0 = tsc_now();
    bool ok_batch = cfg_.batch(std::span<const Sqe>(in.data(), n), std::span<Reply>(rep.data(), n));
    uint64_t per = (tsc_now() - t0) / n;
    if (!ok_batch && cfg_.log && !batch_failed_logged_) {
      batch_failed_logged_ = true;
      std::fprintf(cfg_.log, "mailboxd: the batch handler failed; the host serves ring entries (logged once)\n");
    }
    while (done < n && !halted_) {
      const Sqe& q = in[done];
      Reply r = rep[done];
      if (!ok_batch || r.status == 0) {
        r = timed(q.cmd, q.arg0, q.arg1);
      } else {  // served by the batch: count it like the table would
        ++batch_served_;
        OpStats& os = stats_[cmd_opcode(q.cmd)];
        ++os.count;
        if (r.status & st::ERROR) {
          ++os.errors;
          fault(uint16_t(r.status & st::CODE_MASK), "command 0x{:08x} (batch handler)", q.cmd);
        }
        if (cfg_.time_ops) os.ticks.add(per);
      }
      post(done, q.user_data, r);
      ++done;
    }
  } else {
    uint64_t t0 = cfg_.time_ops ? tsc_now() : 0;  // one clock read per entry: each ends the last
    while (done < n && !halted_) {
      const Sqe& s = L.sq[(sq_head_ + done) & c::RING_MASK];
      uint32_t cmd = ld_rlx(s.cmd), a0 = ld_rlx(s.arg0), a1 = ld_rlx(s.arg1), ud = ld_rlx(s.user_data);
      Reply r = execute(cmd, a0, a1);
      if (cfg_.time_ops) {
        uint64_t t1 = tsc_now();
        stats_[cmd_opcode(cmd)].ticks.add(t1 - t0);
        t0 = t1;
      }
      post(done, ud, r);
      ++done;
    }
  }
  sq_head_ += done;
  cq_tail_ += done;
  served_ += done;
  st_rlx(h.served, uint32_t(served_));
  // Slots first, then completions: a client that has reaped the completion of an entry must
  // find its submission slot free (it sizes its batches by in_flight()). In the other order it
  // could see the completion, still read the old SQ_HEAD, and have submit() refuse (issue 19.2).
  st_rel(h.sq_head, sq_head_);  // slots reusable
  st_rel(h.cq_tail, cq_tail_);  // completions visible (release: also publishes SQ_HEAD above)
  return done;
}

bool Server::note_fault(uint16_t code) {
  ++faults_;
  if (size_) {
    Header& h = header();
    st_rlx(h.faults, uint32_t(faults_));
    st_rlx(h.last_fault, code);
  }
  if (!cfg_.log || code >= 32 || (logged_ & (1u << code))) return false;  // once per kind
  logged_ |= 1u << code;
  return true;
}

void Server::print_fault(uint16_t code, const std::string& raw) {
  // Messages quote client bytes (kernel names): the one escaping helper makes them one line
  // that cannot drive the terminal (issue 19.7b).
  std::string what = printable(raw);
  std::fprintf(cfg_.log, "mailboxd: fault %.*s: %s (further faults of this kind are counted, not printed)\n",
               int(err_name(code).size()), err_name(code).data(), what.c_str());
}

Reply Server::execute(uint32_t cmd, uint32_t arg0, uint32_t arg1) {
  uint8_t opc = cmd_opcode(cmd);
  OpStats& s = stats_[opc];
  ++s.count;
  Reply r;
  if (cmd_thread(cmd) >= c::MAX_THREADS) {
    r = fault(err::BAD_THREAD, "command 0x{:08x}: thread {}", cmd, cmd_thread(cmd));
  } else if (Handler f = table_[opc]) {
    r = (this->*f)(cmd, arg0, arg1);
  } else {
    r = fault(err::BAD_OPCODE, "command 0x{:08x}: opcode 0x{:02x}", cmd, opc);
  }
  if (r.status & st::ERROR) ++s.errors;
  return r;
}

std::span<uint8_t> Server::data(uint32_t off, uint32_t len) { return {base_ + off, len}; }

Reply Server::op_uart_write(uint32_t cmd, uint32_t a0, uint32_t a1) {
  uint16_t p = cmd_payload(cmd);
  uint8_t byte;
  const uint8_t* src;
  size_t len;
  if (p < 0x100) {
    byte = uint8_t(p);
    src = &byte;
    len = 1;
  } else if (p == c::BUF_FLAG) {
    if (!data_range_ok(size_, a0, a1))
      return fault(err::OUT_OF_RANGE, "UART_WRITE offset 0x{:x} length {}", a0, a1);
    src = base_ + a0;
    len = a1;
  } else {
    return fault(err::BAD_ARG, "UART_WRITE payload 0x{:x}", p);
  }
  if (cfg_.uart_out < 0) return ok(uint32_t(len));
  size_t done = 0;
  while (done < len) {
    ssize_t w = ::write(cfg_.uart_out, src + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return fault(err::IO_FAILED, "UART_WRITE: {}", std::strerror(errno));
    done += size_t(w);
  }
  return ok(uint32_t(len));
}

Reply Server::op_uart_read(uint32_t cmd, uint32_t a0, uint32_t a1) {
  uint16_t p = cmd_payload(cmd);
  uint8_t one;
  uint8_t* dst;
  size_t len;
  if (p == 0) {
    dst = &one;
    len = 1;
  } else if (p == c::BUF_FLAG) {
    if (!data_range_ok(size_, a0, a1))
      return fault(err::OUT_OF_RANGE, "UART_READ offset 0x{:x} length {}", a0, a1);
    dst = base_ + a0;
    len = a1;
  } else {
    return fault(err::BAD_ARG, "UART_READ payload 0x{:x}", p);
  }
  ssize_t got = 0;
  if (cfg_.uart_in >= 0 && len > 0) {
    pollfd pf{cfg_.uart_in, POLLIN, 0};
    if (::poll(&pf, 1, 0) == 1 && (pf.revents & (POLLIN | POLLHUP))) {
      got = ::read(cfg_.uart_in, dst, len);
      if (got < 0) got = 0;
    }
  }
  if (p == 0) return ok(got == 1 ? one : c::UART_NONE);
  return ok(uint32_t(got));
}

Reply Server::op_gpu_execute(uint32_t, uint32_t a0, uint32_t a1) {
  if (!cfg_.gpu) return fault(err::UNSUPPORTED, "GPU_EXECUTE: this backend has no GPU");
  if (a1 < c::GPU_DESC_SIZE || !data_range_ok(size_, a0, a1))
    return fault(err::OUT_OF_RANGE, "GPU_EXECUTE descriptor 0x{:x} length {}", a0, a1);
  // Copy the descriptor first: the client may change it while we work.
  Bytes desc(base_ + a0, base_ + a0 + a1);
  ByteReader rd(desc);
  auto name_of = [](std::string_view raw) { return raw.substr(0, std::min(raw.find('\0'), raw.size())); };
  std::string kernel(name_of(rd.str(c::GPU_NAME_LEN))), entry(name_of(rd.str(c::GPU_NAME_LEN)));
  std::array<uint32_t, 3> wg{rd.u32(), rd.u32(), rd.u32()};
  uint32_t nbuf = rd.u32();
  if (kernel.empty() || nbuf == 0 || nbuf > c::GPU_MAX_BUFS || a1 < c::GPU_DESC_SIZE + 8 * nbuf)
    return fault(err::BAD_ARG, "GPU_EXECUTE descriptor: kernel '{}' nbuf {}", kernel, nbuf);
  std::vector<std::pair<uint32_t, uint32_t>> where;
  std::vector<Bytes> bufs;
  for (uint32_t i = 0; i < nbuf; ++i) {
    uint32_t off = rd.u32(), len = rd.u32();
    if (!data_range_ok(size_, off, len) || len > (64u << 20))
      return fault(err::OUT_OF_RANGE, "GPU_EXECUTE buffer {}: offset 0x{:x} length {}", i, off, len);
    where.push_back({off, len});
    bufs.emplace_back(base_ + off, base_ + off + len);
  }
  auto out = cfg_.gpu(kernel, entry.empty() ? std::string("main") : entry, std::move(bufs), wg);
  if (!out) return fault(err::GPU_FAILED, "GPU_EXECUTE '{}': {}", kernel, out.error().to_string());
  for (size_t i = 0; i < out->size() && i < where.size(); ++i) {  // never past the buffer
    size_t n = std::min<size_t>((*out)[i].size(), where[i].second);
    if (n) std::memcpy(base_ + where[i].first, (*out)[i].data(), n);  // an empty buffer's data() may be null
  }
  return ok();
}

bool Server::mmio_ok(uint32_t addr) const {
  return addr >= cfg_.mmio_base && addr - cfg_.mmio_base <= cfg_.mmio_size - 4 && addr % 4 == 0;
}

Reply Server::op_mmio_read(uint32_t, uint32_t a0, uint32_t) {
  if (!mmio_ok(a0)) return fault(err::MMIO_DENIED, "MMIO_READ 0x{:08x}", a0);
  return ok(mmio_[(a0 - cfg_.mmio_base) / 4]);
}

Reply Server::op_mmio_write(uint32_t, uint32_t a0, uint32_t a1) {
  if (!mmio_ok(a0)) return fault(err::MMIO_DENIED, "MMIO_WRITE 0x{:08x}", a0);
  uint32_t i = (a0 - cfg_.mmio_base) / 4;
  if (i >= 2) mmio_[i] = a1;  // words 0 (MAGIC) and 1 (size) are read-only
  return ok();
}

// SYSCALL: keyed by number (protocol.def's MB_SYS rows); a number without a row is BAD_SYSCALL.
Reply Server::op_syscall(uint32_t cmd, uint32_t a0, uint32_t a1) {
  static constexpr auto kTable = [] {
    std::array<SysHandler, detail::kSysCount> t{};
#define MB_SYS(name, number, handler, gpu, doc) t[number] = &Server::sys_##handler;
#include "mailbox/protocol.def"
    return t;
  }();
  uint16_t n = cmd_payload(cmd);
  if (n >= kTable.size() || !kTable[n]) return fault(err::BAD_SYSCALL, "SYSCALL {}", n);
  return kTable[n](*this, a0, a1);
}

Reply Server::sys_version(Server&, uint32_t, uint32_t) { return ok(c::VERSION, c::MAGIC); }
Reply Server::sys_time_us(Server&, uint32_t, uint32_t) {
  uint64_t us = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now().time_since_epoch()).count());
  return ok(uint32_t(us), uint32_t(us >> 32));
}
Reply Server::sys_echo(Server&, uint32_t x, uint32_t y) { return ok(x, y); }
Reply Server::sys_add(Server&, uint32_t x, uint32_t y) { return ok(x + y); }
Reply Server::sys_random(Server& s, uint32_t, uint32_t) {
  s.rng_ ^= s.rng_ << 13;
  s.rng_ ^= s.rng_ >> 7;
  s.rng_ ^= s.rng_ << 17;
  return ok(uint32_t(s.rng_), uint32_t(s.rng_ >> 32));
}
Reply Server::sys_stats(Server& s, uint32_t, uint32_t) { return ok(uint32_t(s.served_), uint32_t(s.faults_)); }

Reply Server::op_alloc(uint32_t, uint32_t a0, uint32_t) {
  if (a0 == 0) return fault(err::BAD_ARG, "ALLOC of 0 bytes");
  auto off = alloc_.alloc(a0);
  if (!off) return fault(err::NO_MEMORY, "ALLOC {} bytes", a0);
  return ok(*off);
}

Reply Server::op_free(uint32_t, uint32_t a0, uint32_t) {
  auto n = alloc_.free(a0);
  if (!n) return fault(err::BAD_FREE, "FREE 0x{:x}: not allocated", a0);
  return ok(*n);
}

// MODULE: the host resolves module N (its ModuleSource checks every hash on the way) and places
// a MODULE block (protocol.def) in an ALLOC'd data block; the kernel copies it out and FREEs it.
Reply Server::op_module(uint32_t cmd, uint32_t, uint32_t) {
  uint32_t n = cmd_payload(cmd);
  if (!cfg_.modules) return {error_status(err::NO_MODULE), 0, 0};
  auto got = cfg_.modules(n);
  if (!got) return {error_status(err::NO_MODULE), 0, 0};  // the end of the list: not a fault
  auto say = [&](const std::string& what) {
    if (cfg_.log) std::fprintf(cfg_.log, "mailboxd: module %u: %s\n", n, printable(what).c_str());
  };
  if (!*got) {
    const Error& e = got->error();
    say(e.to_string());
    uint16_t code = e.code == Errc::NotFound || e.code == Errc::Io ? err::MOD_MISSING
                    : e.code == Errc::HashMismatch                 ? err::MOD_TAMPERED
                                                                   : err::MOD_INVALID;
    return fault(code, "MODULE {}", n);
  }
  const BootModule& m = **got;
  uint64_t need = uint64_t(c::MODHDR_SIZE) + m.pxbc.size();
  auto off = need <= size_ - c::DATA_OFFSET ? alloc_.alloc(uint32_t(need)) : std::nullopt;
  if (!off) {
    say(fmt::format("{} bytes do not fit the data area ({} bytes, {} free)", need,
                    size_ - c::DATA_OFFSET, alloc_.free_bytes()));
    return fault(err::MOD_TOO_LARGE, "MODULE {}: {} bytes", n, need);
  }
  uint8_t* b = base_ + *off;
  auto put32 = [&](uint32_t at, uint32_t v) { std::memcpy(b + at, &v, 4); };
  auto put64 = [&](uint32_t at, uint64_t v) { std::memcpy(b + at, &v, 8); };
  put32(c::MODHDR_MAGIC, c::MODULE_MAGIC);
  put32(c::MODHDR_CODE_LEN, uint32_t(m.pxbc.size()));
  put32(c::MODHDR_MEMORY, m.memory_words);
  put32(c::MODHDR_CAPS, m.caps);
  put64(c::MODHDR_STEPS, m.max_steps);
  put64(c::MODHDR_OUTPUT, m.max_output);
  put64(c::MODHDR_SEED, m.seed);
  put32(c::MODHDR_ENTRY, m.entry);
  put32(c::MODHDR_ENTRY + 4, 0);
  if (!m.pxbc.empty()) std::memcpy(b + c::MODHDR_SIZE, m.pxbc.data(), m.pxbc.size());
  return ok(*off, uint32_t(need));
}

Reply Server::op_nop(uint32_t cmd, uint32_t, uint32_t) { return ok(cmd_payload(cmd)); }

Reply Server::op_halt(uint32_t, uint32_t, uint32_t) {
  halted_ = true;
  return ok();
}

std::string Server::stats_table(double tpn) const {
  std::string s = fmt::format("mailboxd: served {} commands, {} faults\n", served_, faults_);
  if (cfg_.batch) s += fmt::format("mailboxd: {} ring entries served by the batch handler\n", batch_served_);
  s += fmt::format("  {:<12} {:>10} {:>8} {:>10} {:>10}\n", "opcode", "count", "errors", "p50 ns", "p99 ns");
  for (int i = 0; i < 256; ++i) {
    const OpStats& o = stats_[i];
    if (!o.count) continue;
    std::string name = std::string(op_name(uint8_t(i)));
    if (name == "?") name = fmt::format("0x{:02x}", i);
    s += fmt::format("  {:<12} {:>10} {:>8} {:>10.0f} {:>10.0f}\n", name, o.count, o.errors,
                     double(o.ticks.quantile(0.5)) / tpn, double(o.ticks.quantile(0.99)) / tpn);
  }
  return s;
}

}  // namespace pxos::mailbox
