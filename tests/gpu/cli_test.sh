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

# check: every kernel file, its #include lines expanded; an error inside the shared code is
# reported at the line of the included file, not of the expanded text
"$PXOS" gpu check kernels/*.wgsl >"$t/all" || { cat "$t/all"; exit 1; }
[ "$(grep -c ': ok$' "$t/all")" = "$(ls kernels/*.wgsl | wc -l)" ]
mkdir -p "$t/k/lib"
cp kernels/matmul_v2.wgsl "$t/k/"
line=$(grep -n 'let tx = lid.x;' kernels/lib/matmul_tiled.wgsl | cut -d: -f1)
sed 's/let tx = lid.x;/let tx = lid.x +;/' kernels/lib/matmul_tiled.wgsl > "$t/k/lib/matmul_tiled.wgsl"
if "$PXOS" gpu check "$t/k/matmul_v2.wgsl" 2>"$t/err"; then echo "check accepted a broken include"; exit 1; fi
grep -Eq "^$t/k/lib/matmul_tiled.wgsl:$line:[0-9]+: error: " "$t/err" || { cat "$t/err"; exit 1; }
# PXOS_KERNELS_DIR: a tuned copy of one kernel finds lib/ beside it (here broken: the bench
# must name that file), else the embedded lib/ (then it runs)
if PXOS_KERNELS_DIR="$t/k" "$PXOS" gpu bench matmul --n 33 --kernel v2 --reps 1 2>"$t/err" >/dev/null; then
  echo "bench ran a broken tuned kernel"; exit 1
fi
grep -q "$t/k/lib/matmul_tiled.wgsl:$line:" "$t/err" || { cat "$t/err"; exit 1; }
rm "$t/k/lib/matmul_tiled.wgsl"
PXOS_KERNELS_DIR="$t/k" "$PXOS" gpu bench matmul --n 33 --kernel v2 --reps 1 2>/dev/null | grep -q "GFLOP/s"

# run: a kernel file gets its tunables (override WG) as the ops would set them
printf '\x00\x00\x80\xbf\x00\x00\x00\x40\x00\x00\x40\xc0\x00\x00\x80\x40' > "$t/x.bin"   # -1 2 -3 4
printf '\x01\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > "$t/dims.bin"  # rows 1, cols 4
grep -q "binding 1 (16 bytes, f32): 0 2 0 4" \
  <<<"$("$PXOS" gpu run kernels/activations.wgsl --entry relu --buffers "$t/x.bin" zeros:16 "$t/dims.bin")"

# run: doubles a buffer of u32
cat > "$t/dbl.wgsl" <<'W'
@group(0) @binding(0) var<storage, read_write> v: array<u32>;
@compute @workgroup_size(4) fn twice(@builtin(global_invocation_id) g: vec3u) { v[g.x] = v[g.x] * 2u; }
W
printf '\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00' > "$t/in.bin"
grep -q "binding 0 (16 bytes, u32): 2 4 6 8" <<<"$("$PXOS" gpu run "$t/dbl.wgsl" --entry twice --buffers "$t/in.bin" --print u32)"
# --print follows the binding's declared type (array<u32>) unless told otherwise (issue 17.4)
grep -q "binding 0 (16 bytes, u32): 2 4 6 8" <<<"$("$PXOS" gpu run "$t/dbl.wgsl" --entry twice --buffers "$t/in.bin")"
grep -q "binding 0 (16 bytes, i32): 2 4 6 8" <<<"$("$PXOS" gpu run "$t/dbl.wgsl" --entry twice --buffers "$t/in.bin" --print i32)"
# a buffer too small for its binding is a usage error naming it, not an empty print
printf '\x01\x00' > "$t/two.bin"
rc=0; out=$("$PXOS" gpu run "$t/dbl.wgsl" --entry twice --buffers "$t/two.bin" 2>&1 >/dev/null) || rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "binding 0): 2 bytes, smaller than one element of array<u32> (4 bytes)" <<<"$out" \
  || { echo "FAIL: small buffer: rc=$rc $out"; exit 1; }
# Dawn's multi-line validation dumps become one line, names quoted once
rc=0; out=$("$PXOS" gpu run "$t/dbl.wgsl" --entry nope --buffers "$t/in.bin" 2>&1 >/dev/null) || rc=$?
[ $rc -eq 13 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "Entry point \"nope\" doesn't exist" <<<"$out" \
  || { echo "FAIL: one-line Dawn error: rc=$rc $out"; exit 1; }
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
