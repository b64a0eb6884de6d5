#!/usr/bin/env bash
# bench/llm/gpu.sh [OUTDIR]: the GPU forward pass's figures on the real SmolLM2 file, beside its
# peer in the same run: `pxos llm bench` (prefill of 512 tokens in one submit, greedy decode of
# 128 tokens at batch 1, dispatches and GPU time per token, bytes read per token, GPU memory) and
# bench/llm/torch_peer.py (transformers + torch on the same GGUF, and the device copy bandwidth
# the pxos read rate is a share of). Writes OUTDIR/pxos_bench.json and OUTDIR/torch_peer.json.
set -euo pipefail
OUT=${1:-bench/llm/results}
PXOS=${PXOS:-build/pxos}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -x "$PXOS" ] || { echo "bench/llm: $PXOS not built"; exit 1; }
[ -f "$MODEL" ] || { echo "bench/llm: $MODEL absent (scripts/setup fetches it)"; exit 1; }
mkdir -p "$OUT"
"$PXOS" gpu info | head -3
"$PXOS" llm bench "$MODEL" --prompt 512 --decode 128 --ctx 1024 --json "$OUT/pxos_bench.json"
if python3 -c 'import torch, transformers, gguf' 2>/dev/null && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  PYTHONUNBUFFERED=1 python3 bench/llm/torch_peer.py "$MODEL" --prompt 512 --decode 128 --json "$OUT/torch_peer.json"
  python3 - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
p, t = json.load(open(f"{d}/pxos_bench.json")), json.load(open(f"{d}/torch_peer.json"))
share = p["decode"]["gpu_read_GBps"] / t["copy_GBps"]
m = p["memory"]
print(f"decode read rate {p['decode']['gpu_read_GBps']:.0f} GB/s = {share:.1%} of the copy bandwidth "
      f"{t['copy_GBps']:.0f} GB/s (goal >= 75%)")
print(f"GPU memory {m['total'] / 1e6:.1f} MB vs 1.5x model + KV {m['budget_1_5x_model_plus_kv'] / 1e6:.1f} MB: "
      f"{'within' if m['total'] <= m['budget_1_5x_model_plus_kv'] else 'over'}")
for r in t["runs"]:
    print(f"peer transformers {r['dtype']}: decode {r['decode_tok_s']:.1f} tok/s, prefill {r['prefill_tok_s']:.0f} tok/s; "
          f"pxos: decode {p['decode']['tok_s_wall']:.1f} tok/s, prefill {p['prefill']['tok_s_wall']:.0f} tok/s")
PY
else
  echo "peer: torch with CUDA, transformers and gguf are needed for the peer (not here)"
fi
