#!/usr/bin/env bash
# bench/llm/peer.sh [build | compare | bench [N]]: the independent llama.cpp peer of issue 14. Builds libllama
# from the pip sdist llama-cpp-python==0.3.16 (its vendor/llama.cpp) and bench/llm/peer/peer_llm.cpp into
# build-peer/ (ignored), never in make test; `compare` checks greedy tokens and top-1 (bench/llm/peer_compare.py),
# `bench` measures prefill/decode tok/s of both engines on the same file and cores, paired.
# PEER_PREFILL_ONE=1: llama.cpp evaluates the prompt one token per llama_decode (its batched path rounds differently).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PEER=${PEER:-$ROOT/build-peer}
VERSION=0.3.16
JOBS=${JOBS:-1}   # 2 shared cores: the peer build runs at nice 19 with one job unless told otherwise

build() {
  if [ ! -f "$PEER/src/CMakeLists.txt" ]; then
    mkdir -p "$PEER/dl"
    [ -f "$PEER/dl/llama_cpp_python-$VERSION.tar.gz" ] ||
      python3 -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$PEER/dl"
    tar -xzf "$PEER/dl/llama_cpp_python-$VERSION.tar.gz" -C "$PEER" "llama_cpp_python-$VERSION/vendor/llama.cpp"
    mv "$PEER/llama_cpp_python-$VERSION/vendor/llama.cpp" "$PEER/src"
    rm -rf "$PEER/llama_cpp_python-$VERSION"
  fi
  # GGML_NATIVE: the same cores as pxos's CPU reference; no OpenMP so the thread count is exactly --threads.
  cmake -S bench/llm/peer -B "$PEER/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_SRC="$PEER/src" \
    -DGGML_NATIVE=ON -DGGML_OPENMP=OFF >"$PEER/configure.log"
  nice -n 19 cmake --build "$PEER/build" --target peer_llm -j"$JOBS"
}

PXOS=${PXOS:-$ROOT/build/pxos}
MODEL=${MODEL:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}
PEER_BIN=$PEER/build/peer_llm
need() {
  [ -x "$PXOS" ] || { echo "bench/llm/peer.sh: $PXOS not built (make build)" >&2; exit 1; }
  [ -f "$MODEL" ] || { echo "bench/llm/peer.sh: $MODEL absent (scripts/setup fetches it)" >&2; exit 1; }
  [ -x "$PEER_BIN" ] || build
}

# The same 16-token ChatML prompt as bench/llm/cpu_decode.sh ("What is the capital of France?").
IDS=1,4093,198,1780,314,260,3575,282,4649,47,2,198,1,520,9531,198
bench() {
  local n=${1:-64} t p d
  echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (shared with other builds)"
  for t in 1 2; do
    # Paired: pxos and llama.cpp alternate, best of 3 each, so both see the same load.
    local bp=0 bd=0 qp=0 qd=0
    for _ in 1 2 3; do
      line=$("$PXOS" llm eval "$MODEL" --ids "$IDS" --generate "$((n + 1))" --threads "$t" --stats | grep '^stats:')
      p=$(sed -E 's/.*prefill [0-9]+ tokens [0-9.]+ s \(([0-9.]+) tok\/s\).*/\1/' <<<"$line")
      d=$(sed -E 's/.*decode [0-9]+ tokens [0-9.]+ s \(([0-9.]+) tok\/s\).*/\1/' <<<"$line")
      bp=$(awk -v a="$bp" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
      bd=$(awk -v a="$bd" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
      line=$(echo "$IDS" | "$PEER_BIN" bench "$MODEL" "$t" "$n")
      p=$(sed -E 's/.*prefill [0-9]+ tokens [0-9.]+ s \(([0-9.]+) tok\/s\).*/\1/' <<<"$line")
      d=$(sed -E 's/.*decode [0-9]+ tokens [0-9.]+ s \(([0-9.]+) tok\/s\).*/\1/' <<<"$line")
      qp=$(awk -v a="$qp" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
      qd=$(awk -v a="$qd" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
    done
    echo "threads $t: pxos CPU reference prefill 16 tokens $bp tok/s, decode $n tokens $bd tok/s"
    echo "threads $t: llama.cpp $VERSION     prefill 16 tokens $qp tok/s, decode $n tokens $qd tok/s"
    awk -v a="$bd" -v b="$qd" -v c="$bp" -v e="$qp" 'BEGIN { printf "threads '"$t"': llama.cpp / pxos: decode %.2fx, prefill %.2fx\n", b / a, e / c }'
  done
}

case "${1:-build}" in
  build) build ;;
  compare) need; python3 bench/llm/peer_compare.py "$PXOS" "$MODEL" "$PEER_BIN" "${THREADS:-2}" ;;
  bench) need; bench "${2:-64}" ;;
  *) echo "usage: bench/llm/peer.sh [build | compare | bench [N]]" >&2; exit 2 ;;
esac
