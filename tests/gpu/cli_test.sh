#!/usr/bin/env bash
# cli_test.sh: `pxos gpu info|check|run|bench` through the real binary (lavapipe in CI).
set -euo pipefail
: "${PXOS:?PXOS must name the pxos binary}"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
if [ "${PXOS_GPU_EXPECT_NONE:-0}" = 1 ] && ! "$PXOS" gpu info >/dev/null 2>&1; then
  echo "expected: no GPU adapter; checking the message only"
  grep -q "pxos: " <<<"$("$PXOS" gpu info 2>&1)"; exit 0
fi
# (output captured first: with pipefail, `cmd | grep -q` can fail when grep quits early)
grep -q "backend          Vulkan" <<<"$("$PXOS" gpu info)"

# check: clean file ok; a broken one prints FILE:line:col and exits non-zero
grep -q "kernels/matmul_v2.wgsl: ok" <<<"$("$PXOS" gpu check kernels/matmul_v2.wgsl)"
printf '@compute @workgroup_size(1)\nfn main() {\n  let x = 1u +;\n}\n' > "$t/bad.wgsl"
if "$PXOS" gpu check "$t/bad.wgsl" 2>"$t/err"; then echo "check accepted a bad shader"; exit 1; fi
grep -Eq "^$t/bad.wgsl:3:[0-9]+: error: " "$t/err" || { cat "$t/err"; exit 1; }

# run: doubles a buffer of u32
cat > "$t/dbl.wgsl" <<'W'
@group(0) @binding(0) var<storage, read_write> v: array<u32>;
@compute @workgroup_size(4) fn twice(@builtin(global_invocation_id) g: vec3u) { v[g.x] = v[g.x] * 2u; }
W
printf '\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00' > "$t/in.bin"
grep -q "binding 0 (16 bytes): 2 4 6 8" <<<"$("$PXOS" gpu run "$t/dbl.wgsl" --entry twice --buffers "$t/in.bin" --print u32)"
"$PXOS" gpu run "$t/dbl.wgsl" --entry twice --buffers "$t/in.bin" --out "$t"
cmp <(printf '\x02\x00\x00\x00\x04\x00\x00\x00\x06\x00\x00\x00\x08\x00\x00\x00') "$t/binding0.bin"
if "$PXOS" gpu run "$t/dbl.wgsl" --entry missing --buffers "$t/in.bin" 2>"$t/err"; then exit 1; fi
grep -q "missing" "$t/err"
if "$PXOS" gpu run "$t/nonexistent.wgsl" --buffers "$t/in.bin" 2>/dev/null; then exit 1; fi

# bench: small sizes, text and JSON, errors tiny
"$PXOS" gpu bench matmul --n 33 64 --kernel v2 --reps 2 2>"$t/progress" | tee "$t/b.txt"
grep -q "\[2/2\] matmul n=64" "$t/progress"
[ "$(grep -c 'GFLOP/s' "$t/b.txt")" = 2 ]
"$PXOS" gpu bench softmax --n 8 --cols 100 --reps 2 --json 2>/dev/null > "$t/b.json"
python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).read()); assert r['op']=='softmax' and r['max_rel_err']<1e-4, r" "$t/b.json"
if "$PXOS" gpu bench nosuchop 2>/dev/null; then exit 1; fi
echo "gpu cli ok"
