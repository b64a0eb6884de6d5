#!/usr/bin/env bash
# cli_test.sh: `pxos llm info` end to end on generated GGUFs (and the real model when present):
# each bad input (not a GGUF, wrong magic, truncated, tensor past the end, unknown architecture,
# unsupported quant, a directory, a FIFO) is one stderr line and a non-zero exit.
set -u
PXOS=${PXOS:?set PXOS to the pxos binary}
SRC=${PXOS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=${LLM_GEN:?set LLM_GEN to the gguf generator}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
run() { "$@" >"$work/out" 2>"$work/err"; rc=$?; }
ok() { local n=$1; shift; run "$@"; [ "$rc" = 0 ] || fail "$n: exit $rc: $(head -c 400 "$work/err")"; }
bad() {
  local n=$1 pat=$2; shift 2
  run "$@"
  [ "$rc" != 0 ] || fail "$n: exit 0"
  [ "$(wc -l <"$work/err")" = 1 ] || fail "$n: stderr is not one line: $(head -c 400 "$work/err")"
  grep -qF -- "$pat" "$work/err" || fail "$n: stderr lacks '$pat': $(cat "$work/err")"
}

"$GEN" "$work/tiny.gguf" good || { echo "FAIL: generator"; exit 1; }
ok info "$PXOS" llm info "$work/tiny.gguf"
grep -q "architecture: llama" "$work/out" || fail "info: no architecture line"
grep -q "Q4_1" "$work/out" || fail "info: no Q4_1 line"
echo "hello" >"$work/text.gguf"
bad not_gguf "wrong magic" "$PXOS" llm info "$work/text.gguf"
head -c 100 "$work/tiny.gguf" >"$work/trunc.gguf"
bad truncated "offset 0x" "$PXOS" llm info "$work/trunc.gguf"
size=$(stat -c %s "$work/tiny.gguf")
head -c $((size - 40)) "$work/tiny.gguf" >"$work/short.gguf"
bad past_end "runs past the end" "$PXOS" llm info "$work/short.gguf"
"$GEN" "$work/arch.gguf" arch && bad unknown_arch "architecture 'mamba'" "$PXOS" llm info "$work/arch.gguf"
"$GEN" "$work/quant.gguf" quant && bad unsupported_quant "Q6_K" "$PXOS" llm info "$work/quant.gguf"
bad directory "not a regular file" "$PXOS" llm info "$work"
mkfifo "$work/fifo.gguf"
bad fifo "not a regular file" "$PXOS" llm info "$work/fifo.gguf"
bad missing "cannot open" "$PXOS" llm info "$work/none.gguf"
model="$SRC/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$model" ]; then
  ok real_info "$PXOS" llm info "$model"
  grep -q "49152 tokens" "$work/out" || fail "real_info: vocab size"
fi
[ "$failures" = 0 ] && echo "llm cli: ok"
exit $((failures > 0))
