#!/usr/bin/env bash
# startup_libs.sh: the libraries only some commands need are opened by those commands (dynlib),
# so `pxos run` of a trivial program loads none of them (issue 16, start-up). The loader's own
# record (LD_DEBUG=files) of a real run is checked, and the binary's DT_NEEDED list, and that a
# command that does need one names it in one line when it cannot be opened.
# $1: ON when the build links nettle, fmt and the C++ runtime in (PXOS_STATIC_RUNTIME).
set -euo pipefail
PXOS=${PXOS:-build/pxos}
STATIC=${1:-OFF}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
printf 'PUSH 1\nPRINT\nHALT\n' >"$t/one.pxasm"
"$PXOS" asm "$t/one.pxasm" -o "$t/one.pxi" >/dev/null
out=$(LD_DEBUG=files "$PXOS" run "$t/one.pxi" 2>"$t/ld.log")
[ "$out" = 1 ] || { echo "FAIL: pxos run printed '$out'"; exit 1; }
grep -q 'file=libc.so.6' "$t/ld.log" || { echo "FAIL: LD_DEBUG=files recorded nothing (not glibc?)"; exit 1; }
fail=0
# Opened at run time by: the architect (libcurl), prompts (libedit), the god pixel store (sqlite,
# zstd), the tokenizer (ICU); SHA-256 is nettle's, so no OpenSSL at all.
heavy="libcurl libedit libssl libcrypto libgnutls libkrb5 libldap libsqlite3 libzstd libicuuc libicudata"
# Linked in (CMakeLists.txt, PXOS_STATIC_RUNTIME).
[ "$STATIC" = ON ] && heavy="$heavy libnettle libfmt libstdc++ libgcc_s"
for lib in $heavy; do
  if grep -q "file=$lib" "$t/ld.log"; then echo "FAIL: pxos run loaded $lib"; fail=1; fi
done
# The link line too (what every command pays), so a new dependency shows even if no run maps it.
needed=$(readelf -dW "$PXOS" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "FAIL: readelf found no DT_NEEDED in $PXOS"; exit 1; }
for lib in $heavy; do
  if grep -q "^$lib\." <<<"$needed"; then echo "FAIL: $PXOS is linked to $lib (DT_NEEDED)"; fail=1; fi
done
# The store commands open them and work: create stores through both, resurrect reads back.
"$PXOS" god create "$t/one.pxi" -o "$t/one.key.png" --store "$t/store" >/dev/null
"$PXOS" god resurrect "$t/one.key.png" -o "$t/back.pxi" --store "$t/store" >/dev/null
cmp -s "$t/one.pxi" "$t/back.pxi" || { echo "FAIL: god resurrect did not give the program back"; fail=1; }
# A store command whose library cannot be opened (PXOS_FAULT=dlopen:1 stands in for an
# uninstalled libsqlite3-0) fails with one line naming it and the store error's status (12).
set +e
err=$(PXOS_FAULT=dlopen:1 "$PXOS" god ls --store "$t/store" 2>&1 >/dev/null); rc=$?
set -e
if [ $rc != 12 ] || [ "$(wc -l <<<"$err")" != 1 ] || ! grep -q "libsqlite3.so.0" <<<"$err"; then
  echo "FAIL: god ls without libsqlite3: exit $rc: $err"; fail=1
fi
[ $fail = 0 ] && echo "startup_libs: ok ($(grep -c 'calling init:' "$t/ld.log") libraries initialised: $(tr '\n' ' ' <<<"$needed"))"
exit $fail
