/* v1.pml: the version-1 single-slot handshake (docs/mailbox.md "Version 1") between
   Client::send/poll (client.cpp) and Server::step_v1 (server.cpp) under the serving loop's
   NEED_WAKEUP sleep, on x86-TSO store buffers (tso.pml). Checked: every reply the client
   reads is its own command's (no stale RESP/STATUS), and no invalid end state (a lost wake-up
   leaves the server asleep and the client polling: a deadlock). Failing variants:
   -DBUG_V1_ORDER (DOORBELL released before RESP/STATUS) and those of tso.pml. */

/* Words of the header page used here (protocol.def MB_REG). CMD stands for CMD/ARG0/ARG1 and
   RESP for RESP/RESP1: each group is written by one side before the same release store. */
#define CMD      0
#define RESP     1
#define STATUS   2
#define DOORBELL 3
#define FLAGS    4   /* RING_FLAGS */
#define WAKE     5
#define NADDR    6

#define READY    1   /* MB_STATUS READY */
#define COMPLETE 4   /* MB_STATUS COMPLETE */
#ifndef K
#define K 3          /* calls the client makes: NOP 1 .. NOP K-1, then HALT (command K) */
#endif

#include "tso.pml"

bit halted;          /* Server::halted_ */

/* Server::step_v1() (server.cpp). A NOP's reply RESP is its payload: here the command itself. */
inline STEP(work) {
  work = 0;
  db = LD(S, DOORBELL);                        /* uint32_t db = ld_acq(h.doorbell); */
  if
  :: db == 0 -> skip                           /* if (db == 0) return 0; */
  :: else ->
     cmd = LD(S, CMD);                         /* uint32_t cmd = ld_rlx(h.cmd), a0 = .., a1 = ..; */
     if :: cmd == K -> halted = 1 :: else fi;  /* r = timed(cmd, a0, a1);  (op_halt: halted_ = true) */
#ifndef BUG_V1_ORDER
     ST(S, RESP, cmd);                         /* st_rlx(h.resp, r.resp); st_rlx(h.resp1, ..); */
     ST(S, STATUS, COMPLETE);                  /* st_rlx(h.status, r.status); */
     ST(S, DOORBELL, 0);                       /* st_rel(h.doorbell, 0); */
#else
     ST(S, DOORBELL, 0);                       /* (the bug: the slot handed back first) */
     ST(S, RESP, cmd);
     ST(S, STATUS, COMPLETE);
#endif
     work = 1                                  /* return 1; */
  fi
}

proctype Server() {
  byte db, cmd, seen, fl;
  bit work;
  SERVE_LOOP()
}

proctype Client() {
  byte k = 1, r, s;
  do
  :: k <= K ->
     /* Client::send(k) */
     (LD(C, DOORBELL) == 0);                   /* spin_until(ld_acq(h.doorbell) == 0) */
     ST(C, CMD, k);                            /* st_rlx(h.cmd, cmd); st_rlx(h.arg0, ..); st_rlx(h.arg1, ..); */
     ST(C, DOORBELL, 1);                       /* st_rel(h.doorbell, 1); */
     WAKE_IF_SLEEPING();                       /* wake_if_sleeping(); */
     /* Client::poll() */
     (LD(C, DOORBELL) == 0);                   /* spin_until(ld_acq(h.doorbell) == 0) */
     r = LD(C, RESP);                          /* Reply{ld_rlx(h.status), ld_rlx(h.resp), ..} */
     s = LD(C, STATUS);
     assert(r == k && s == COMPLETE);          /* this command's reply, never the last one's */
     k++
  :: else -> break
  od;
  assert(halted)                               /* HALT completed: the server stops */
}

init {
  mem[STATUS] = READY;                         /* Server::start(): st_rel(h.status, READY) */
  atomic {
    run Drain(C); run Drain(S);
    run Server(); run Client()
  }
}
