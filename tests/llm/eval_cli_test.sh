#!/usr/bin/env bash
# eval_cli_test.sh: `pxos llm eval` on a tiny generated GGUF: the top list and greedy ids, the
# same ids for any thread count, and each bad input (malformed ids, a token past the vocabulary,
# a prompt past the context, a bad model) as one stderr line and a non-zero exit.
set -u
PXOS=${PXOS:?set PXOS to the pxos binary}
GEN=${LLM_GEN:?set LLM_GEN to the gguf generator}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
run() { "$@" >"$work/out" 2>"$work/err"; rc=$?; }
bad() {
  local n=$1 pat=$2; shift 2
  run "$@"
  [ "$rc" != 0 ] || fail "$n: exit 0"
  [ "$(wc -l <"$work/err")" = 1 ] || fail "$n: stderr is not one line: $(head -c 400 "$work/err")"
  grep -qF -- "$pat" "$work/err" || fail "$n: stderr lacks '$pat': $(cat "$work/err")"
}
"$GEN" "$work/t.gguf" mixed 7 || { echo "FAIL: generator"; exit 1; }
run "$PXOS" llm eval "$work/t.gguf" --ids 267,72,105 --top 3 --generate 5
[ "$rc" = 0 ] || fail "eval: exit $rc: $(cat "$work/err")"
[ "$(grep -c '^  top ' "$work/out")" = 3 ] || fail "eval: not 3 top lines: $(cat "$work/out")"
grep -qE '^generated: [0-9]+(,[0-9]+){4}$' "$work/out" || fail "eval: no 5 generated ids: $(cat "$work/out")"
one=$(grep '^generated:' "$work/out")
run "$PXOS" llm eval "$work/t.gguf" --ids 267,72,105 --generate 5 --threads 3
[ "$(grep '^generated:' "$work/out")" = "$one" ] || fail "threads: ids differ with 3 threads"
bad ids_text "not a token id" "$PXOS" llm eval "$work/t.gguf" --ids 1,x,3
bad ids_empty "not a token id" "$PXOS" llm eval "$work/t.gguf" --ids 1,,3
bad ids_negative "not a token id" "$PXOS" llm eval "$work/t.gguf" --ids -4
bad past_vocab "outside the vocabulary of 269" "$PXOS" llm eval "$work/t.gguf" --ids 1,269
bad past_ctx "pass the context of 4 tokens" "$PXOS" llm eval "$work/t.gguf" --ids 1,2,3,4,5 --ctx 4
run "$PXOS" llm eval "$work/t.gguf" --ids 1,2,3 --ctx 4 --generate 4
grep -q "context full after 2 generated tokens" "$work/out" || fail "gen_ctx: $(cat "$work/out")"
echo "hello" >"$work/text.gguf"
bad not_gguf "wrong magic" "$PXOS" llm eval "$work/text.gguf" --ids 1
"$GEN" "$work/arch.gguf" arch && bad unknown_arch "architecture 'mamba'" "$PXOS" llm eval "$work/arch.gguf" --ids 1
[ "$failures" = 0 ] && echo "llm eval cli: ok"
exit $((failures > 0))
