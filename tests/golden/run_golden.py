#!/usr/bin/env python3
# run_golden.py: the one runner for golden .pxasm tests (clox test/ style). Each file says what
# `pxos run` must do with directives in comments:
#   ; expect: LINE           the next line of stdout (all lines, in order, nothing more)
#   ; expect error: TEXT     the run fails (non-zero exit) and stderr contains TEXT
#   ; expect exit: N         the exit status (default 0, or non-zero with `expect error`)
#   ; args: ...              extra arguments to `pxos run`
#   ; stdin: TEXT            a line fed to standard input (repeatable)
import os, re, shlex, subprocess, sys
from pathlib import Path

pxos = os.environ.get("PXOS") or sys.exit("PXOS is not set")
roots = [Path(p) for p in sys.argv[1:]] or [Path(__file__).parent]
files = sorted(f for r in roots for f in (r.rglob("*.pxasm") if r.is_dir() else [r]))
failed = 0
for f in files:
    text = f.read_text(encoding="utf-8", errors="replace")
    expect = [m.group(1) for m in re.finditer(r"^\s*; expect: ?(.*)$", text, re.M)]
    errors = [m.group(1).strip() for m in re.finditer(r"^\s*; expect error: (.*)$", text, re.M)]
    exits = [int(m.group(1)) for m in re.finditer(r"^\s*; expect exit: (-?\d+)", text, re.M)]
    args = [a for m in re.finditer(r"^\s*; args: (.*)$", text, re.M) for a in shlex.split(m.group(1))]
    stdin = "".join(m.group(1) + "\n" for m in re.finditer(r"^\s*; stdin: ?(.*)$", text, re.M))
    if not expect and not errors and not exits:
        continue  # a file without directives (e.g. a module of an archive) is not a golden test
    p = subprocess.run([pxos, "run", str(f), *args], input=stdin.encode(), capture_output=True, timeout=60)
    out = p.stdout.decode(errors="replace").splitlines()
    err = p.stderr.decode(errors="replace")
    problems = []
    if out != expect:
        problems.append(f"stdout {out!r} != expected {expect!r}")
    for e in errors:
        if e not in err:
            problems.append(f"stderr lacks {e!r}: {err.strip()!r}")
    want = exits[0] if exits else None
    if want is not None and p.returncode != want:
        problems.append(f"exit {p.returncode} != {want}")
    if want is None and errors and p.returncode == 0:
        problems.append("exit 0, expected failure")
    if want is None and not errors and p.returncode != 0:
        problems.append(f"exit {p.returncode}: {err.strip()}")
    if errors and len(err.strip().splitlines()) != 1 and "error:" not in err:
        problems.append(f"trap message is not one line: {err!r}")
    status = "ok  " if not problems else "FAIL"
    print(f"{status} {f}")
    for pr in problems:
        print(f"     {pr}")
    failed += bool(problems)
print(f"golden: {len(files) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
