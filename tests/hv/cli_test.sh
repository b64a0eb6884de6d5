#!/usr/bin/env bash
# cli_test.sh: `pxos archive` and `pxos hv` end to end on the real binary ($PXOS): the demo
# archive (create, list, extract, validate, list, run), the policy, limits, the log, and bad
# input (each one line on stderr and its exit status; failed creates leave no file).
set -u
PXOS=${PXOS:?set PXOS to the pxos binary}
SRC=${PXOS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run CMD...: stdout -> $work/out, stderr -> $work/err, status -> $rc
run() { "$@" >"$work/out" 2>"$work/err"; rc=$?; }
# ok NAME CMD...: must exit 0
ok() { local n=$1; shift; run "$@"; [ "$rc" = 0 ] || fail "$n: exit $rc: $(head -c 400 "$work/err")"; }
# bad NAME STATUS PATTERN CMD...: must exit STATUS with exactly one stderr line containing PATTERN
bad() {
  local n=$1 st=$2 pat=$3; shift 3
  run "$@"
  [ "$rc" = "$st" ] || fail "$n: exit $rc, expected $st: $(head -c 400 "$work/err")"
  grep -qF -- "$pat" "$work/err" || fail "$n: stderr lacks '$pat': $(head -c 400 "$work/err")"
  [ "$(wc -l <"$work/err")" = 1 ] || fail "$n: stderr is not one line: $(cat "$work/err")"
}
has() { grep -qF -- "$2" "$work/out" || fail "$1: stdout lacks '$2': $(head -c 600 "$work/out")"; }
mkarchive() {  # mkarchive DIR MANIFEST (module files follow as NAME=TEXT)
  local d=$1 m=$2; shift 2
  mkdir -p "$d"
  printf '%s\n' "$m" >"$d/manifest.json"
  for kv in "$@"; do printf '%b' "${kv#*=}" >"$d/${kv%%=*}"; done
}
manifest() {  # manifest ENTRYPOINTS CAPS LIMITS
  echo "{\"name\":\"t\",\"version\":\"1.0.0\",\"entrypoints\":$1,\"runtime\":{\"vm_version\":\">=1\",\"capabilities\":$2,\"limits\":$3}}"
}

demo=$work/demo.pxa
# ---- the demo archive ----
ok "create" "$PXOS" archive create "$demo" "$SRC/examples/demo-archive"
has "create" "4 entries (3 modules)"
[ "$(head -c 4 "$demo" | od -An -c | tr -d ' ')" = '211PNG' ] || fail "create: not a PNG"
ok "archive list" "$PXOS" archive list "$demo"
for n in manifest.json main sieve util; do has "archive list" "  $n"; done
hash1=$(grep 'archive sha256' "$work/out")
ok "extract" "$PXOS" archive extract "$demo" "$work/x"
[ -f "$work/x/manifest.json" ] && [ -f "$work/x/util.pxi" ] || fail "extract: files missing"
ok "re-create" "$PXOS" archive create "$work/demo2.pxa" "$work/x"
ok "re-list" "$PXOS" archive list "$work/demo2.pxa"
[ "$(grep 'archive sha256' "$work/out")" = "$hash1" ] || fail "extract + create changed the archive hash"

# The shipped demo validates under the default policy (pxos run's: clock, random, input).
ok "validate, default policy" "$PXOS" hv validate "$demo"
[ "$(grep -c '^ok ' "$work/out")" = 7 ] || fail "validate: expected 7 ok checks: $(cat "$work/out")"
has "validate" "valid"
bad "validate, input denied" 8 "the manifest requires capability 'input', which is not granted: it is denied by --deny input" "$PXOS" hv validate "$demo" --deny input
has "validate fail" "FAIL  capabilities"
[ "$(grep -c 'FAIL  capabilities' "$work/out")" = 1 ] || fail "validate: FAIL printed more than once: $(cat "$work/out")"

ok "hv list" "$PXOS" hv list "$demo"
has "hv list" "main:start"
has "hv list" "needs: input (host calls: read_int)"
has "hv list" "runs under the default policy"
has "hv list" "1000000 steps, 65536 output bytes, 1024 memory words, 2000 ms"

ok "run default" "$PXOS" hv run "$demo"
expected=$'countdown:\n3\n2\n1\nliftoff\nprimes below 50, then how many lie below 1000:\n2 3 5 7 11 13 17 19 23 29 31 37 41 43 47\n168'
[ "$(cat "$work/out")" = "$expected" ] || fail "run default: output: $(cat "$work/out")"
[ -s "$work/err" ] && fail "run default: stderr not empty: $(cat "$work/err")"
ok "run countdown" "$PXOS" hv run "$demo" countdown
[ "$(cat "$work/out")" = $'5\n4\n3\n2\n1\nliftoff' ] || fail "run countdown: $(cat "$work/out")"
bad "unknown entry" 11 "(available: countdown, default, echo, lucky, sieve, timed)" "$PXOS" hv run "$demo" nosuch
bad "echo refused" 8 "denied by --deny input" "$PXOS" hv run "$demo" echo --deny input
[ -s "$work/out" ] && fail "echo refused: something ran"
run bash -c "printf '5\n-7\n' | '$PXOS' hv run '$demo' echo"
[ "$rc" = 0 ] && [ "$(cat "$work/out")" = $'10\n-14' ] || fail "echo granted: rc $rc: $(cat "$work/out" "$work/err")"
ok "lucky 3" "$PXOS" hv run "$demo" lucky --seed 3; l3=$(cat "$work/out")
ok "lucky 3 again" "$PXOS" hv run "$demo" lucky --seed 3; [ "$(cat "$work/out")" = "$l3" ] || fail "--seed not reproducible"
ok "lucky 4" "$PXOS" hv run "$demo" lucky --seed 4; [ "$(cat "$work/out")" != "$l3" ] || fail "--seed ignored"
bad "deny clock" 8 "denied by --deny clock" "$PXOS" hv run "$demo" timed --deny clock
bad "unknown capability" 2 "--grant bogus: unknown capability" "$PXOS" hv run "$demo" --grant bogus
ok "stats" "$PXOS" hv run "$demo" --stats
grep -q "^stats: first instruction" "$work/err" || fail "stats: $(cat "$work/err")"

# ---- limits: one line on stderr, program output only on stdout ----
loop='start:\n  PUSH 1\n  PRINT\n  JMP start\n'
mkarchive "$work/steps" "$(manifest '{"default":"main:start"}' '[]' '{"max_steps":1000}')" "main.pxasm=$loop"
ok "create steps" "$PXOS" archive create "$work/steps.pxa" "$work/steps"
bad "step limit" 7 "step limit of 1000 instructions reached" "$PXOS" hv run "$work/steps.pxa"
grep -qv '^1$' "$work/out" && fail "step limit: stdout holds more than program output"
[ "$(wc -l <"$work/out")" = 333 ] || fail "step limit: $(wc -l <"$work/out") lines (fuel is deterministic: 333 expected)"
mkarchive "$work/outl" "$(manifest '{"default":"main:start"}' '[]' '{"max_output_bytes":5}')" "main.pxasm=$loop"
"$PXOS" archive create "$work/outl.pxa" "$work/outl" >/dev/null
bad "output limit" 7 "output limit" "$PXOS" hv run "$work/outl.pxa"
[ "$(cat "$work/out")" = $'1\n1\n1' ] || fail "output limit: stdout: $(cat "$work/out" | od -c | head)"
mkarchive "$work/time" "$(manifest '{"default":"main:start"}' '[]' '{"max_steps":100000000000,"timeout_ms":50}')" \
  "main.pxasm=start:\n  JMP start\n"
"$PXOS" archive create "$work/time.pxa" "$work/time" >/dev/null
bad "time limit" 7 "time limit of 50 ms reached" "$PXOS" hv run "$work/time.pxa"
mkarchive "$work/mem" "$(manifest '{"default":"main:start"}' '[]' '{"memory_words":8}')" \
  "main.pxasm=start:\n  PUSH 1\n  PUSH 8\n  STOREI\n  HALT\n"
"$PXOS" archive create "$work/mem.pxa" "$work/mem" >/dev/null
bad "memory limit" 6 "main.pxasm:4: main+0x000a: STOREI" "$PXOS" hv run "$work/mem.pxa"

# ---- the log ----
log=$work/run.jsonl
ok "log run" "$PXOS" hv run "$demo" --log "$log"
bad "log trap" 7 "step limit" "$PXOS" hv run "$work/steps.pxa" --log "$log"
[ "$(grep -c '"event":"run_start"' "$log")" = 2 ] || fail "log: run_start count"
[ "$(grep -c '"event":"check"' "$log")" = 14 ] || fail "log: check count"
grep -q '"event":"trap".*"code":"StepLimit"' "$log" || fail "log: no trap record"
grep -q '"event":"result","status":"halted","steps":' "$log" || fail "log: no halted result"
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$log" || fail "log: a line is not JSON"
fi

# ---- bad input ----
mkdir -p "$work/nomanifest" && printf 'start:\n  HALT\n' >"$work/nomanifest/main.pxasm"
bad "no manifest" 9 "no manifest.json" "$PXOS" archive create "$work/nm.pxa" "$work/nomanifest"
[ -e "$work/nm.pxa" ] && fail "no manifest: a file was written"
mkarchive "$work/dup" "$(manifest '{"default":"main:start"}' '[]' '{}')" "main.pxasm=start:\n  HALT\n"
"$PXOS" asm "$work/dup/main.pxasm" -o "$work/dup/main.pxi" >/dev/null 2>&1 || fail "asm"
bad "duplicate module" 9 "module 'main' given twice (main.pxasm and main.pxi)" "$PXOS" archive create "$work/dup.pxa" "$work/dup"
mkarchive "$work/asmerr" "$(manifest '{"default":"main:start"}' '[]' '{}')" "main.pxasm=start:\n  PUSHH 1\n  HALT\n"
echo sentinel >"$work/keep.pxa"
run "$PXOS" archive create "$work/keep.pxa" "$work/asmerr"
[ "$rc" = 5 ] || fail "assembly error: exit $rc"
grep -qF "main.pxasm:2:3: error: unknown mnemonic 'PUSHH'" "$work/err" || fail "assembly error: $(cat "$work/err")"
[ "$(cat "$work/keep.pxa")" = sentinel ] || fail "failed create replaced an existing file"
ls "$work" | grep -q 'keep.pxa.' && fail "failed create left a temp file"

half=$work/half.pxa; head -c $(($(stat -c %s "$demo") / 2)) "$demo" >"$half"
run "$PXOS" hv validate "$half"
[ "$rc" != 0 ] && [ "$rc" -lt 64 ] || fail "truncated archive: exit $rc"
grep -q "^FAIL  archive" "$work/out" || fail "truncated archive: $(cat "$work/out")"
flip=$work/flip.pxa; cp "$demo" "$flip"
printf '\x55' | dd of="$flip" bs=1 seek=$(($(stat -c %s "$demo") / 2)) conv=notrunc status=none
run "$PXOS" hv run "$flip"
[ "$rc" != 0 ] && [ "$rc" -lt 64 ] && [ ! -s "$work/out" ] || fail "corrupted archive: exit $rc"
bad "not an archive" 4 "" "$PXOS" hv validate "$SRC/examples/demo-archive/manifest.json"

cyc_main='start:\n  CALL util:f\n  HALT\ng:\n  RET\n'
mkarchive "$work/cyc" "$(manifest '{"default":"main:start"}' '[]' '{}')" "main.pxasm=$cyc_main" "util.pxasm=f:\n  CALL main:g\n  RET\n"
bad "cycle --validate" 5 "import cycle main -> util -> main" "$PXOS" archive create "$work/cyc.pxa" "$work/cyc" --validate
[ -e "$work/cyc.pxa" ] && fail "create --validate wrote a failing archive"
ok "cycle packs without --validate" "$PXOS" archive create "$work/cyc.pxa" "$work/cyc"
bad "cycle validate" 5 "import cycle" "$PXOS" hv validate "$work/cyc.pxa"
has "cycle validate" "FAIL  link"
has "cycle validate" "--    capabilities"

check_bad() {  # check_bad NAME STATUS PATTERN MANIFEST MODULES...
  local n=$1 st=$2 pat=$3 m=$4; shift 4
  rm -rf "$work/case" "$work/case.pxa"; mkarchive "$work/case" "$m" "$@"
  "$PXOS" archive create "$work/case.pxa" "$work/case" >/dev/null 2>&1 || { fail "$n: create failed"; return; }
  bad "$n" "$st" "$pat" "$PXOS" hv validate "$work/case.pxa"
}
# A broken manifest is refused by archive create itself (issue 17), with hv validate's words and
# status, and no archive is written; other checks (modules, entrypoints) are hv validate's.
check_create_bad() {  # check_create_bad NAME STATUS PATTERN MANIFEST MODULES...
  local n=$1 st=$2 pat=$3 m=$4; shift 4
  rm -rf "$work/case" "$work/case.pxa"; mkarchive "$work/case" "$m" "$@"
  bad "$n (archive create)" "$st" "$pat" "$PXOS" archive create "$work/case.pxa" "$work/case"
  [ -e "$work/case.pxa" ] && fail "$n: archive create wrote an archive with a broken manifest"
}
M='main.pxasm=start:\n  HALT\n'
check_create_bad "not json" 9 "manifest.json: line 1, column" '{"name": oops}' "$M"
check_create_bad "unknown field" 9 "\$.runtime.limts: unknown field (did you mean 'limits'?)" \
  '{"name":"t","version":"1.0.0","entrypoints":{"default":"main:start"},"runtime":{"vm_version":">=1","limts":{}}}' "$M"
check_create_bad "wrong type" 9 "\$.entrypoints.default: expected a string, got integer 3" \
  '{"name":"t","version":"1.0.0","entrypoints":{"default":3},"runtime":{"vm_version":">=1"}}' "$M"
check_create_bad "vm version" 10 "requires VM version '>=2'; this build runs VM version 1" \
  '{"name":"t","version":"1.0.0","entrypoints":{"default":"main:start"},"runtime":{"vm_version":">=2"}}' "$M"
check_create_bad "unknown capability" 10 "capability 'teleport' does not exist in this build" "$(manifest '{"default":"main:start"}' '["teleport"]' '{}')" "$M"
check_create_bad "memory ceiling" 10 "this build's VM addresses at most 65536" "$(manifest '{"default":"main:start"}' '[]' '{"memory_words":100000}')" "$M"
check_bad "entry module" 11 "no module 'util' in the archive" "$(manifest '{"default":"util:start"}' '[]' '{}')" "$M"
check_bad "entry label" 11 "module 'main' has no label 'begin'" "$(manifest '{"default":"main:begin"}' '[]' '{}')" "$M"
check_bad "unresolved call" 5 "main.pxasm:2: offset 0x0000: CALL util:f: unresolved cross-module call: no module 'util'" \
  "$(manifest '{"default":"main:start"}' '[]' '{}')" 'main.pxasm=start:\n  CALL util:f\n  HALT\n'

# ---- issue 19: negative limits are usage errors; operator limits only lower the manifest's ----
printf 'L:\n  JMP L\n' >"$work/loop.pxasm"
for f in --max-steps --max-output --timeout-ms; do
  bad "run $f -1" 2 "$f -1: must be 0 or more" "$PXOS" run "$work/loop.pxasm" "$f" -1
  bad "hv run $f 0" 2 "$f 0: must be at least 1" "$PXOS" hv run "$demo" "$f" 0
done
bad "mailboxd --stats-every -1" 2 "--stats-every -1: must be 0 or more" "$PXOS" mailboxd --file "$work/mb" --stats-every -1
mkarchive "$work/spin" "$(manifest '{"default":"main:start"}' '[]' '{"max_steps":1000000000000,"timeout_ms":600000}')" \
  "main.pxasm=start:\n  JMP start\n"
ok "create spin" "$PXOS" archive create "$work/spin.pxa" "$work/spin"
bad "hv run --max-steps" 7 "step limit of 50 instructions reached" "$PXOS" hv run "$work/spin.pxa" --max-steps 50
bad "hv run --timeout-ms" 7 "time limit of 200 ms reached" "$PXOS" hv run "$work/spin.pxa" --timeout-ms 200
run "$PXOS" run "$work/loop.pxasm" --trace --timeout-ms 200  # the trace fills stderr; its last line is the trap
[ "$rc" = 7 ] && tail -1 "$work/err" | grep -qF "time limit of 200 ms reached" || fail "run --trace --timeout-ms: exit $rc: $(tail -c 300 "$work/err")"
# disasm names the file in a verifier error (0xa1 is no opcode).
"$PXOS" asm "$work/loop.pxasm" -o "$work/op.pxi" >/dev/null 2>&1 || fail "asm op.pxi"
"$PXOS" unpack "$work/op.pxi" -o "$work/op.bin" >/dev/null 2>&1 || fail "unpack op.pxi"
if command -v python3 >/dev/null; then
  python3 - "$work/op.bin" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
b[b.index(bytes([0x30, 0, 0, 0, 0]))] = 0xa1  # the JMP opcode byte
open(p, 'wb').write(b)
PY
  "$PXOS" pack "$work/op.bin" -o "$work/bad.pxi" >/dev/null 2>&1 || fail "pack bad.pxi"
  bad "disasm names the file" 4 "$work/bad.pxi: " "$PXOS" disasm "$work/bad.pxi"
fi

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "hv cli: all passed"
