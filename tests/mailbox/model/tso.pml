/* tso.pml: what both mailbox models share: the shared area as words behind one x86-TSO store
   buffer per side, the seq_cst fence and locked add, the WAKE futex, and the cpu backend's
   serving loop (src/mailbox/serve.cpp). The including model defines the word addresses
   (NADDR, FLAGS, WAKE) and STEP(work), the Server::step() it serves with. Failing variants
   shared by both models: -DBUG_NO_RECHECK (the server sleeps without the step() after setting
   NEED_WAKEUP), -DBUG_NO_CLIENT_FENCE / -DBUG_NO_SERVER_FENCE (one side's seq_cst fence gone):
   each loses a wake-up. */

/* Why store buffers: the mailbox runs on x86-64, whose only reordering is a later load passing
   an earlier store (to another word) that still sits in the CPU's store buffer, so the model is
   x86-TSO. On weaker CPUs the C++ orders give the same guarantees where the protocol relies on
   them: every hand-off is a release store read by an acquire load (ordered like TSO's FIFO
   buffer), and the one place that needs store->load order (NEED_WAKEUP against SQ_TAIL or
   DOORBELL) has a seq_cst fence on each side. The store buffers are what let the model show a
   missing fence. Each side's stores queue in order; a Drain process empties the queues at any
   moment; a load sees the side's own newest buffered store to that word, else memory. (Spin's
   inline arguments cannot hold an array reference, so a stored value computed from LD goes
   through a local first.) */
#define C 0          /* the client's side */
#define S 1          /* the server's side */
#ifndef SB
#define SB 3         /* store-buffer depth: a store into a full buffer waits for a drain */
#endif

typedef Buf {
  byte a[SB];        /* word address of each queued store, oldest first */
  byte v[SB];        /* its value */
  byte n;            /* stores queued */
  byte cnt[NADDR];   /* stores queued per word (for the forwarding load) */
  byte last[NADDR];  /* the newest queued value per word */
};
Buf sb[2];
byte mem[NADDR];     /* the shared area as the other side can see it */
bit asleep;          /* the server is blocked in futex_wait(&WAKE) */

/* ld_acq / ld_rlx (area.hpp): own newest buffered store, else memory. */
#define LD(p, x) (sb[p].cnt[x] > 0 -> sb[p].last[x] : mem[x])

/* st_rel / st_rlx (area.hpp): queue the store. */
inline ST(p, x, val) {
  d_step {
    sb[p].n < SB;
    sb[p].a[sb[p].n] = x;
    sb[p].v[sb[p].n] = val;
    sb[p].n++;
    sb[p].cnt[x]++;
    sb[p].last[x] = val
  }
}

/* full_fence() = std::atomic_thread_fence(seq_cst) = mfence: wait for the buffer to empty. */
#define FENCE(p) (sb[p].n == 0)

/* std::atomic_ref(h.wake).fetch_add(1, seq_cst) = lock xadd: drains the buffer, then adds in
   memory, atomically. */
inline LOCKED_INC(p, x) {
  d_step { sb[p].n == 0; mem[x] = mem[x] + 1 }
}

/* The hardware: writes each side's oldest buffered store to memory, whenever it likes. */
proctype Drain(byte p) {
  byte i;
end:
  do
  :: d_step {
       sb[p].n > 0;
       mem[sb[p].a[0]] = sb[p].v[0];
       sb[p].cnt[sb[p].a[0]]--;
       if :: sb[p].cnt[sb[p].a[0]] == 0 -> sb[p].last[sb[p].a[0]] = 0 :: else fi;
       i = 0;
       do
       :: i < SB - 1 -> sb[p].a[i] = sb[p].a[i + 1]; sb[p].v[i] = sb[p].v[i + 1]; i++
       :: else -> break
       od;
       sb[p].a[SB - 1] = 0; sb[p].v[SB - 1] = 0;
       sb[p].n--;
       i = 0
     }
  od
}

/* futex_wait(h.wake, seen, timeout) (area.cpp): the kernel compares WAKE with `seen` and
   sleeps, atomically with respect to futex_wake. The timeout is left out on purpose: it is
   only the fallback for a guest that cannot call futex, and with it a lost wake-up would be a
   late reply instead of the deadlock (invalid end state) this model reports. */
inline FUTEX_WAIT(seen) {
  d_step { if :: mem[WAKE] != seen -> skip :: else -> asleep = 1 fi };
  (asleep == 0)
}
/* futex_wake(h.wake): wakes the sleeper, if any. */
#define FUTEX_WAKE() asleep = 0

#define NEED_WAKEUP 1

/* Client::wake_if_sleeping() (client.cpp), after a DOORBELL or SQ_TAIL store. */
inline WAKE_IF_SLEEPING() {
#ifndef BUG_NO_CLIENT_FENCE
  FENCE(C);                              /* full_fence(); */
#endif
  if
  :: (LD(C, FLAGS) & NEED_WAKEUP) ->     /* if (ld_rlx(h.ring_flags) & flag::NEED_WAKEUP) { */
     LOCKED_INC(C, WAKE);                /*   atomic_ref(h.wake).fetch_add(1, seq_cst); */
     FUTEX_WAKE()                        /*   futex_wake(h.wake); } */
  :: else -> skip
  fi
}

/* serve() (serve.cpp): step; when idle either spin on (within --spin-us: a free choice here)
   or go to sleep with the NEED_WAKEUP handshake. Uses the server's locals work, seen, fl and
   the global halted. */
inline SERVE_LOOP() {
  do
  :: halted -> break                               /* while (!server.halted() ...) */
  :: else ->
     STEP(work);                                   /* if (server.step()) { ...; continue; } */
     if
     :: work -> skip
     :: else ->
        if
        :: skip                                    /* now - last_work < spin_ticks: cpu_relax; continue */
        :: skip ->                                 /* going to sleep */
           seen = LD(S, WAKE);                     /* uint32_t seen = ld_acq(h.wake); */
           fl = LD(S, FLAGS) | NEED_WAKEUP;        /* st_rlx(h.ring_flags, ld_rlx(h.ring_flags) | NEED_WAKEUP); */
           ST(S, FLAGS, fl);
#ifndef BUG_NO_SERVER_FENCE
           FENCE(S);                               /* full_fence(); */
#endif
#ifndef BUG_NO_RECHECK
           STEP(work);                             /* if (server.step()) { */
#else
           work = 0;                               /* (the bug: no re-check after the flag) */
#endif
           if
           :: work ->
              fl = LD(S, FLAGS) & ~NEED_WAKEUP;    /* st_rlx(h.ring_flags, .. & ~NEED_WAKEUP); continue; } */
              ST(S, FLAGS, fl)
           :: else ->
              FUTEX_WAIT(seen);                    /* futex_wait(h.wake, seen, sleep_us); */
              fl = LD(S, FLAGS) & ~NEED_WAKEUP;    /* st_rlx(h.ring_flags, .. & ~NEED_WAKEUP); */
              ST(S, FLAGS, fl)
           fi
        fi
     fi
  od
}
