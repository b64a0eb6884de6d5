#!/usr/bin/env bash
# bench/llm/cpu_decode.sh [N]: prefill and decode tok/s of the CPU reference (`pxos llm eval`) on
# the real SmolLM2 file, at 1 and 2 threads, best of 3 runs each; a figure, not a test.
set -euo pipefail
N=${1:-64}
PXOS=${PXOS:-build/pxos}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -x "$PXOS" ] || { echo "bench/llm: $PXOS not built (make build)"; exit 1; }
[ -f "$MODEL" ] || { echo "bench/llm: $MODEL absent (scripts/setup fetches it)"; exit 1; }
# The 16-token ChatML prompt "What is the capital of France?" (ids from the file's vocab).
IDS=1,4093,198,1780,314,260,3575,282,4649,47,2,198,1,520,9531,198
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for t in 1 2; do
  best_p=0 best_d=0
  for _ in 1 2 3; do
    line=$("$PXOS" llm eval "$MODEL" --ids "$IDS" --generate "$((N + 1))" --threads "$t" --stats | grep '^stats:')
    p=$(sed -E 's/.*prefill [0-9]+ tokens [0-9.]+ s \(([0-9.]+) tok\/s\).*/\1/' <<<"$line")
    d=$(sed -E 's/.*decode [0-9]+ tokens [0-9.]+ s \(([0-9.]+) tok\/s\).*/\1/' <<<"$line")
    best_p=$(awk -v a="$best_p" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
    best_d=$(awk -v a="$best_d" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "threads $t: prefill 16 tokens ${best_p} tok/s, decode $N tokens ${best_d} tok/s"
done
