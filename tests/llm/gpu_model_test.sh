#!/usr/bin/env bash
# gpu_model_test.sh (integration.llm_gpu_model): the real SmolLM2 file, a 64-token ChatML prompt:
# GpuSession's logits (pxos llm eval --backend gpu) against the CPU reference at every position
# (64 prefill positions in two batches of 32, then 4 one-token decode steps), and the greedy tokens.
# Pass: max over positions of max|gpu - cpu| / max|cpu| < 1e-3, every logit within
# 1e-3 * (1 + |cpu|), same greedy tokens. Missing model: fails unless PXOS_NO_MODEL=1; no GPU
# adapter: fails unless PXOS_GPU_EXPECT_NONE=1.
set -euo pipefail
PXOS=${PXOS:-build/pxos}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
if [ ! -f "$MODEL" ]; then
  [ "${PXOS_NO_MODEL:-0}" = 1 ] && { echo "skip: $MODEL absent (PXOS_NO_MODEL=1)"; exit 0; }
  echo "FAIL: $MODEL absent (scripts/setup fetches it; PXOS_NO_MODEL=1 to skip)"; exit 1
fi
if ! "$PXOS" gpu info >/dev/null 2>&1; then
  [ "${PXOS_GPU_EXPECT_NONE:-0}" = 1 ] && { echo "skip: no GPU adapter (PXOS_GPU_EXPECT_NONE=1)"; exit 0; }
  echo "FAIL: no WebGPU adapter (PXOS_GPU_EXPECT_NONE=1 on a machine known to lack Vulkan)"; exit 1
fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# "Explain in two short paragraphs why the sky looks blue ..." as a ChatML prompt: its first 64 ids.
IDS=1,9690,198,2683,359,253,5356,5646,11173,3365,3511,308,34519,28,7018,411,407,19712,8182,2,198,1,4093,198,36971,281,827,1890,18092,1701,260,6376,5117,4461,981,260,1194,284,6497,2382,355,10245,418,21822,28,284,3311,13739,43464,24484,411,1462,30,5545,260,2988,2232,2001,327,253,811,30,2,198
"$PXOS" llm eval "$MODEL" --ids "$IDS" --ctx 128 --generate 5 --threads 2 --logits "$T/cpu.f32" >"$T/cpu.txt"
"$PXOS" llm eval "$MODEL" --ids "$IDS" --ctx 128 --generate 5 --backend gpu --logits "$T/gpu.f32" >"$T/gpu.txt"
python3 - "$T" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
cpu = np.fromfile(f"{d}/cpu.f32", np.float32)
gpu = np.fromfile(f"{d}/gpu.f32", np.float32)
vocab = 49152
assert cpu.size == gpu.size and cpu.size % vocab == 0, (cpu.size, gpu.size)
cpu, gpu = cpu.reshape(-1, vocab).astype(np.float64), gpu.reshape(-1, vocab).astype(np.float64)
err = np.abs(gpu - cpu)
rel = err.max(axis=1) / np.abs(cpu).max(axis=1)
bad = np.argwhere(err > 1e-3 * (1 + np.abs(cpu)))
print(f"{cpu.shape[0]} positions x {vocab}: max abs error {err.max():.3g}, max relative error {rel.max():.3g} "
      f"(position {int(rel.argmax())}), {len(bad)} logits outside 1e-3 * (1 + |cpu|)")
for p, t in bad[:5]:
    print(f"  position {p} token {t}: gpu {gpu[p, t]:.6f} cpu {cpu[p, t]:.6f}")
ok = rel.max() < 1e-3 and len(bad) == 0
sys.exit(0 if ok else 1)
PY
c=$(grep '^generated:' "$T/cpu.txt"); g=$(grep '^generated:' "$T/gpu.txt")
echo "cpu $c"; echo "gpu $g"
[ "$c" = "$g" ] || { echo "FAIL: greedy tokens differ"; exit 1; }
echo "PASS"
