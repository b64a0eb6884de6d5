#!/usr/bin/env bash
# run_cli_test.sh: `pxos llm run`, `llm chat` (driven through a pipe) and `llm pack` on a tiny
# generated GGUF: greedy and seeded sampling are deterministic, --json stats, max tokens, chat
# turns and /reset; the .gguf, its .pxa and a god key to it give identical logits; every bad input
# (empty prompt, invalid UTF-8, a prompt past the context, not a model, truncated, unknown
# architecture, unsupported quant, a FIFO, a damaged or foreign archive, a key with no store
# entry, bad sampling flags) is one stderr line and a non-zero exit.
set -u
PXOS=${PXOS:?set PXOS to the pxos binary}
GEN=${LLM_GEN:?set LLM_GEN to the gguf generator}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PXOS_STORE="$work/store"
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
json() { python3 -c "import json,sys; d=json.load(open('$work/out')); print($1)"; }

"$GEN" "$work/t.gguf" mixed 7 || { echo "FAIL: generator"; exit 1; }
M="$work/t.gguf"
# run: greedy, streamed text on stdout, the stats line on stderr
ok run_greedy "$PXOS" llm run "$M" --prompt "hi there" --temperature 0 --max-tokens 6
grep -qE '^llm run: prefill [0-9]+ tokens .* tok/s\), decode [0-9]+ tokens .* tok/s\), [0-9]+ generated, stop: ' "$work/err" ||
  fail "run_greedy: no stats line: $(cat "$work/err")"
cp "$work/out" "$work/greedy.txt"
ok run_json "$PXOS" llm run "$M" --prompt "hi there" --temperature 0 --max-tokens 6 --json
g1=$(json 'd["tokens"]')
[ "$(json 'len(d["tokens"]) <= 6 and d["stop_reason"] in ("max_tokens","stop_token") and d["prefill"]["tokens"] == d["prompt_tokens"]')" = True ] ||
  fail "run_json: $(cat "$work/out")"
[ "$(json 'd["decode"]["tokens"] == max(0, len(d["tokens"]) - 1) or d["stop_reason"] == "stop_token"')" = True ] ||
  fail "run_json: decode count: $(cat "$work/out")"
ok run_json_threads "$PXOS" llm run "$M" --prompt "hi there" --temperature 0 --max-tokens 6 --json --threads 3
[ "$(json 'd["tokens"]')" = "$g1" ] || fail "threads: greedy tokens differ with 3 threads"
ok run_max "$PXOS" llm run "$M" --prompt "hi there" --temperature 0 --max-tokens 2 --json
[ "$(json 'len(d["tokens"]) <= 2')" = True ] || fail "run_max: $(cat "$work/out")"
ok run_raw "$PXOS" llm run "$M" --prompt "hi there" --raw --temperature 0 --max-tokens 2 --json
[ "$(json 'd["prompt_tokens"]')" -lt 10 ] || fail "run_raw: the template was applied: $(cat "$work/out")"
# seeded sampling: the same seed gives the same tokens
ok seed_a "$PXOS" llm run "$M" --prompt "hi" --temperature 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 11 --max-tokens 12 --json
s1=$(json 'd["tokens"]')
ok seed_b "$PXOS" llm run "$M" --prompt "hi" --temperature 1.5 --top-k 0 --top-p 1 --min-p 0 --seed 11 --max-tokens 12 --json
[ "$(json 'd["tokens"]')" = "$s1" ] || fail "seed: the same seed gave other tokens"
ok run_file "$PXOS" llm run "$M" --prompt-file - --temperature 0 --max-tokens 6 <<<"hi there"
# --backend gpu (WGSL through Dawn): the same greedy tokens as the CPU reference on this tiny
# model; without a GPU adapter, one clear line instead.
if "$PXOS" gpu info >/dev/null 2>&1; then
  ok run_gpu "$PXOS" llm run "$M" --prompt "hi there" --temperature 0 --max-tokens 6 --json --backend gpu
  [ "$(json 'd["tokens"]')" = "$g1" ] || fail "run_gpu: tokens differ from the CPU reference's"
  printf 'hello\n/reset\nhello\n' | "$PXOS" llm chat "$M" --temperature 0 --max-tokens 5 --backend gpu >"$work/chat.gpu" 2>"$work/err" ||
    fail "chat_gpu: $(cat "$work/err")"
else
  bad run_gpu "GPU" "$PXOS" llm run "$M" --prompt "hi there" --backend gpu
fi
bad gpu_actq "CPU-reference modes" "$PXOS" llm run "$M" --prompt a --backend gpu --act-quant q8_1
bad backend "--backend tpu: must be cpu or gpu" "$PXOS" llm run "$M" --prompt a --backend tpu
# bad input: one line each
bad empty "--prompt: the prompt is empty" "$PXOS" llm run "$M" --prompt ""
bad utf8 "--prompt: byte 1: not valid UTF-8" "$PXOS" llm run "$M" --prompt $'a\xffb'
[ "$rc" = 22 ] || fail "utf8: exit $rc, not 22"
bad ctx "tokens do not fit the context of 8 tokens" "$PXOS" llm run "$M" --prompt "a longer prompt than eight tokens" --ctx 8
[ "$rc" = 20 ] || fail "ctx: exit $rc, not 20"
bad ctx_model "do not fit the context of 64 tokens" "$PXOS" llm run "$M" --raw --prompt "$(printf 'x%.0s ' $(seq 40))"
bad both "exactly one of --prompt, --prompt-file" "$PXOS" llm run "$M" --prompt a --prompt-file "$M"
bad temp "temperature -1 must be 0 or more" "$PXOS" llm run "$M" --prompt a --temperature -1
bad topp "top-p 0 must be in (0, 1]" "$PXOS" llm run "$M" --prompt a --top-p 0
bad stop_empty "an empty stop string" "$PXOS" llm run "$M" --prompt a --stop ""
bad actq "--act-quant" "$PXOS" llm run "$M" --prompt a --act-quant q4
echo "hello" >"$work/text.gguf"
bad not_gguf "wrong magic" "$PXOS" llm run "$work/text.gguf" --prompt a
head -c 100 "$M" >"$work/trunc.gguf"
bad truncated "offset 0x" "$PXOS" llm run "$work/trunc.gguf" --prompt a
size=$(stat -c %s "$M")
head -c $((size - 40)) "$M" >"$work/short.gguf"
bad past_end "runs past the end" "$PXOS" llm run "$work/short.gguf" --prompt a
"$GEN" "$work/arch.gguf" arch && bad unknown_arch "architecture 'mamba'" "$PXOS" llm run "$work/arch.gguf" --prompt a
"$GEN" "$work/quant.gguf" quant && bad unsupported_quant "Q6_K" "$PXOS" llm run "$work/quant.gguf" --prompt a
mkfifo "$work/fifo.gguf"
bad fifo "not a regular file" "$PXOS" llm run "$work/fifo.gguf" --prompt a
# chat through a pipe: one reply line per turn (greedy, so /reset gives the first reply again)
printf 'hello\n/reset\nhello\n' | "$PXOS" llm chat "$M" --temperature 0 --max-tokens 5 >"$work/chat" 2>"$work/err"
rc=$?
[ "$rc" = 0 ] || fail "chat: exit $rc: $(cat "$work/err")"
[ -s "$work/err" ] && fail "chat: stderr not empty off a tty: $(cat "$work/err")"
[ ! -f "$work/chat.gpu" ] || cmp -s "$work/chat" "$work/chat.gpu" || fail "chat_gpu: replies differ from the CPU reference's"
python3 - "$work/chat" <<'PY' || fail "chat: the reply after /reset differs from the first"
import sys
b = open(sys.argv[1], 'rb').read()
half = len(b) // 2
sys.exit(0 if len(b) % 2 == 0 and b[:half] == b[half:] and b.endswith(b'\n') else 1)
PY
printf 'one\ntwo\nthree\n' | "$PXOS" llm chat "$M" --temperature 0 --max-tokens 3 >"$work/chat" 2>"$work/err"
[ "$?" = 0 ] || fail "chat turns: $(cat "$work/err")"
printf 'a\xffb\nhello\n' | "$PXOS" llm chat "$M" --temperature 0 --max-tokens 3 >"$work/chat" 2>"$work/err"
[ "$?" = 0 ] || fail "chat utf8: exit"
grep -qF "stdin: line 1: byte 1: not valid UTF-8 (line ignored)" "$work/err" || fail "chat utf8: $(cat "$work/err")"
printf '%s\n' "$(printf 'word %.0s' $(seq 40))" | "$PXOS" llm chat "$M" --max-tokens 3 >"$work/chat" 2>"$work/err"
grep -qF "stdin: line 1: the conversation (" "$work/err" || fail "chat ctx: $(cat "$work/err")"
bad chat_stop "llm chat: --stop: an empty stop string" "$PXOS" llm chat "$M" --stop ""
bad pack_fifo "not a regular file" "$PXOS" llm pack "$work/fifo.gguf" -o "$work/x.pxa"
# pack: .gguf, .pxa and a god key load identically (the same logits, byte for byte)
ok pack "$PXOS" llm pack "$M" -o "$work/t.pxa"
grep -qE "^sizes: GGUF $size bytes, PNG [0-9]+ bytes .* stored in its pixels [0-9]+ bytes" "$work/out" || fail "pack: sizes: $(cat "$work/out")"
ok god "$PXOS" god create "$work/t.pxa" -o "$work/t.key.png"
ok logits_gguf "$PXOS" llm eval "$M" --ids 267,72,105,268 --generate 3 --logits "$work/l.gguf"
ok logits_pxa "$PXOS" llm eval "$work/t.pxa" --ids 267,72,105,268 --generate 3 --logits "$work/l.pxa"
ok logits_key "$PXOS" llm eval "$work/t.key.png" --ids 267,72,105,268 --generate 3 --logits "$work/l.key"
[ -s "$work/l.gguf" ] || fail "logits: empty"
cmp -s "$work/l.gguf" "$work/l.pxa" || fail "pack: the .pxa's logits differ from the .gguf's"
cmp -s "$work/l.gguf" "$work/l.key" || fail "pack: the key's logits differ from the .gguf's"
ok run_pxa "$PXOS" llm run "$work/t.pxa" --prompt "hi there" --temperature 0 --max-tokens 6
cmp -s "$work/out" "$work/greedy.txt" || fail "run_pxa: text differs from the .gguf's"
ok info_pxa "$PXOS" llm info "$work/t.key.png"
grep -q "architecture: llama" "$work/out" || fail "info_pxa: $(cat "$work/out")"
bad pack_notgguf "wrong magic" "$PXOS" llm pack "$work/text.gguf" -o "$work/x.pxa"
bad pack_arch "architecture 'mamba'" "$PXOS" llm pack "$work/arch.gguf" -o "$work/x.pxa"
python3 - "$work/t.pxa" "$work/broken.pxa" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 2] ^= 0xff; open(sys.argv[2], 'wb').write(b)
PY
bad damaged "$work/broken.pxa" "$PXOS" llm run "$work/broken.pxa" --prompt a
PXOS_STORE="$work/empty-store" bad key_nostore "t.key.png" "$PXOS" llm run "$work/t.key.png" --prompt a
mkdir -p "$work/arc/data"
printf '{"name":"x","version":"1","entry":"x"}' >"$work/arc/manifest.json"
echo x >"$work/arc/data/x"
if "$PXOS" archive create "$work/arc" -o "$work/foreign.pxa" >/dev/null 2>&1; then
  bad foreign "not an archive made by \`pxos llm pack\`" "$PXOS" llm run "$work/foreign.pxa" --prompt a
fi
[ "$failures" = 0 ] && echo "llm run/chat/pack cli: ok"
exit $((failures > 0))
