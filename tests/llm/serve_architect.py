#!/usr/bin/env python3
# serve_architect.py: the architect on pxos's own model: `pxos llm serve` (SmolLM2-135M, CPU
# reference, max_tokens capped so it stays quick) and `pxos architect --endpoint` in autonomous
# mode for 3 steps in a scratch git workspace. The content's quality is not judged; every reply
# must be schema-valid JSON (the constraint), and every action sandboxed: committed or refused,
# with nothing written outside the workspace.
import json
import os
import subprocess
import sys
import tempfile
import time

import jsonschema

PXOS = os.environ.get("PXOS", "build/pxos")
SAMPLE = os.environ.get("LLM_SCHEMA_SAMPLE", "build/tests/llm/llm_schema_sample")
MODEL = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_TOKENS = os.environ.get("ARCHITECT_MAX_TOKENS", "96")


def main():
    if not os.path.exists(MODEL):
        if os.environ.get("PXOS_NO_MODEL") == "1":
            print("serve_architect: no model, PXOS_NO_MODEL=1: nothing to run")
            return 0
        print(f"FAIL: {MODEL} is missing")
        return 1
    tmp = tempfile.mkdtemp(prefix="pxos-serve-arch-")
    ws = os.path.join(tmp, "ws")
    os.makedirs(ws)
    git = lambda *a: subprocess.run(["git", "-C", ws, *a], check=True, capture_output=True, text=True).stdout
    git("init", "-q")
    git("config", "user.name", "Test")
    git("config", "user.email", "t@test.invalid")
    with open(os.path.join(ws, "README.md"), "w") as f:
        f.write("scratch workspace\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "initial")
    outside_before = sorted(os.listdir(tmp))
    srv = subprocess.Popen([PXOS, "llm", "serve", MODEL, "--port", "0", "--ctx", "4096", "--threads", "2", "--max-tokens", MAX_TOKENS],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = srv.stdout.readline()
    port = int(line.split("http://", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1])
    model_id = line.split("(model ", 1)[1].split(",", 1)[0]
    t0 = time.time()
    p = subprocess.run([PXOS, "architect", "--endpoint", f"http://127.0.0.1:{port}/v1", "--model", model_id, "--workspace", ws,
                        "--mode", "autonomous", "--yes", "--interval", "0", "--max-iterations", "3", "--max-failures", "3", "--repair-attempts", "0",
                        "--timeout", "900", "--goal", "Write docs/notes.md: one short line about pxos."],
                       capture_output=True, text=True, timeout=1800)
    secs = time.time() - t0
    srv.terminate()
    srv.wait(timeout=60)
    schema = json.loads(subprocess.run([SAMPLE, "--architect-schema"], check=True, capture_output=True, text=True).stdout)
    events = [json.loads(l) for l in open(os.path.join(ws, ".git", "pxos-architect", "log.jsonl"))]
    replies = [e for e in events if e.get("event") == "reply"]
    fails = []
    for i, e in enumerate(replies):
        try:
            jsonschema.validate(json.loads(e["content"]), schema)
            print(f"ok   reply {i + 1}: schema-valid ({e.get('finish_reason')}, {e.get('seconds', 0):.1f} s): {e['content'][:100]!r}")
        except Exception as ex:
            fails.append(f"reply {i + 1} not schema-valid: {ex}: {e['content'][:200]!r}")
    results = [e for e in events if e.get("event") in ("result", "declined", "invalid")]
    commits = git("log", "--format=%s").strip().splitlines()
    steps = [e for e in events if e.get("event") == "step"]
    print(f"architect: exit {p.returncode}, {len(replies)} replies, {len(steps)} steps, {len(commits) - 1} commits, {secs:.0f} s")
    for e in results:
        print(f"     {e['event']}: ok={e.get('ok')} commit={e.get('commit')} {str(e.get('text', e.get('error', '')))[:100]!r}")
    if len(replies) < 3:
        fails.append(f"{len(replies)} replies for 3 steps: {p.stderr[-400:]}")
    # The architect refuses actions whose fields do not fit the action (write_doc without a
    # file_path): rules outside its JSON schema. That is the sandbox working; a reply that is not
    # schema-valid JSON is a failure (checked above), and so is an unparsable one.
    for e in events:
        if e.get("event") == "invalid" and "schema violation: action" not in e.get("error", ""):
            fails.append(f"a reply was refused for its form: {e.get('error')}")
    for e in (e for e in events if e.get("event") == "result"):
        if e.get("ok") and e.get("commit") is None and e.get("changed"):
            fails.append(f"an action changed files without a commit: {e}")
    if sorted(os.listdir(tmp)) != outside_before:
        fails.append("something was written outside the workspace")
    for f in fails:
        print("FAIL " + f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
