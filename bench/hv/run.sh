#!/usr/bin/env bash
# bench/hv/run.sh [BUILD_DIR]: start-up of `pxos hv run` on a 64 KiB archive (spawn to first
# instruction, SPAWNS times; the full pxos binary and pxos_hv_min, the same front end with only
# the archive/hv commands) and the hypervisor's per-run overhead over a bare VM run on the VM
# benchmark programs (RUNS interleaved runs each, with an A/A control); medians. `make bench-hv`.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
cmake --build "$build" --target pxos pxos_hv_bench pxos_hv_min >/dev/null
bin=$build/src/hv/pxos_hv_bench
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# command: $bin --pxos $build/pxos --pxos-min $build/src/hv/pxos_hv_min --runs ${RUNS:-9} --spawns ${SPAWNS:-100} bench/vm/{fib,loop,sieve,matmul}.pxasm"
echo
# memory words per program, as bench/vm/run.sh gives them
exec "$bin" --pxos "$build/pxos" --pxos-min "$build/src/hv/pxos_hv_min" --demo examples/demo-archive \
  --runs "${RUNS:-9}" --spawns "${SPAWNS:-100}" \
  bench/vm/fib.pxasm:1024 bench/vm/loop.pxasm:1024 bench/vm/sieve.pxasm:60000 bench/vm/matmul.pxasm:12288
