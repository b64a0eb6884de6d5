#!/usr/bin/env python3
# trace_test.py: `pxos run --trace`, `--trace-json` and `--trace-limit` on debug_cases/prog.pxasm:
# every JSON line parses and carries the fields tools read; text lines show hex offsets,
# label+offset, source line, depth and symbolised operands; program output interleaves in order;
# a limit stops the trace but not the run; a bad limit is one line and exit 2.
import json, os, re, subprocess, sys

pxos = os.environ.get("PXOS") or sys.exit("PXOS is not set")
os.chdir(os.environ.get("PXOS_SOURCE_DIR", "."))
prog = "tests/cli/debug_cases/prog.pxasm"
failed = 0


def check(name, cond, info=""):
    global failed
    if not cond:
        failed += 1
        print(f"FAIL: {name} {info}")


def run(*args, merged=False):
    return subprocess.run([pxos, "run", *args], capture_output=not merged, text=True, timeout=60,
                          stdout=subprocess.PIPE if merged else None, stderr=subprocess.STDOUT if merged else None)


# --trace-json: one object per line, then the trap line
r = run("--trace-json", prog)
check("json exit", r.returncode == 6, r.returncode)
check("json stdout", r.stdout == "9\ndone\n", repr(r.stdout))
lines = r.stderr.splitlines()
check("json trap last", lines and "division by zero" in lines[-1], lines[-1:])
steps = [json.loads(l) for l in lines[:-1]]
check("json keys", all(set(s) >= {"pc", "at", "line", "depth", "op", "insn", "stack"} for s in steps))
check("json first", steps[0]["pc"] == 0 and steps[0]["at"] == "main" and steps[0]["line"] == 4 and steps[0]["stack"] == [])
call = next(s for s in steps if s["op"] == "CALL")
check("json call symbolised", call["insn"] == "CALL square" and call["target"] == 0x3B and call["at"] == "main+0x5", call)
inside = next(s for s in steps if s["at"] == "square+0x2")
check("json depth in call", inside["depth"] == 1 and inside["insn"] == "LTEE 0" and inside["stack"] == [3], inside)
jnz = [s for s in steps if s["op"] == "JNZ"]
check("json branch symbolised", len(jnz) == 3 and all(s["insn"] == "JNZ loop" for s in jnz), jnz)
check("json last is the trap", steps[-1]["op"] == "DIV" and steps[-1]["stack"] == [1, 0] and steps[-1]["line"] == 20)
check("json steps", len(steps) == 35, len(steps))  # pxos run --stats: 35 instructions, the trapping DIV included

# text: the same steps, readable; output interleaved right after the instruction that wrote it
r = run("--trace", prog, merged=True)
out = r.stdout.splitlines()
row = re.compile(r"^0x([0-9a-f]{4})  (\S+)\s+(\d+|-)  d(\d+)\s+(.+?)\s+\[(.*)\]$")
parsed = [row.match(l) for l in out]
check("text rows", sum(1 for p in parsed if p) == 35, sum(1 for p in parsed if p))
i9 = out.index("9")
check("text output after PRINT", "PRINT " in out[i9 - 1] and row.match(out[i9 + 1]), out[i9 - 1:i9 + 2])
idone = out.index("done")
check("text PRINT_STR before its output", 'PRINT_STR "done"' in out[idone - 1], out[idone - 1])
callrow = next(p for p in parsed if p and p.group(5) == "CALL square")
check("text call row", callrow.group(1) == "0005" and callrow.group(2) == "main+0x5" and callrow.group(3) == "5"
      and callrow.group(4) == "0" and callrow.group(6) == "3", callrow.groups())
check("text depth", any(p and p.group(2) == "square+0x4" and p.group(4) == "1" for p in parsed))
check("text no decimal offsets", all(not p or re.fullmatch(r"[0-9a-f]{4}", p.group(1)) for p in parsed))

# --trace-limit: N lines, a note, and the run goes on to its real end
r = run("--trace-limit", "5", prog)
el = r.stderr.splitlines()
check("limit lines", len([l for l in el if row.match(l)]) == 5, el)
check("limit note", "trace: limit of 5 lines reached; the run goes on untraced" in el, el)
check("limit run goes on", r.stdout == "9\ndone\n" and r.returncode == 6 and "division by zero" in el[-1], (r.stdout, r.returncode))
r = run("--trace-json", "--trace-limit", "2", prog)
el = r.stderr.splitlines()
check("json limit", [json.loads(l) for l in el[:3]][2] == {"trace_limit": 2}, el[:3])

# bad limits: one line, usage exit
for bad in ("0", "-3"):
    r = run("--trace-limit", bad, prog)
    check(f"bad limit {bad}", r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and r.stdout == "", (r.returncode, r.stderr))

print(f"trace_test: {'ok' if not failed else f'{failed} failed'}")
sys.exit(1 if failed else 0)
