#!/usr/bin/env bash
# habits_test.sh: issue 17, the CLI as users of git/zstd/wasmtime expect it: one-line usage
# errors (exit 2) with suggestions, `pxos help CMD`, help text, the assembler's hints, verifier
# lines, '-' for stdin/stdout, --json parsed, colour only on a terminal, the seed's raw programs.
set -uo pipefail
PXOS=${PXOS:?}; SRC=${PXOS_SOURCE_DIR:?}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()   { pass=$((pass+1)); }
bad()  { fail=$((fail+1)); echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@"; then ok; else bad "$name"; fi; }

# expect_fail NAME STATUS NEEDLE CMD...: exit STATUS, exactly one stderr line containing NEEDLE, empty stdout
expect_fail() {
  local name=$1 want=$2 needle=$3; shift 3
  "$@" >"$T/out" 2>"$T/err" </dev/null; local rc=$?
  if [ $rc -ne "$want" ]; then bad "$name: exit $rc, want $want: $(cat "$T/err")"; return; fi
  if [ "$(wc -l <"$T/err")" -ne 1 ]; then bad "$name: stderr not one line: $(cat "$T/err")"; return; fi
  if ! grep -qF -- "$needle" "$T/err"; then bad "$name: stderr lacks '$needle': $(cat "$T/err")"; return; fi
  if [ -s "$T/out" ]; then bad "$name: wrote to stdout: $(head -c 200 "$T/out")"; return; fi
  ok
}
# json_ok NAME PYEXPR CMD...: stdout parses as JSON and PYEXPR (on j) holds
json_ok() {
  local name=$1 expr=$2; shift 2
  if ! "$@" >"$T/json" 2>"$T/jerr"; then bad "$name: exit non-zero: $(cat "$T/jerr")"; return; fi
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" "$T/json" \
    && ok || bad "$name: $(head -c 300 "$T/json")"
}

# ---- 1. usage errors: exit 2, one line, a suggestion; never CLI11's 104-114 ----
expect_fail unknown-cmd 2 "pxos: unknown command 'frobnicate'; see 'pxos help'" "$PXOS" frobnicate
expect_fail typo-cmd 2 "unknown command 'rnu' (did you mean 'run'?)" "$PXOS" rnu
expect_fail typo-sub 2 "pxos gpu: unknown command 'bnech' (did you mean 'bench'?)" "$PXOS" gpu bnech
expect_fail typo-hv 2 "pxos hv: unknown command 'valdiate' (did you mean 'validate'?)" "$PXOS" hv valdiate
expect_fail typo-option 2 "pxos run: unknown option '--max-step' (did you mean '--max-steps'?)" "$PXOS" run --max-step 5 x.pxi
expect_fail missing-input 2 "pxos run: input is required; see 'pxos help run'" "$PXOS" run
expect_fail extra-arg 2 "pxos run: unexpected argument 'b'" "$PXOS" run a b
expect_fail bad-number 2 "pxos run:" "$PXOS" run --max-steps abc x.pxi
expect_fail help-unknown 2 "pxos: unknown command 'nope'" "$PXOS" help nope
for args in "frobnicate" "run" "gpu bnech" "run --max-steps abc x" "run --nope" "asm"; do
  # shellcheck disable=SC2086
  "$PXOS" $args >/dev/null 2>&1 </dev/null; rc=$?
  check "status-2 ($args)" [ $rc -eq 2 ]
done

# ---- help: `pxos help CMD`, a group alone lists its commands, consistent text ----
check help-run bash -c "'$PXOS' help run | grep -q '^Usage: pxos run'"
check help-run-same bash -c "diff <('$PXOS' help run) <('$PXOS' run --help)"
check help-nested bash -c "'$PXOS' help hv validate | grep -q '^Usage: pxos hv validate'"
check help-root bash -c "'$PXOS' help | grep -q '^Subcommands:'"
check group-alone bash -c "'$PXOS' gpu | grep -q '^  bench'"
"$PXOS" gpu >/dev/null 2>&1; check group-alone-status [ $? -eq 0 ]
check bare-pxos-lists bash -c "'$PXOS' | grep -q '^  run '"
# every command's help: no CLI11 "{false}" marks, no "=default" (defaults read "(default X)"),
# descriptions start with a capital letter
"$PXOS" --help >"$T/allhelp"
for c in $("$PXOS" --help | awk '/^Subcommands:/{on=1;next} on && /^  [a-z]/{print $1}'); do
  "$PXOS" help "$c" >>"$T/allhelp"
  for sub in $("$PXOS" help "$c" | awk '/^Subcommands:/{on=1;next} on && /^  [a-z]/{print $1}'); do
    "$PXOS" help "$c" "$sub" >>"$T/allhelp"
  done
done
check help-no-braces bash -c "! grep -n '{false}\|{true}' '$T/allhelp'"
check help-no-eq-default bash -c "! grep -nE '^ +-[-a-zA-Z,]+ [A-Z]+=[^ ]' '$T/allhelp'"
check help-capitalised bash -c "! grep -nE '^  [-a-zA-Z0-9,_ ]+ {2,}[a-z]' '$T/allhelp' | grep -v '^ *[0-9]*: *[a-z]'"
check version bash -c "'$PXOS' --version | grep -qE '^pxos [0-9.]+ \\(commit [0-9a-f]{12}(-dirty)?, [a-z]+ build\\)$'"

# ---- the assembler's hints ----
printf 'PUSH 1\nPRNT\nHALT\n' >"$T/typo.pxasm"
expect_fail asm-nearest 5 "typo.pxasm:2:1: error: unknown mnemonic 'PRNT' (did you mean 'PRINT'?)" "$PXOS" asm "$T/typo.pxasm" -o "$T/typo.pxi"
"$PXOS" asm "$SRC/examples/fib.pxasm" -o "$T/fib.pxi"
expect_fail asm-image 5 "fib.pxi: this is an image, not assembly text: use pxos disasm" "$PXOS" asm "$T/fib.pxi" -o "$T/never.pxi"
printf 'HOST_CALL read_int\nPRINT\nPRINT\nHALT\n' >"$T/host.pxasm"
check host-by-name bash -c "[ \"\$(echo 41 | '$PXOS' run '$T/host.pxasm' | tr '\n' ' ')\" = '1 41 ' ]"
printf 'HOST_CALL 4\nPRINT\nPRINT\nHALT\n' >"$T/hostid.pxasm"
check host-name-same-code bash -c "'$PXOS' asm '$T/host.pxasm' -o '$T/a.pxi' && '$PXOS' asm '$T/hostid.pxasm' -o '$T/b.pxi' && diff <('$PXOS' disasm '$T/a.pxi' | tail -n +2) <('$PXOS' disasm '$T/b.pxi' | tail -n +2)"
printf 'HOST_CALL read_itn\nHALT\n' >"$T/hosttypo.pxasm"
expect_fail host-typo 5 "unknown host call 'read_itn' (did you mean 'read_int'?)" "$PXOS" asm "$T/hosttypo.pxasm" -o "$T/never.pxi"
# ---- verifier errors name the source line, one offset format (0x%04x, as traps) ----
printf 'PUSH 1\nPRINT\n' >"$T/falls.pxasm"
expect_fail verify-line 5 "falls.pxasm:2: offset 0x0005: execution can fall off the end" "$PXOS" run "$T/falls.pxasm"
printf 'PUSH 1\nPUSH 0\nDIV\nHALT\n' >"$T/div.pxasm"
expect_fail trap-line 6 "div.pxasm:3: offset 0x000a: DIV" "$PXOS" run "$T/div.pxasm"

# ---- '-' for stdin and stdout ----
check run-stdin-text bash -c "[ \"\$(printf 'PUSH 3\nPRINT\nHALT\n' | '$PXOS' run -)\" = 3 ]"
check run-stdin-image bash -c "[ \"\$('$PXOS' run - <'$T/fib.pxi')\" = 6765 ]"
check asm-to-stdout bash -c "'$PXOS' asm '$SRC/examples/fib.pxasm' -o - | cmp -s - '$T/fib.pxi'"
head -c 5000 /dev/urandom >"$T/blob"
check pack-stdio bash -c "'$PXOS' pack - -o - <'$T/blob' >'$T/blob.pxi' && '$PXOS' unpack '$T/blob.pxi' -o - | cmp -s - '$T/blob'"

# ---- --json, parsed ----
"$PXOS" run --stats --json "$SRC/examples/add.pxasm" 2>"$T/stats.json" >/dev/null
check run-stats-json python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['instructions']==5 and j['halted'] else 1)" "$T/stats.json"
json_ok inspect-json "j['kind']=='bytecode' and j['instructions']>0 and len(j['payload_sha256'])==64 and j['pixels']['width']>0" "$PXOS" inspect --json "$T/fib.pxi"
check inspect-file-sha bash -c "[ \"\$('$PXOS' inspect --json '$T/fib.pxi' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"file_sha256\"])')\" = \"\$(sha256sum <'$T/fib.pxi' | cut -d' ' -f1)\" ]"
check inspect-sha-labelled bash -c "'$PXOS' inspect '$T/fib.pxi' | grep -q '^sha256:   [0-9a-f]* (of the payload, verified)' && '$PXOS' inspect '$T/fib.pxi' | grep -q '^file sha256: [0-9a-f]* (of the whole file, as sha256sum prints)'"
# god-pixel key and bootstrap images (kinds 3 and 4) are inspected too, without the store
export PXOS_STORE="$T/store"
"$PXOS" god create "$SRC/examples/fib.pxasm" -o "$T/key.png" >/dev/null 2>&1
"$PXOS" god bootstrap "$SRC/examples/fib.pxasm" -o "$T/boot.png" >/dev/null 2>&1
check inspect-key bash -c "'$PXOS' inspect '$T/key.png' | grep -q '^kind:     god-key' && '$PXOS' inspect '$T/key.png' | grep -q '^names:    a bytecode payload'"
json_ok inspect-key-json "j['kind']=='god-key' and j['key'].startswith('0x') and j['payload_kind']=='bytecode' and j['pixels']=={'width':1,'height':1}" "$PXOS" inspect --json "$T/key.png"
json_ok inspect-bootstrap-json "j['kind']=='god-bootstrap' and j['payload_bytes']>0" "$PXOS" inspect --json "$T/boot.png"
# god create / ls / verify (store from PXOS_STORE above: fib's key and bootstrap)
json_ok god-create-json "j['key'].startswith('0x') and j['image'].endswith('add.key.png') and j['kind']=='bytecode'" "$PXOS" god create --json "$SRC/examples/add.pxasm" -o "$T/add.key.png"
json_ok god-ls-json "len(j['keys'])==2 and all(len(k['sha256'])==64 and k['payload_bytes']>0 for k in j['keys'])" "$PXOS" god ls --json
json_ok god-verify-json "j['keys']==2 and j['verified']==2 and j['problems']==[]" "$PXOS" god verify --json
json_ok god-ls-empty-json "j['keys']==[]" "$PXOS" god ls --json --store "$T/nostore"
# archives: archive list, hv list, hv validate (valid and invalid)
"$PXOS" archive create "$T/demo.pxa" "$SRC/examples/demo-archive" >/dev/null
json_ok archive-list-json "len(j['entries'])==4 and all(len(e['sha256'])==64 for e in j['entries']) and j['index_sha256']!=j['file_sha256']" "$PXOS" archive list --json "$T/demo.pxa"
json_ok hv-list-json "[e['name'] for e in j['entrypoints']][0]=='default' and all(e['grant_needed']==[] for e in j['entrypoints']) and any(e['needs']==['input'] for e in j['entrypoints'])" "$PXOS" hv list --json "$T/demo.pxa"
json_ok hv-validate-json "j['status']=='valid' and len(j['checks'])==7 and all(c['status']=='ok' for c in j['checks'])" "$PXOS" hv validate --json "$T/demo.pxa"
"$PXOS" hv validate --json --deny input "$T/demo.pxa" >"$T/inv.json" 2>/dev/null; rc=$?
check hv-validate-json-invalid python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['status']=='invalid' and j['error']['exit_status']==8 and j['checks'][-1]['status']=='fail' and $rc==8 else 1)" "$T/inv.json"
printf '{"name": oops}\n' >"$T/m.json"; mkdir -p "$T/badar"; cp "$T/m.json" "$T/badar/manifest.json"; printf 'start:\n HALT\n' >"$T/badar/main.pxasm"
expect_fail archive-create-bad-manifest 9 "badar/manifest.json: line 1, column" "$PXOS" archive create "$T/bad.pxa" "$T/badar"
check archive-create-bad-wrote-nothing [ ! -e "$T/bad.pxa" ]
# a quote in a path stays valid JSON
cp "$T/fib.pxi" "$T/q\"uote.pxi"
json_ok json-quote "j['file'].endswith('q\"uote.pxi')" "$PXOS" inspect --json "$T/q\"uote.pxi"
json_ok gpu-info-json "isinstance(j['device'], str) and j['max_buffer_size']>0 and isinstance(j['features'], list)" "$PXOS" gpu info --json
json_ok gpu-bench-json "j['op']=='relu' and j['checked']=='all' and j['ms_median']>=0" "$PXOS" gpu bench relu --n 64 --cols 64 --reps 2 --json
check gpu-bench-small-default bash -c "'$PXOS' gpu bench --reps 1 --json 2>/dev/null | python3 -c 'import json,sys; j=json.loads(sys.stdin.readline()); sys.exit(0 if j[\"shape\"].startswith(\"512x\") else 1)'"
expect_fail json-needs-stats 2 "--json: reports the --stats figures" "$PXOS" run --json "$SRC/examples/add.pxasm"

# ---- colour only on a terminal, NO_COLOR respected ----
check view-pipe-no-escapes bash -c "! '$PXOS' view '$T/fib.pxi' | grep -q \$'\\x1b'"
check view-always bash -c "'$PXOS' view --color always '$T/fib.pxi' | grep -q \$'\\x1b\\[38;2'"
check view-no-color bash -c "! NO_COLOR=1 script -qec \"'$PXOS' view '$T/fib.pxi'\" /dev/null | grep -q \$'\\x1b\\[38;2'"
check view-tty-colour bash -c "script -qec \"'$PXOS' view '$T/fib.pxi'\" /dev/null | grep -q \$'\\x1b\\[38;2'"

# ---- 3. completions and man page, from the CLI11 definitions; make install ----
"$PXOS" completions bash >"$T/pxos.bash"
check bash-syntax bash -n "$T/pxos.bash"
comp() { bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pxos; echo "${COMPREPLY[*]}"' _ "$T/pxos.bash" "$@"; }
check bash-top [ "$(comp pxos gp)" = "gpu" ]
check bash-sub [ "$(comp pxos gpu be)" = "bench" ]
check bash-option bash -c "[[ ' $(comp pxos run --max-s) ' == *' --max-steps '* ]]"
check bash-nested-option bash -c "[[ ' $(comp pxos hv validate --gr) ' == *' --grant '* ]]"
check bash-files bash -c "cd '$T' && [[ ' $(cd "$T" && comp pxos run pxos.ba) ' == *' pxos.bash '* ]]"
"$PXOS" completions zsh >"$T/_pxos"
check zsh-compdef bash -c "head -1 '$T/_pxos' | grep -q '^#compdef pxos' && grep -q \"'gpu bench')\" '$T/_pxos'"
"$PXOS" completions fish >"$T/pxos.fish"
check fish-rows grep -qF "complete -c pxos -n '__pxos_at \"hv run\"' -l 'max-steps' -r" "$T/pxos.fish"
expect_fail completions-bad-shell 2 "pxos completions:" "$PXOS" completions tcsh
"$PXOS" man >"$T/pxos.1"
check man-clean bash -c "groff -man -Tutf8 -ww '$T/pxos.1' 2>&1 >/dev/null | { ! grep -q .; }"
# one section per command, each command of `pxos --help` and of every group
for c in $("$PXOS" --help | awk '/^Subcommands:/{on=1;next} on && /^  [a-z]/{print $1}'); do
  [ "$c" = help ] && continue
  grep -qx ".SS \"pxos $c\"" "$T/pxos.1" || bad "man lacks pxos $c"
done
check man-nested grep -qx '.SS "pxos hv validate"' "$T/pxos.1"
check man-exit-status bash -c "grep -q '^.SH EXIT STATUS' '$T/pxos.1' && grep -q '(Usage)' '$T/pxos.1'"
if [ -n "${PXOS_BUILD_DIR:-}" ] && [ -f "$PXOS_BUILD_DIR/cmake_install.cmake" ]; then
  cmake --install "$PXOS_BUILD_DIR" --prefix "$T/prefix" >/dev/null
  for f in bin/pxos share/man/man1/pxos.1 share/bash-completion/completions/pxos share/zsh/site-functions/_pxos \
           share/fish/vendor_completions.d/pxos.fish share/pxos/kernels/matmul_v2.wgsl; do
    check "installed $f" [ -s "$T/prefix/$f" ]
  done
  check installed-man-current cmp -s "$T/prefix/share/man/man1/pxos.1" "$T/pxos.1"
  check installed-runs bash -c "'$T/prefix/bin/pxos' --version | grep -q '^pxos '"
  if [ -f "$PXOS_BUILD_DIR/libpxos_httpd.so" ]; then  # `llm serve`'s plugin, where httpd.cpp looks
    check installed-httpd-plugin [ -s "$T/prefix/lib/pxos/libpxos_httpd.so" ]
    # and the installed binary opens that copy (before it looks at the model, which is missing)
    check installed-httpd-opened bash -c "LD_DEBUG=files '$T/prefix/bin/pxos' llm serve '$T/none.gguf' 2>&1 >/dev/null |
      grep -q 'file=$T/prefix/bin/../lib/pxos/libpxos_httpd.so .*generating link map'"
  fi
  if [ -f "$T/prefix/lib/pxos/libwebgpu_wrapper.so" ]; then
    json_ok installed-dawn "j['library'] == '$T/prefix/lib/pxos/libwebgpu_wrapper.so'" "$T/prefix/bin/pxos" gpu info --json
  fi
else
  bad "PXOS_BUILD_DIR has no cmake_install.cmake: make install is untested"
fi
expect_fail dawn-env-missing 14 "PXOS_DAWN_LIB=/nonexistent.so: No such file or directory" env PXOS_DAWN_LIB=/nonexistent.so "$PXOS" gpu info

# ---- 5. docs/asm.md: its worked example runs and prints what the page says ----
awk '/^```pxasm/{on=1;next} /^```/{on=0} on' "$SRC/docs/asm.md" >"$T/sum.pxasm"
awk '/^```output/{on=1;next} /^```/{on=0} on' "$SRC/docs/asm.md" >"$T/sum.expected"
input=$(sed -n "s/^\$ printf '\(.*\)' | pxos run sum.pxasm\$/\1/p" "$SRC/docs/asm.md")
check asm-doc-input [ -n "$input" ]
check asm-doc-example bash -c "printf '$input' | '$PXOS' run '$T/sum.pxasm' | diff - '$T/sum.expected'"
check asm-doc-linked grep -q '(docs/asm.md)' "$SRC/README.md"

# ---- pxos view --scale: too large says which fits ----
head -c 3000000 /dev/zero >"$T/big.bin"; "$PXOS" pack "$T/big.bin" -o "$T/big.pxi"
expect_fail view-scale-fits 4 "big.pxi: --scale 64 is too large for 1000x1000 pixels (the PNG would pass its size limits); --scale 8 fits" "$PXOS" view "$T/big.pxi" -o "$T/v.png" --scale 64
check view-scale-suggestion-works bash -c "'$PXOS' view '$T/big.pxi' -o '$T/v.png' --scale 8 >/dev/null"
expect_fail view-scale-range 2 "--scale 100: must be 1..64" "$PXOS" view "$T/fib.pxi" -o "$T/v.png" --scale 100

# ---- 6. the seed's own programs: raw seed bytecode ----
# PUSH 42, PUSH 8, ADD, PRINT, HALT, as the seed's PixelVM encodes it (no PXBC header)
printf '\x01\x2a\x00\x00\x00\x01\x08\x00\x00\x00\x03\x10\xff' >"$T/seed.bin"
# A PixelFS file written as the seed's core/pixelfs.py PixelFS.write does: header
# '<IIQII32s72s' (magic 0x50584653, version 1, size, width 1024 default, height, SHA-256,
# 72 reserved zero bytes), then width*height*3 bytes of RGB, the data first and zero padding.
python3 - "$T/seed.pxi" "$T/seed.bin" <<'PY'
import hashlib, struct, sys
data = open(sys.argv[2], "rb").read()
width = 1024
total_pixels = (len(data) + 3 - 1) // 3
height = (total_pixels + width - 1) // width
padded = data + b"\x00" * (width * height * 3 - len(data))
hdr = struct.pack("<IIQII32s72s", 0x50584653, 1, len(data), width, height, hashlib.sha256(data).digest(), b"\x00" * 72)
assert len(hdr) == 128
with open(sys.argv[1], "wb") as f:
    f.write(hdr)
    f.write(padded)
PY
check seed-pixelfs-runs bash -c "[ \"\$('$PXOS' run '$T/seed.pxi')\" = 50 ]"
check seed-bin-runs bash -c "[ \"\$('$PXOS' run '$T/seed.bin')\" = 50 ]"
check seed-raw-forced bash -c "[ \"\$('$PXOS' run --raw '$T/seed.bin')\" = 50 ]"
check seed-stdin bash -c "[ \"\$('$PXOS' run - <'$T/seed.pxi')\" = 50 ]"
check seed-packed bash -c "'$PXOS' pack '$T/seed.bin' -o '$T/seedpack.pxi' && [ \"\$('$PXOS' run '$T/seedpack.pxi')\" = 50 ]"
check seed-raw-stats-json bash -c "'$PXOS' run --stats --json '$T/seed.pxi' 2>&1 >/dev/null | python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if j[\"raw\"] and j[\"instructions\"]==5 else 1)'"
expect_fail seed-no-raw 4 "seed.pxi: holds a raw payload, not bytecode (pxos run --raw runs it" "$PXOS" run --no-raw "$T/seed.pxi"
expect_fail seed-no-raw-bin 4 "seed.bin: offset 0: neither a PNG nor a PixelFS image" "$PXOS" run --no-raw "$T/seed.bin"
expect_fail raw-both 2 "--raw and --no-raw: choose one" "$PXOS" run --raw --no-raw "$T/seed.bin"
# the verifier applies to raw code as to any: an unknown opcode, a fall off the end
printf '\x01\x2a\x00\x00\x00\x99\xff' >"$T/badop.bin"
expect_fail seed-verify 5 "badop.bin: offset 0x0005: unknown opcode 0x99 (read as raw seed bytecode" "$PXOS" run "$T/badop.bin"
printf '\x01\x2a\x00\x00\x00\x10' >"$T/falls.bin"
expect_fail seed-verify-end 5 "falls.bin: offset 0x0005: execution can fall off the end" "$PXOS" run --raw "$T/falls.bin"
printf '\x01\x2a\x00\x00' >"$T/trunc.bin"
expect_fail seed-truncated 5 "trunc.bin: offset 0x0000: PUSH operand truncated" "$PXOS" run "$T/trunc.bin"
: >"$T/empty.bin"
expect_fail seed-empty 4 "empty.bin" "$PXOS" run "$T/empty.bin"

# ---- progress on long work: drawn on a terminal (script(1) gives one), never into a pipe ----
mkdir -p "$T/big/data"
cp "$SRC"/examples/demo-archive/* "$T/big/"
head -c 17000000 /dev/zero >"$T/big/data/blob.bin"  # above the bar's 16 MiB threshold
"$PXOS" archive create "$T/big.pxa" "$T/big" >"$T/out" 2>"$T/err"
check progress-pipe-status [ $? -eq 0 ]
check progress-pipe-quiet [ ! -s "$T/err" ]
check progress-pipe-result grep -q "index sha256" "$T/out"
script -qec "'$PXOS' archive create '$T/big2.pxa' '$T/big'" /dev/null >"$T/tty" 2>&1
check progress-tty-bar grep -q "reading .*100%" "$T/tty"
check progress-tty-step grep -q "hashing and encoding the PNG" "$T/tty"
check progress-tty-result grep -q "index sha256" "$T/tty"
check progress-same-archive cmp -s "$T/big.pxa" "$T/big2.pxa"
# small work draws nothing, even on a terminal
script -qec "'$PXOS' archive create '$T/small.pxa' '$SRC/examples/demo-archive'" /dev/null >"$T/tty" 2>&1
check progress-tty-small [ "$(grep -c 'reading' "$T/tty")" = 0 ]
# gpu bench: each repetition with an ETA, on a terminal
script -qec "'$PXOS' gpu bench relu --n 64 --cols 64 --reps 3" /dev/null >"$T/tty" 2>&1
check progress-gpu-reps grep -q "repetition 3/3, ETA" "$T/tty"
"$PXOS" gpu bench relu --n 64 --cols 64 --reps 3 >"$T/out" 2>"$T/err"
check progress-gpu-pipe [ "$(grep -c 'repetition' "$T/err")" = 0 ]

echo "cli_habits: $pass passed, $fail failed"
[ $fail -eq 0 ]
