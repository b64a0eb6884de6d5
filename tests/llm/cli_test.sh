#!/usr/bin/env bash
# cli_test.sh: `pxos llm info`, `llm tokenize` and `llm detokenize` end to end on generated GGUFs
# and the real model: each bad input (not a GGUF, wrong magic, truncated, tensor past the end,
# unknown architecture, unsupported quant, a directory, a FIFO, invalid UTF-8, a bad token id) is
# one stderr line and a non-zero exit. A missing real model fails unless PXOS_NO_MODEL=1.
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
# --json (issue 17.2): parsed, numbers as numbers
ok "info --json" "$PXOS" llm info --json "$work/tiny.gguf"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['architecture']=='llama' and j['parameters']>0 and isinstance(j['hyperparameters']['block_count'], int) and j['types'] else 1)" "$work/out" \
  || fail "info --json: $(head -c 400 "$work/out")"
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
# tokenize / detokenize on the tiny vocabulary (ids 256.. are its merges, 267/268 im_start/im_end)
ok tok_text "$PXOS" llm tokenize "$work/tiny.gguf" --text " the here"
[ "$(cat "$work/out")" = "258 32 257 264" ] || fail "tok_text: got '$(cat "$work/out")'"
ok tok_json "$PXOS" llm tokenize "$work/tiny.gguf" --json --text "<|im_start|>x"
[ "$(cat "$work/out")" = '{"ids":[267,120],"tokens":["<|im_start|>","x"]}' ] || fail "tok_json: got '$(cat "$work/out")'"
ok tok_plain "$PXOS" llm tokenize "$work/tiny.gguf" --no-parse-special --text "<|im_end|>"
[ "$(wc -w <"$work/out")" = 10 ] || fail "tok_plain: got '$(cat "$work/out")'"
ok tok_empty "$PXOS" llm tokenize "$work/tiny.gguf" --json --text ""
[ "$(cat "$work/out")" = '{"ids":[],"tokens":[]}' ] || fail "tok_empty: got '$(cat "$work/out")'"
ok tok_chat "$PXOS" llm tokenize "$work/tiny.gguf" --chat --text "hi"
[ "$(cat "$work/out")" = "267 117 115 261 10 104 105 268 10 267 97 115 115 105 115 116 97 110 116 10" ] ||
  fail "tok_chat: got '$(cat "$work/out")'"
printf '%s\n' "$(printf ' the' | od -An -tx1 | tr -d ' \n')" "" "$(printf '\xe6\x97\xa5 1' | od -An -tx1 | tr -d ' \n')" >"$work/lines.hex"
ok tok_hex "$PXOS" llm tokenize "$work/tiny.gguf" --hex-lines "$work/lines.hex"
[ "$(cat "$work/out")" = "$(printf '258\n\n230 151 165 32 49')" ] || fail "tok_hex: got '$(cat "$work/out")'"
ok detok "$PXOS" llm detokenize "$work/tiny.gguf" 258 32 257 264 268
[ "$(cat "$work/out")" = " the here<|im_end|>" ] || fail "detok: got '$(cat "$work/out")'"
ok detok_nospecial "$PXOS" llm detokenize "$work/tiny.gguf" --no-special 267 120 268
[ "$(cat "$work/out")" = "x" ] || fail "detok_nospecial: got '$(cat "$work/out")'"
printf 'ok\xc3(' >"$work/bad.txt"
bad tok_utf8 "$work/bad.txt: invalid UTF-8 at byte offset 2" "$PXOS" llm tokenize "$work/tiny.gguf" --file "$work/bad.txt"
[ "$rc" = 22 ] || fail "tok_utf8: exit $rc, not 22"
bad tok_utf8_arg "--text: invalid UTF-8 at byte offset 1" "$PXOS" llm tokenize "$work/tiny.gguf" --text $'a\xff'
printf '6869\n6g\n' >"$work/badhex.hex"
bad tok_badhex "line 2: column 2: not a hex digit" "$PXOS" llm tokenize "$work/tiny.gguf" --hex-lines "$work/badhex.hex"
printf '6869\nff\n' >"$work/badutf.hex"
bad tok_hex_utf8 "line 2: invalid UTF-8 at byte offset 0" "$PXOS" llm tokenize "$work/tiny.gguf" --hex-lines "$work/badutf.hex"
bad tok_nosource "exactly one of" "$PXOS" llm tokenize "$work/tiny.gguf"
bad tok_twosources "exactly one of" "$PXOS" llm tokenize "$work/tiny.gguf" --text a --file "$work/bad.txt"
bad tok_fifo "not a regular file" "$PXOS" llm tokenize "$work/tiny.gguf" --file "$work/fifo.gguf"
bad tok_notgguf "wrong magic" "$PXOS" llm tokenize "$work/text.gguf" --text a
bad detok_range "outside the vocabulary of 269 tokens" "$PXOS" llm detokenize "$work/tiny.gguf" 1 269
bad detok_word "'x1' is not a token id" "$PXOS" llm detokenize "$work/tiny.gguf" x1
bad detok_neg "outside the vocabulary" "$PXOS" llm detokenize "$work/tiny.gguf" -- -1

model="$SRC/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$model" ]; then
  ok real_info "$PXOS" llm info "$model"
  grep -q "49152 tokens" "$work/out" || fail "real_info: vocab size"
  ok real_tok "$PXOS" llm tokenize "$model" --text "Hello world"
  [ "$(cat "$work/out")" = "19556 905" ] || fail "real_tok: got '$(cat "$work/out")'"
  ok real_detok "$PXOS" llm detokenize "$model" 1 4093 198 19556 905 2
  [ "$(cat "$work/out")" = "$(printf '<|im_start|>user\nHello world<|im_end|>')" ] || fail "real_detok: got '$(cat "$work/out")'"
elif [ "${PXOS_NO_MODEL:-0}" != 1 ]; then
  fail "$model is missing (scripts/setup fetches it; PXOS_NO_MODEL=1 skips the real-model checks)"
fi
[ "$failures" = 0 ] && echo "llm cli: ok"
exit $((failures > 0))
