#!/usr/bin/env bash
# run_h100.sh: the whole GPU benchmark in one device session (see docs/gpu.md, "Benchmarks"):
# Vulkan loader + GL dispatch libraries from .gl/, the pxos binary from .gpubin/, Dawn from
# node_modules; pxos gpu info, every kernel's bench, then torch's figures for the same shapes.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export XDG_RUNTIME_DIR=/tmp
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export PXOS_DAWN_LIB=$PWD/node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so
export LD_LIBRARY_PATH=$PWD/.gpubin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
PX=./.gpubin/pxos
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw --format=csv | tee "$OUT/smi.txt"
$PX gpu info | tee "$OUT/info.txt"
b() { echo "# pxos gpu bench $*"; $PX gpu bench "$@" --json 2>&1 | tee -a "$OUT/pxos.jsonl"; }
BENCH_SET=${BENCH_SET:-all}
if [ "$BENCH_SET" = all ] || [ "$BENCH_SET" = matmul ]; then
  b matmul --kernel v2 --n 1024 2048 4096 8192 --reps 20
  b matmul --kernel v2s --n 1024 2048 --reps 20
  b matmul --kernel v1 --n 4096 --reps 5
  b matmul --kernel v3 --n 1024 --reps 5
  # tuning variants (kernel files from $VARIANTS/<name>/, see docs/gpu.md)
  for v in ${VARIANTS:-}; do echo "# variant $v"; PXOS_KERNELS_DIR=.gpubin/$v b matmul --n 4096 --reps 20; done
  echo "# toggle disable_robustness"; PXOS_DAWN_TOGGLES=disable_robustness b matmul --n 4096 --reps 20
fi
if [ "$BENCH_SET" = all ] || [ "$BENCH_SET" = rest ]; then
  b attention --n 2048 --kernel v1 --reps 10
  b attention --n 2048 --kernel v1 --non-causal --reps 10
  b attention --n 2048 --kernel v2 --reps 10
  b attention --n 2048 --kernel v2 --non-causal --reps 10
  echo "# toggle disable_robustness"; PXOS_DAWN_TOGGLES=disable_robustness b attention --n 2048 --reps 10
  for op in softmax layernorm rmsnorm relu leaky_relu gelu silu; do b $op --n 16384 --cols 4096 --reps 20; done
  b rotary --n 4096 16384 --reps 20 --kernel v2
  b rotary --n 4096 16384 --reps 20 --kernel v3
  b rotary --n 4096 --reps 20 --kernel v1
fi
PYTHONUNBUFFERED=1 python3 bench/gpu/torch_ref.py 2>&1 | tee "$OUT/torch.jsonl"
