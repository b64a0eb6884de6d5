#!/usr/bin/env bash
# run_parallel.sh BUILD_DIR SECONDS OUT [TARGET=WORKERS ...]: long libFuzzer runs of several targets
# at once (fork mode, WORKERS processes each, default 1), for machines with many cores. Each target
# grows its corpus in OUT/corpus/NAME; crashes, hangs (-timeout) and OOMs land in OUT/crash/; one
# summary row per target (execs, exec/s, corpus, coverage) goes to OUT/summary.md.
set -uo pipefail
dir=$1; secs=$2; out=$3; shift 3
declare -A workers=()
for a in "$@"; do workers[${a%%=*}]=${a#*=}; done
mkdir -p "$out/corpus" "$out/crash" "$out/log"
shopt -s nullglob
pids=()
for t in "$dir"/tests/*/fuzz_*; do
  case "$t" in *.corpus) continue;; esac
  [ -x "$t" ] || continue
  name=$(basename "$t"); w=${workers[$name]:-1}
  [ "$w" = 0 ] && continue
  corpus=$out/corpus/$name; mkdir -p "$corpus"
  src=$(cat "$t.corpus" 2>/dev/null || true)
  # Binaries carried to another machine name their seed corpus @ROOT@/...: the checkout there,
  # or (for seeds generated at build time) the folder above the build tree.
  case "$src" in @ROOT@/*) r=${src#@ROOT@/}; src=$PWD/$r; [ -d "$src" ] || src=$(dirname "$dir")/$r;; esac
  [ -n "$src" ] && [ -d "$src" ] && cp -rn "$src"/. "$corpus"/ 2>/dev/null
  # -timeout: an input that runs 10 s is a hang, a bug like a crash; all three are kept and the run
  # goes on (-ignore_*), so one finding does not end the hour.
  "$t" -fork="$w" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix="$out/crash/$name-" "$corpus" >"$out/log/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
{
  echo "| target | workers × s | executions | exec/s | corpus (files, bytes) | cov | ft | crashes/hangs/ooms |"
  echo "|---|---|---|---|---|---|---|---|"
  for log in "$out"/log/*.log; do
    name=$(basename "$log" .log)
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | cut -d' ' -f2)
    eps=$(grep -oE 'exec/s: [0-9]+' <<<"$last" | cut -d' ' -f2)
    bad=$(grep -oE 'oom/timeout/crash: [0-9/]+' <<<"$last" | cut -d' ' -f2)
    files=$(find "$out/corpus/$name" -type f | wc -l); bytes=$(du -sb "$out/corpus/$name" | cut -f1)
    echo "| $name | ${workers[$name]:-1} × $secs | $execs | $eps | $files, $bytes | $cov | $ft | $bad |"
  done
} >"$out/summary.md"
cat "$out/summary.md"
ls "$out/crash" | head -20
exit $status
