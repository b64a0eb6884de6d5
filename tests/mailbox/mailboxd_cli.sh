#!/usr/bin/env bash
# mailboxd_cli.sh: the real `pxos mailboxd` process against a real client (mbclient): UART
# output to --uart, HALT exits 0 with the stats table, SIGTERM exits 0, bad inputs give one
# line and a non-zero exit, a daemon killed with -9 and restarted keeps serving a live area.
set -euo pipefail
MB=${MBCLIENT:?}; : "${PXOS:?}"
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
f=$tmp/mb.bin; uart=$tmp/uart.txt
fail() { echo "FAIL: $*"; exit 1; }
wait_ready() { for _ in $(seq 200); do [ -s "$2" ] && grep -q serving "$2" && return 0; sleep 0.05; done; fail "mailboxd did not start: $(cat "$2")"; }

# 1. serve a new file, UART to a file, commands, HALT -> exit 0 with stats
"$PXOS" mailboxd --file "$f" --uart "$uart" >"$tmp/out1" 2>"$tmp/err1" & pid=$!
wait_ready "$pid" "$tmp/err1"
[ "$(stat -c %s "$f")" = 1048576 ] || fail "file not 1 MiB"
"$MB" --file "$f" puts "hello from the ring-0 side" || fail "puts"
"$MB" --file "$f" call 0x80 0x0a 0 0 >/dev/null || fail "uart newline"
[ "$("$MB" --file "$f" call 0x85 3 40 2)" = "0x00000004 0x0000002a 0x00000000" ] || fail "SYSCALL ADD"
[ "$("$MB" --file "$f" call 0x87 0 0x12345 0)" = "0x80000006 0x00000000 0x00000000" ] || fail "FREE of junk must be BAD_FREE"
[ "$("$MB" --file "$f" call 0x42 0 0 0)" = "0x80000001 0x00000000 0x00000000" ] || fail "unknown opcode"
[ "$("$MB" --file "$f" ring 1000)" = 1000 ] || fail "ring"
"$MB" --file "$f" call 0x8f 0 0 0 >/dev/null || fail "HALT"
wait "$pid" || fail "mailboxd exit status $? after HALT"
[ "$(cat "$uart")" = "hello from the ring-0 side" ] || fail "uart file: $(cat "$uart")"
grep -q "UART_WRITE" "$tmp/err1" || fail "no stats table at exit"
grep -q "fault BAD_FREE" "$tmp/err1" || fail "fault not reported"
[ ! -s "$tmp/out1" ] || fail "stdout not clean with --uart"

# 2. UART to stdout by default; SIGTERM exits 0; --stats-every prints while running
"$PXOS" mailboxd --file "$f" --stats-every 0.2 >"$tmp/out2" 2>"$tmp/err2" & pid=$!
wait_ready "$pid" "$tmp/err2"
"$MB" --file "$f" call 0x80 0x41 0 0 >/dev/null
sleep 0.5
kill -TERM "$pid"; wait "$pid" || fail "SIGTERM exit status"
[ "$(cat "$tmp/out2")" = "A" ] || fail "stdout uart"
[ "$(grep -c 'served' "$tmp/err2")" -ge 2 ] || fail "--stats-every printed nothing"

# 3. killed (-9) with a command rung, restarted under the live client: the command is served
"$PXOS" mailboxd --file "$f" --quiet --uart "$tmp/uart3" 2>"$tmp/err3" & pid=$!
sleep 0.3
epoch0=$("$MB" --file "$f" header | cut -d' ' -f1)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
"$MB" --file "$f" call 0x85 2 7 9 >"$tmp/late" 2>&1 & cpid=$!   # waits for an answer
sleep 0.2
"$PXOS" mailboxd --file "$f" --quiet --uart "$tmp/uart3" 2>>"$tmp/err3" & pid=$!
wait "$cpid" || fail "client lost across the restart: $(cat "$tmp/late")"
[ "$(cat "$tmp/late")" = "0x00000004 0x00000007 0x00000009" ] || fail "restart reply $(cat "$tmp/late")"
epoch1=$("$MB" --file "$f" header | cut -d' ' -f1)
[ "$epoch1" -gt "$epoch0" ] || fail "EPOCH did not advance"
"$MB" --file "$f" call 0x8f 0 0 0 >/dev/null; wait "$pid"

# 4. bad inputs: one line naming the file, non-zero exit, nothing created half-way
head -c 1000 /dev/zero >"$tmp/small"
if "$PXOS" mailboxd --file "$tmp/small" 2>"$tmp/e4"; then fail "small file accepted"; fi
grep -q "small: size 1000" "$tmp/e4" || fail "message: $(cat "$tmp/e4")"
[ "$(wc -l <"$tmp/e4")" = 1 ] || fail "more than one line"
if "$PXOS" mailboxd --file "$f" --mmio-window junk 2>"$tmp/e5"; then fail "bad window accepted"; fi
grep -q "mmio-window" "$tmp/e5" || fail "window message"
if "$PXOS" mailboxd 2>"$tmp/e6"; then fail "no --file/--shm accepted"; fi
echo "mailboxd_cli: ok"
