#!/usr/bin/env bash
# bench/llm/gpu_pack.sh DEST: fills DEST (an ignored folder of the tree the device call copies)
# with what bench/llm/gpu_device.sh DEST needs: build/pxos and build/tests/llm/test_llm_gpu with
# their shared libraries and Dawn (xz-compressed: the libraries are ~36 MB raw, the call carries
# at most 64 MiB), the scripts, the real model's header (shaped_gguf.py split) and the gguf Python
# package WITH its dist-info (transformers checks its version through the package metadata; the
# 2026-12-07 llmgpu call lacked it, so its peer did not run).
set -euo pipefail
DEST=${1:?usage: gpu_pack.sh DEST}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
DAWN=${PXOS_DAWN_LIB:-node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$DEST"
cp build/pxos build/tests/llm/test_llm_gpu "$DAWN" "$T/bin/"
{ ldd build/pxos; ldd build/tests/llm/test_llm_gpu; } | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -Ev '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux)[.-]' | xargs -I{} cp -L {} "$T/bin/"
(cd "$T/bin" && tar -cf - ./* | xz -T2 -6 >"$T/bin.tar.xz")
mv "$T/bin.tar.xz" "$DEST/bin.tar.xz"
cp bench/llm/gpu_device.sh bench/llm/shaped_gguf.py tests/llm/gpu_model_test.sh bench/llm/torch_peer.py "$DEST/"
python3 bench/llm/shaped_gguf.py split "$MODEL" "$DEST/shape"
site=$(python3 -c 'import gguf, os; print(os.path.dirname(os.path.dirname(gguf.__file__)))')
rm -rf "$DEST/py"; mkdir -p "$DEST/py"
cp -r "$site/gguf" "$site"/gguf-*.dist-info "$DEST/py/"
find "$DEST/py" -name __pycache__ -prune -exec rm -rf {} +
du -sh "$DEST"
