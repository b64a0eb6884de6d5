#!/usr/bin/env bash
# bench/llm/serve.sh: `pxos llm serve` on SmolLM2-135M (CPU reference) under a bounded loopback
# load: 50 streamed requests 4 at a time, at --parallel 1 and 4: requests/s, tok/s, p50/p99 time
# to first token. A figure of this (shared, 2-core) machine, not a test. llama-server is measured
# beside it when a peer build exists (PEER_LLAMA_SERVER=path).
set -euo pipefail
cd "$(dirname "$0")/../.."
PXOS=${PXOS:-build/pxos}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
N=${N:-50}; C=${C:-4}; MAXTOK=${MAXTOK:-16}
run_one() {  # $1 label, rest: server command
  local label=$1; shift
  local log; log=$(mktemp)
  "$@" >"$log" 2>&1 &
  local pid=$!
  local port=""
  for _ in $(seq 600); do
    port=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$log" | sed 's/.*://' || true)
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  python3 bench/llm/serve_load.py --port "$port" -n "$N" -c "$C" --max-tokens "$MAXTOK" --label "$label"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
echo "# $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) (shared machine)"
run_one "pxos --parallel 1" "$PXOS" llm serve "$MODEL" --port 0 --parallel 1 --ctx 512
run_one "pxos --parallel 4" "$PXOS" llm serve "$MODEL" --port 0 --parallel 4 --ctx 512
if [ -n "${PEER_LLAMA_SERVER:-}" ] && [ -x "$PEER_LLAMA_SERVER" ]; then
  echo "# peer: $PEER_LLAMA_SERVER"
  # llama-server prints no 'listening on http://' line in this form: wrap its port.
  port=18089
  "$PEER_LLAMA_SERVER" -m "$MODEL" --port $port -c 512 -np 4 >/dev/null 2>&1 & pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  python3 bench/llm/serve_load.py --port $port -n "$N" -c "$C" --max-tokens "$MAXTOK" --label "llama-server -np 4"
  kill $pid; wait $pid 2>/dev/null || true
else
  echo "# peer: no llama-server build found (PEER_LLAMA_SERVER unset): not measured"
fi
