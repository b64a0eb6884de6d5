#!/usr/bin/env bash
# ref_test.sh: the CPU reference (`pxos llm eval`) against the independent numpy forward pass
# (ref_forward.py): logits at every position and greedy tokens, on seeded tiny GGUFs of every
# supported type and, when present, on the real SmolLM2 file.
set -u
PXOS=${PXOS:?set PXOS to the pxos binary}
SRC=${PXOS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=${LLM_GEN:?set LLM_GEN to the gguf generator}
REF="$SRC/tests/llm/ref_forward.py"
if ! python3 -c "import numpy, gguf" 2>/dev/null; then
  echo "FAIL: python3 lacks numpy/gguf (scripts/setup installs the pinned versions)"
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
# check LABEL MODEL IDS N_GEN THREADS
check() {
  local label=$1 model=$2 ids=$3 n=$4 threads=$5
  if ! "$PXOS" llm eval "$model" --ids "$ids" --generate "$n" --threads "$threads" --logits "$work/l.f32" >"$work/out" 2>"$work/err"; then
    echo "[$label] FAIL: pxos llm eval: $(head -c 400 "$work/err")"
    failures=$((failures + 1))
    return
  fi
  local gen
  gen=$(sed -n 's/^generated: //p' "$work/out")
  python3 "$REF" "$model" --ids "$ids" --generated "$gen" --logits "$work/l.f32" --label "$label" || failures=$((failures + 1))
}
# The tiny vocab has 269 tokens: bytes, merges, then <|endoftext|> <|im_start|> <|im_end|>.
tiny_ids=267,117,115,101,114,10,72,105,256,44,258,33
for seed in 1 2 3; do
  "$GEN" "$work/tiny$seed.gguf" mixed $seed || { echo "FAIL: generator"; exit 1; }
  check "tiny mixed seed $seed" "$work/tiny$seed.gguf" "$tiny_ids" 8 $((seed % 2 + 1))
done
"$GEN" "$work/out4.gguf" mixed-out 4 && check "tiny untied output seed 4" "$work/out4.gguf" "$tiny_ids" 8 2
model="$SRC/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$model" ]; then
  # "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n", ids
  # picked from the file's vocab (tokenizer.ggml.tokens); greedy: "The capital of France is Paris."
  check "SmolLM2" "$model" 1,4093,198,1780,314,260,3575,282,4649,47,2,198,1,520,9531,198 16 2
  grep -q '^generated: 504,3575,282,4649,314,7042,30,2' "$work/out" ||
    { echo "[SmolLM2] FAIL: not the expected answer: $(grep '^generated' "$work/out")"; failures=$((failures + 1)); }
else
  echo "real model absent: only the tiny files were checked"
fi
[ "$failures" = 0 ] && echo "llm ref: ok"
exit $((failures > 0))
