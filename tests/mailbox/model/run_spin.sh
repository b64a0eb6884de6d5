#!/usr/bin/env bash
# run_spin.sh: model-checks one Promela model with spin (safety: assertions and invalid end
# states, exhaustively) and fails on any error; with --expect KIND it fails unless spin finds
# an error of that kind ("assertion violated", "invalid end state"): a bug variant must fail.
# usage: run_spin.sh [--expect KIND] MODEL.pml [-DNAME[=VALUE] ...]   (env CC: the C compiler)
set -euo pipefail
expect=""
if [ "${1:-}" = --expect ]; then expect=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: run_spin.sh [--expect KIND] MODEL.pml [-DNAME[=VALUE] ...]" >&2; exit 2; }
model=$(realpath "$1"); shift
name="$(basename "$model")${*:+ $*}"
command -v spin >/dev/null || { echo "run_spin: spin is not installed (scripts/setup installs it)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$(dirname "$model")"/*.pml "$work"/  # spin -t finds the trail next to the model
cd "$work"
model=$(basename "$model")
if ! spin "$@" -a "$model" >spin.log 2>&1; then
  cat spin.log >&2; echo "run_spin: $name: spin -a failed" >&2; exit 1
fi
# A bug variant fails within a few hundred states: compiling pan fast beats running it fast.
opt=-O1; [ -n "$expect" ] && opt=-O0
"${CC:-gcc}" $opt -w -DSAFETY -DCOLLAPSE -o pan pan.c
# -m: the deepest of these models is ~550 steps; a search cut short by the depth is a failure.
./pan -m1000000 >pan.log 2>&1 || true
errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.log | head -1)
states=$(awk '/states, stored/ {print $1; exit}' pan.log)
depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' pan.log | head -1)
[ -n "$errors" ] || { cat pan.log >&2; echo "run_spin: $name: pan gave no result" >&2; exit 1; }
if [ -z "$expect" ]; then
  if grep -q "max search depth too small" pan.log; then
    echo "run_spin: $name: search depth too small (depth $depth): raise -m" >&2; exit 1
  fi
  if [ "$errors" != 0 ]; then
    grep '^pan:[0-9]' pan.log >&2 || true
    echo "run_spin: $name: $errors error(s); the counterexample:" >&2
    spin -t -p -g "$@" "$model" 2>&1 | tail -120 >&2 || true
    exit 1
  fi
  echo "run_spin: $name: no errors, $states states, depth $depth"
else
  if [ "$errors" = 0 ] || ! grep -q "^pan:1: $expect" pan.log; then
    grep '^pan:[0-9]' pan.log >&2 || true
    echo "run_spin: $name: expected spin to find \"$expect\", it found $errors error(s)" >&2; exit 1
  fi
  echo "run_spin: $name: found as expected: $(grep -m1 '^pan:1:' pan.log)"
fi
