#!/usr/bin/env bash
# run_libfuzzer.sh BUILD_DIR SECONDS: runs every libFuzzer target built by the fuzz preset
# on a copy of its corpus for SECONDS each (`make fuzz`).
set -euo pipefail
dir=$1; secs=${2:-60}
shopt -s nullglob
status=0
for t in "$dir"/tests/*/fuzz_*; do
  case "$t" in *.corpus) continue;; esac
  [ -x "$t" ] || continue
  name=$(basename "$t"); corpus_src=$(cat "$t.corpus" 2>/dev/null || true)
  work=$(mktemp -d); [ -n "$corpus_src" ] && cp -r "$corpus_src"/. "$work"/ 2>/dev/null || true
  echo "== $name ($secs s)"
  "$t" -max_total_time="$secs" -print_final_stats=1 "$work" || status=1
  rm -rf "$work"
done
exit $status
