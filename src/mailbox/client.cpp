// client.cpp: the client's half of the handshakes in docs/mailbox.md.
#include "mailbox/client.hpp"

#include <cstring>

namespace pxos::mailbox {

namespace {
using clk = std::chrono::steady_clock;
// Spin on cond() with pause; look at the clock only every 256 spins (it costs ~20 ns).
template <class F>
bool spin_until(F cond, Timeout timeout) {
  auto deadline = clk::now() + timeout;
  for (uint32_t i = 1;; ++i) {
    if (cond()) return true;
    cpu_relax();
    if ((i & 255) == 0 && clk::now() >= deadline) return cond();
  }
}
}  // namespace

Client::Client(uint8_t* base, size_t size) : base_(base), size_(size) { resync(); }

void Client::resync() {
  Header& h = header();
  sq_tail_ = sq_published_ = ld_acq(h.sq_tail);
  sq_head_seen_ = ld_acq(h.sq_head);
  cq_head_ = ld_acq(h.cq_head);
  uint32_t cq_tail = ld_acq(h.cq_tail);
  uint32_t pending = cq_tail - cq_head_;
  if (pending > c::RING_ENTRIES) {
    // An insane pair (CQ_FAULT: the server holds completions until CQ_HEAD is sane again):
    // give up what cannot be trusted and restart from the server's CQ_TAIL.
    cq_head_ = cq_tail;
    st_rel(h.cq_head, cq_head_);
    pending = 0;
  }
  inflight_ = pending;
}

bool Client::server_ready() const {
  Header& h = header();
  return ld_acq(h.magic) == c::MAGIC && ld_acq(h.status) != 0;
}

void Client::wake_if_sleeping() {
  Header& h = header();
  full_fence();  // our publish before the flag read (pairs with the server's fence)
  if (ld_rlx(h.ring_flags) & flag::NEED_WAKEUP) {
    std::atomic_ref<uint32_t>(h.wake).fetch_add(1, std::memory_order_seq_cst);
    futex_wake(h.wake);
  }
}

Status Client::send(uint32_t cmd, uint32_t arg0, uint32_t arg1, Timeout timeout) {
  Header& h = header();
  if (!spin_until([&] { return ld_acq(h.doorbell) == 0; }, timeout))
    return fail(Errc::MailboxError, "mailbox slot still busy (DOORBELL = 1): is mailboxd running?");
  st_rlx(h.cmd, cmd);
  st_rlx(h.arg0, arg0);
  st_rlx(h.arg1, arg1);
  st_rel(h.doorbell, 1);
  wake_if_sleeping();
  return {};
}

Result<Reply> Client::poll(Timeout timeout) {
  Header& h = header();
  if (!spin_until([&] { return ld_acq(h.doorbell) == 0; }, timeout))
    return fail(Errc::MailboxError, "no answer from mailboxd within the timeout");
  return Reply{ld_rlx(h.status), ld_rlx(h.resp), ld_rlx(h.resp1)};
}

Result<Reply> Client::call(uint32_t cmd, uint32_t arg0, uint32_t arg1, Timeout timeout) {
  if (auto s = send(cmd, arg0, arg1, timeout); !s) return std::unexpected(s.error());
  return poll(timeout);
}

bool Client::submit(const Sqe& e) {
  // Re-read the server's SQ_HEAD (a line it writes) only when our snapshot says full.
  if (sq_tail_ - sq_head_seen_ >= c::RING_ENTRIES) {
    sq_head_seen_ = ld_acq(header().sq_head);
    if (sq_tail_ - sq_head_seen_ >= c::RING_ENTRIES) return false;
  }
  // Completions must have room too, or the server would hold our submissions.
  if (inflight_ >= c::RING_ENTRIES) return false;
  Sqe& s = reinterpret_cast<Layout*>(base_)->sq[sq_tail_ & c::RING_MASK];
  st_rlx(s.cmd, e.cmd);
  st_rlx(s.arg0, e.arg0);
  st_rlx(s.arg1, e.arg1);
  st_rlx(s.user_data, e.user_data);
  ++sq_tail_;
  ++inflight_;
  return true;
}

void Client::flush() {
  if (sq_tail_ == sq_published_) return;
  st_rel(header().sq_tail, sq_tail_);
  sq_published_ = sq_tail_;
  wake_if_sleeping();
}

size_t Client::reap(std::span<Cqe> out) {
  Header& h = header();
  uint32_t tail = ld_acq(h.cq_tail);
  uint32_t avail = tail - cq_head_;
  if (avail > c::RING_ENTRIES) return 0;  // a corrupt tail: take nothing
  size_t n = std::min<size_t>(avail, out.size());
  const Layout& L = *reinterpret_cast<const Layout*>(base_);
  for (size_t i = 0; i < n; ++i) {
    const Cqe& e = L.cq[(cq_head_ + i) & c::RING_MASK];
    out[i] = Cqe{ld_rlx(e.user_data), ld_rlx(e.status), ld_rlx(e.resp), ld_rlx(e.resp1)};
  }
  cq_head_ += uint32_t(n);
  inflight_ -= std::min<uint32_t>(inflight_, uint32_t(n));
  if (n) st_rel(h.cq_head, cq_head_);
  return n;
}

Result<size_t> Client::wait(std::span<Cqe> out, size_t min, Timeout timeout) {
  size_t got = 0;
  bool done = spin_until([&] {
    got += reap(out.subspan(got));
    return got >= min || got == out.size();
  }, timeout);
  if (!done) return failf(Errc::MailboxError, "only {} of {} completions within the timeout", got, min);
  return got;
}

Status Client::write_data(uint32_t off, ByteView bytes) {
  if (!data_range_ok(size_, off, bytes.size()))
    return failf(Errc::MailboxError, "data offset 0x{:x} length {} outside the data area", off, bytes.size());
  std::memcpy(base_ + off, bytes.data(), bytes.size());
  return {};
}

Result<Bytes> Client::read_data(uint32_t off, uint32_t len) const {
  if (!data_range_ok(size_, off, len))
    return failf(Errc::MailboxError, "data offset 0x{:x} length {} outside the data area", off, len);
  return Bytes(base_ + off, base_ + off + len);
}

}  // namespace pxos::mailbox
