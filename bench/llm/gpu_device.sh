#!/usr/bin/env bash
# bench/llm/gpu_device.sh BIN: the LLM GPU figures in one call on the GPU machine, from a folder
# BIN (an ignored path of the repo copy there, filled by bench/llm/gpu_pack.sh BIN) holding pxos,
# test_llm_gpu, their shared libraries and Dawn as bin.tar.xz, this script, shaped_gguf.py,
# gpu_model_test.sh, torch_peer.py, the real model's header (shape/, shaped_gguf.py split) and
# the gguf Python package.
# The real model does not fit what one call carries, so the figures are taken on a file of its
# shapes, types and metadata with random blocks (shaped_gguf.py fill): correctness (unit.llm_gpu,
# and GPU vs CPU reference at every position of the 64-token prompt on that file), then
# `pxos llm bench` for the v1 and v2 kernels (and v2 with Dawn's robustness off), then
# transformers on the same file. Writes everything under $OUT (default /tmp/out).
set -uo pipefail
BIN=$(cd "${1:?usage: gpu_device.sh BIN}" && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
tar -xJf "$BIN/bin.tar.xz" -C "$BIN"
export XDG_RUNTIME_DIR=/tmp
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export PXOS_DAWN_LIB=$BIN/libwebgpu_wrapper.so LD_LIBRARY_PATH=$BIN PYTHONPATH=$BIN/py
PX=$BIN/pxos
MODEL=/tmp/m/shaped.gguf; mkdir -p /tmp/m
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw --format=csv
$PX gpu info | head -12
echo "== model: the real file's header + random blocks"
time python3 "$BIN/shaped_gguf.py" fill "$BIN/shape" "$MODEL"; sha256sum "$MODEL"
$PX llm info "$MODEL" | sed -n 1,14p
echo "== unit.llm_gpu"
time "$BIN/test_llm_gpu" 2>&1 | grep -v '^\[ RUN\|^$'
echo "== integration.llm_gpu_model on the shaped file (default kernels: v2)"
time PXOS=$PX MODEL=$MODEL bash "$BIN/gpu_model_test.sh"
echo "== integration, kernels v1"
PXOS_LLM_KERNELS=v1 PXOS=$PX MODEL=$MODEL bash "$BIN/gpu_model_test.sh"
b() {  # NAME [ENV...]: one pxos llm bench
  local name=$1; shift
  echo "== bench $name ($*)"
  env "$@" $PX llm bench "$MODEL" --prompt 512 --decode 128 --ctx 1024 --json "$OUT/pxos_bench_$name.json"
}
b v1 PXOS_LLM_KERNELS=v1
b v2 PXOS_LLM_KERNELS=v2
b v2_norobust PXOS_LLM_KERNELS=v2 PXOS_DAWN_TOGGLES=disable_robustness
b matvec2_attn1 PXOS_LLM_KERNELS=v2,attention=v1
echo "== peer (${SECONDS} s in)"
PYTHONUNBUFFERED=1 timeout $((345 - SECONDS)) python3 "$BIN/torch_peer.py" "$MODEL" --prompt 512 --decode 128 --json "$OUT/torch_peer.json"
echo "== end $(date -u)"
