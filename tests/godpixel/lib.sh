# lib.sh: shared setup for the god-pixel integration scripts: a scratch dir, its own store, helpers.
set -euo pipefail
PXOS=${PXOS:-build/pxos}
PXOS=$(cd "$(dirname "$PXOS")" && pwd)/$(basename "$PXOS")
T=$(mktemp -d /tmp/pxos-god-it.XXXXXX)
chmod 755 "$T"
trap 'chmod -R u+w "$T" 2>/dev/null || true; rm -rf "$T"' EXIT
export PXOS_STORE=$T/store
unset PXOS_GOD_KEY_BITS XDG_DATA_HOME || true
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_fail STATUS_FILE CMD...: the command must exit non-zero with exactly one "pxos: " line.
expect_fail() {
  local what=$1; shift
  if "$@" >"$T/out.txt" 2>"$T/err.txt"; then fail "$what: succeeded"; fi
  grep -q '^pxos: ' "$T/err.txt" || fail "$what: no 'pxos:' error line: $(cat "$T/err.txt")"
  [ "$(grep -c '' "$T/err.txt")" -eq 1 ] || fail "$what: expected one error line, got: $(cat "$T/err.txt")"
  echo "ok (refused): $what: $(cat "$T/err.txt")"
}
# prog I: assemble a small distinct program to $T/p$I.pxi
prog() {
  printf '; generated\n    PUSH %d\n    PRINT\n    PRINT_STR "program %d"\n    HALT\n' "$1" "$1" >"$T/p$1.pxasm"
  "$PXOS" asm "$T/p$1.pxasm" -o "$T/p$1.pxi"
}
