/* ring.pml: the version-2 rings (docs/mailbox.md "Version 2") between Client::submit/flush/
   reap (client.cpp) and Server::step_ring (server.cpp) under the serving loop's NEED_WAKEUP
   sleep, on x86-TSO store buffers (tso.pml), with a ring of R entries and an honest client
   that keeps at most R in flight (as the stress test does). Checked: every completion is
   reaped in submission order, exactly once; submit() never refuses while fewer than R are in
   flight; the server reads the entry the client wrote for each index; no invalid end state (a
   lost wake-up leaves the server asleep and the client waiting). Failing variants:
   -DBUG_STORE_ORDER (CQ_TAIL published before SQ_HEAD, the issue-19.2 bug) and those of
   tso.pml. */

#ifndef R
#define R 2          /* RING_ENTRIES (256 in protocol.def; 2 keeps the state space small) */
#endif
#ifndef N
#define N 4          /* commands the client submits; the last (USER_DATA N) is HALT */
#endif

/* Words (protocol.def MB_REG, then the rings). An entry is one word, its USER_DATA: CMD/ARG0/
   ARG1 (and a CQE's STATUS/RESP/RESP1) are written with it before the same release store. */
#define SQ_HEAD  0
#define SQ_TAIL  1
#define CQ_HEAD  2
#define CQ_TAIL  3
#define FLAGS    4   /* RING_FLAGS */
#define WAKE     5
#define SQE0     6
#define CQE0     (SQE0 + R)
#define NADDR    (SQE0 + 2 * R)

#include "tso.pml"

bit halted;          /* Server::halted_ */

/* Server::step_ring() (server.cpp), for an honest client: the RING_CORRUPT / CQ_FAULT paths
   are asserted never taken. The SERVED store is left out: nothing waits on it. Entry k (USER_DATA k+1) is served into the CQE of the same index. */
inline STEP(work) {
  work = 0;
  assert(LD(S, CQ_TAIL) == cq_tail_);         /* if (ld_rlx(h.cq_tail) != cq_tail_) { restore } */
  tail = LD(S, SQ_TAIL);                       /* uint32_t tail = ld_acq(h.sq_tail); */
  pending = tail - sq_head_;                   /* uint32_t pending = tail - sq_head_; */
  if
  :: pending == 0 -> skip                      /* if (pending == 0) return 0; */
  :: else ->
     assert(pending <= R);                     /* if (pending > RING_ENTRIES) { fault ... } */
     cqh = LD(S, CQ_HEAD);                     /* uint32_t cq_head = ld_acq(h.cq_head); */
     used = cq_tail_ - cqh;                    /* uint32_t used = cq_tail_ - cq_head; */
     assert(used <= R);                        /* if (used > RING_ENTRIES) { CQ_FAULT ... } */
     if                                        /* n = min({pending, RING_ENTRIES - used, max_batch}); */
     :: pending < R - used -> n = pending
     :: else -> n = R - used
     fi;
     done = 0;
     do
     :: done < n && !halted ->                 /* while (done < n && !halted_) { */
        ud = LD(S, SQE0 + (sq_head_ + done) % R); /* ld_rlx(s.cmd) .. ld_rlx(s.user_data) */
        assert(ud == sq_head_ + done + 1);     /* the entry written for this index, no older */
        if :: ud == N -> halted = 1 :: else fi; /* Reply r = execute(..)  (op_halt) */
        ST(S, CQE0 + (cq_tail_ + done) % R, ud); /* post(done, ud, r): st_rlx(e.user_data, ud) .. */
        done++                                 /* ++done; } */
     :: else -> break
     od;
     sq_head_ = sq_head_ + done;               /* sq_head_ += done; */
     cq_tail_ = cq_tail_ + done;               /* cq_tail_ += done; */
#ifndef BUG_STORE_ORDER
     ST(S, SQ_HEAD, sq_head_);                 /* st_rel(h.sq_head, sq_head_);  slots reusable */
     ST(S, CQ_TAIL, cq_tail_);                 /* st_rel(h.cq_tail, cq_tail_);  completions visible */
#else
     ST(S, CQ_TAIL, cq_tail_);                 /* (the bug: completions before the slots) */
     ST(S, SQ_HEAD, sq_head_);
#endif
     work = (done > 0)                         /* return done; */
  fi
}

proctype Server() {
  byte sq_head_, cq_tail_, tail, pending, cqh, used, n, done, ud, seen, fl;
  bit work;
  SERVE_LOOP()
}

/* The client of MailboxRing.StressRandomBatchesExactlyOnceInOrder: any interleaving of
   submit (below R in flight), flush, and wait-then-reap of any count. */
proctype Client() {
  byte sq_tail_, sq_published_, cq_head_, inflight_, sq_head_seen_;
  byte sent, got, tail, avail, k, i, ud;
  do
  :: sent < N && inflight_ < R ->              /* ASSERT_TRUE(cl.submit(..)) below RING_ENTRIES in flight */
     /* Client::submit() */
     if
     :: sq_tail_ - sq_head_seen_ >= R ->       /* if (sq_tail_ - sq_head_seen_ >= RING_ENTRIES) { */
        sq_head_seen_ = LD(C, SQ_HEAD)         /*   sq_head_seen_ = ld_acq(header().sq_head); */
     :: else -> skip
     fi;
     assert(sq_tail_ - sq_head_seen_ < R);     /*   if (still full) return false;  -- never, here */
     ST(C, SQE0 + sq_tail_ % R, sent + 1);     /* st_rlx(s.cmd, ..) .. st_rlx(s.user_data, ..) */
     sq_tail_++;                               /* ++sq_tail_; */
     inflight_++;                              /* ++inflight_; */
     sent++
  :: sq_tail_ != sq_published_ ->
     /* Client::flush() */
     ST(C, SQ_TAIL, sq_tail_);                 /* st_rel(header().sq_tail, sq_tail_); */
     sq_published_ = sq_tail_;                 /* sq_published_ = sq_tail_; */
     WAKE_IF_SLEEPING()                        /* wake_if_sleeping(); */
  :: inflight_ > 0 && sq_tail_ == sq_published_ ->
     /* Client::wait(out, 1): spin_until(reap() >= 1), the spin as a blocking wait */
     (LD(C, CQ_TAIL) != cq_head_);
     /* Client::reap(out) */
     tail = LD(C, CQ_TAIL);                    /* uint32_t tail = ld_acq(h.cq_tail); */
     avail = tail - cq_head_;                  /* uint32_t avail = tail - cq_head_; */
     assert(avail <= R);                       /* if (avail > RING_ENTRIES) return 0; -- never */
     k = 1;                                    /* n = min(avail, out.size()): any of 1 .. avail */
     do
     :: k < avail -> k++
     :: break
     od;
     i = 0;
     do
     :: i < k ->                               /* for (i < n) out[i] = Cqe{ld_rlx(e.user_data), ..} */
        ud = LD(C, CQE0 + (cq_head_ + i) % R);
        assert(ud == got + 1);                 /* ASSERT_EQ(out[i].user_data, got): in order, once */
        got++;
        i++
     :: else -> break
     od;
     cq_head_ = cq_head_ + k;                  /* cq_head_ += n; */
     inflight_ = inflight_ - k;                /* inflight_ -= n; */
     ST(C, CQ_HEAD, cq_head_);                 /* if (n) st_rel(h.cq_head, cq_head_); */
     i = 0; k = 0; ud = 0; tail = 0; avail = 0
  :: got == N -> break
  od;
  assert(sent == N && halted)                  /* every command completed, HALT stopped the server */
}

init {
  atomic {
    run Drain(C); run Drain(S);
    run Server(); run Client()
  }
}
