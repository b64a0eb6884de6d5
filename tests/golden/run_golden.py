#!/usr/bin/env python3
# run_golden.py: the one runner for golden .pxasm tests (clox test/ style). Each file says what
# `pxos run` must do with directives in comments:
#   ; expect: LINE           the next line of stdout (all lines, in order, nothing more)
#   ; expect error: TEXT     the run fails (non-zero exit) and stderr contains TEXT
#   ; expect exit: N         the exit status (default 0, or non-zero with `expect error`)
#   ; args: ...              extra arguments to `pxos run`
#   ; stdin: TEXT            a line fed to standard input (repeatable)
# With --boot, each file runs instead as a module of the microkernel (`pxos boot --module`): the
# same interpreter sources built freestanding, in ring 3 under QEMU. stdout must be the same;
# an expected error must name the same trap (the exit status is boot's: non-zero). Left out
# there, and said so: files that read stdin (the guest's input is mailboxd's UART, empty under
# pxos boot) and files whose flags boot lacks (--deny, --timeout-ms, --trace).
import os, re, shlex, subprocess, sys
from pathlib import Path

pxos = os.environ.get("PXOS") or sys.exit("PXOS is not set")
argv = sys.argv[1:]
boot = "--boot" in argv
argv = [a for a in argv if a != "--boot"]
BOOT_FLAGS = {"--seed", "--max-steps", "--max-output", "--memory-words", "--grant"}  # what pxos boot passes on
skipped = 0
roots = [Path(p) for p in argv] or [Path(__file__).parent]
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
    if boot:
        why = "reads stdin" if stdin else next((f"{a} is not a pxos boot flag" for a in args
                                                 if a.startswith("--") and a not in BOOT_FLAGS), None)
        if why:
            print(f"skip {f} (kernel: {why})")
            skipped += 1
            continue
        cmd = [pxos, "boot", "--quiet", "--timeout", "120", *args, "--module", str(f)]
        exits = []  # boot's exit statuses are its own (exits.def); the trap text must agree
    else:
        cmd = [pxos, "run", str(f), *args]
    p = subprocess.run(cmd, input=stdin.encode(), capture_output=True, timeout=180)
    out = p.stdout.decode(errors="replace").splitlines()
    err = p.stderr.decode(errors="replace")
    if boot:  # mailboxd prints host-side errors (the assembler's) escaped onto one line
        err = err.replace("\\x0a", "\n").replace("\\\\", "\\")
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
    if errors and not boot and len(err.strip().splitlines()) != 1 and "error:" not in err:
        problems.append(f"trap message is not one line: {err!r}")
    status = "ok  " if not problems else "FAIL"
    print(f"{status} {f}")
    for pr in problems:
        print(f"     {pr}")
    failed += bool(problems)
ran = len(files) - skipped
print(f"golden{' (kernel)' if boot else ''}: {ran - failed} passed, {failed} failed" + (f", {skipped} left out" if skipped else ""))
sys.exit(1 if failed else 0)
