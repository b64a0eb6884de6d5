// client.hpp: the C++ mailbox client (tests, benchmarks, and the reference the NASM client in
// the microkernel follows): v1 send/poll/call on the single slot, v2 submit/flush/reap on the rings.
#pragma once
#include <chrono>
#include <cstdint>
#include <span>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "mailbox/area.hpp"
#include "mailbox/protocol.hpp"
#include "mailbox/server.hpp"

namespace pxos::mailbox {

using Timeout = std::chrono::nanoseconds;

class Client {
 public:
  Client(uint8_t* base, size_t size);
  explicit Client(const Area& a) : Client(a.base(), a.size()) {}

  // ---- version 1 ----
  // Waits (up to timeout) for DOORBELL == 0, writes CMD/ARG0/ARG1, rings (release), wakes a
  // sleeping server. MailboxError on timeout (the slot stayed busy).
  Status send(uint32_t cmd, uint32_t arg0 = 0, uint32_t arg1 = 0, Timeout timeout = std::chrono::seconds(1));
  // Waits for DOORBELL == 0 (acquire) and reads STATUS/RESP/RESP1. MailboxError on timeout.
  Result<Reply> poll(Timeout timeout = std::chrono::seconds(1));
  Result<Reply> call(uint32_t cmd, uint32_t arg0 = 0, uint32_t arg1 = 0, Timeout timeout = std::chrono::seconds(1));
  bool server_ready() const;  // MAGIC present and STATUS READY-or-later

  // ---- version 2 ----
  // Queues one entry (not yet visible); false when the ring is full.
  bool submit(const Sqe& e);
  // Publishes queued entries: SQ_TAIL (release), full fence, wake the server if it sleeps.
  void flush();
  // Takes available completions (acquire on CQ_TAIL), publishes CQ_HEAD; returns how many.
  size_t reap(std::span<Cqe> out);
  // reap() until at least `min` arrived or the timeout; MailboxError on timeout.
  Result<size_t> wait(std::span<Cqe> out, size_t min, Timeout timeout = std::chrono::seconds(1));
  uint32_t in_flight() const { return inflight_; }  // submitted, completion not yet reaped
  // Re-reads the ring indices from the area (after the server restarted or faulted).
  void resync();

  // ---- data area ----
  Status write_data(uint32_t off, ByteView bytes);
  Result<Bytes> read_data(uint32_t off, uint32_t len) const;

  Header& header() const { return *reinterpret_cast<Header*>(base_); }

 private:
  void wake_if_sleeping();
  uint8_t* base_;
  size_t size_;
  uint32_t sq_tail_ = 0, sq_published_ = 0, cq_head_ = 0, inflight_ = 0;
  uint32_t sq_head_seen_ = 0;  // last SQ_HEAD read (refreshed only when the ring looks full)
};

}  // namespace pxos::mailbox
