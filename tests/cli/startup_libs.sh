#!/usr/bin/env bash
# startup_libs.sh: the libraries only some commands need are opened by those commands (dynlib),
# so `pxos run` of a trivial program loads none of them (issue 16, start-up). The loader's own
# record (LD_DEBUG=files) of a real run is checked, not just the link line.
set -euo pipefail
PXOS=${PXOS:-build/pxos}
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
printf 'PUSH 1\nPRINT\nHALT\n' >"$t/one.pxasm"
"$PXOS" asm "$t/one.pxasm" -o "$t/one.pxi" >/dev/null
out=$(LD_DEBUG=files "$PXOS" run "$t/one.pxi" 2>"$t/ld.log")
[ "$out" = 1 ] || { echo "FAIL: pxos run printed '$out'"; exit 1; }
grep -q 'file=libc.so.6' "$t/ld.log" || { echo "FAIL: LD_DEBUG=files recorded nothing (not glibc?)"; exit 1; }
fail=0
# Opened at run time by: the architect (libcurl), prompts (libedit); SHA-256 is nettle's, so no
# OpenSSL at all.
for lib in libcurl libedit libssl libcrypto libgnutls libkrb5 libldap; do
  if grep -q "file=$lib" "$t/ld.log"; then echo "FAIL: pxos run loaded $lib"; fail=1; fi
done
[ $fail = 0 ] && echo "startup_libs: ok ($(grep -c 'calling init:' "$t/ld.log") libraries initialised)"
exit $fail
