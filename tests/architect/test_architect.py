#!/usr/bin/env python3
# test_architect.py: end-to-end tests of `pxos architect` against the scripted server
# (llm_server.py) on loopback. Each case makes its own temp git repository as the workspace,
# runs the real binary ($PXOS), and asserts what happened on disk, in git and in what the
# architect sent back to the model.   test_architect.py CASE   (or no argument: every case)
import hashlib, json, os, shutil, signal, subprocess, sys, tempfile, time

PXOS = os.environ.get("PXOS") or os.path.join(os.environ.get("PXOS_BUILD_DIR", "build"), "pxos")
HERE = os.path.dirname(os.path.abspath(__file__))


def act(action, task="t", rationale="because", **kw):
    d = {"task": task, "action": action, "rationale": rationale}
    d.update(kw)
    return json.dumps(d)


DONE = {"content": act("done", task="stop", rationale="finished")}


class Case:
    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="pxos-arch-test-")
        self.ws = os.path.join(self.tmp, "ws")
        self.outside = os.path.join(self.tmp, "outside")
        os.makedirs(self.ws)
        os.makedirs(self.outside)
        self.git("init", "-q")
        self.git("config", "user.name", "Test User")
        self.git("config", "user.email", "user@test.invalid")
        self.write("README.md", "workspace for test " + name + "\n")
        self.git("add", "README.md")
        self.git("commit", "-q", "-m", "initial")
        self.server = None
        self.reqlog = os.path.join(self.tmp, "requests.jsonl")

    def git(self, *args):
        return subprocess.run(["git", "-C", self.ws, *args], check=True, capture_output=True, text=True).stdout

    def write(self, rel, text):
        p = os.path.join(self.ws, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    def read(self, rel):
        with open(os.path.join(self.ws, rel)) as f:
            return f.read()

    def serve(self, replies, after=DONE):
        script = os.path.join(self.tmp, "script.json")
        with open(script, "w") as f:
            json.dump({"replies": replies, "after": after}, f)
        portfile = os.path.join(self.tmp, "port")
        self.server = subprocess.Popen([sys.executable, os.path.join(HERE, "llm_server.py"), script, portfile, self.reqlog])
        for _ in range(200):
            if os.path.exists(portfile):
                return int(open(portfile).read())
            time.sleep(0.05)
        raise AssertionError("scripted server did not start")

    def run(self, port, *extra, mode="autonomous", stdin=None, env=None, timeout=120):
        args = [PXOS, "architect", "--endpoint", "http://127.0.0.1:%d/v1" % port, "--model", "scripted",
                "--workspace", self.ws, "--mode", mode, "--interval", "0", "--backoff-ms", "50"]
        if mode == "autonomous":
            args += ["--yes", "--goal", "test goal"]
        args += list(extra)
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout, env=e)
        self.last = p
        return p

    def requests(self):
        if not os.path.exists(self.reqlog):
            return []
        return [json.loads(l) for l in open(self.reqlog)]

    def last_user_message(self, n):
        return self.requests()[n]["body"]["messages"][-1]["content"]

    def commits(self):
        return self.git("log", "--format=%H %s").strip().splitlines()

    def log_events(self):
        p = os.path.join(self.ws, ".git", "pxos-architect", "log.jsonl")
        return [json.loads(l) for l in open(p)]

    def close(self):
        if self.server:
            self.server.kill()
            self.server.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def check(cond, msg, case=None):
    if not cond:
        extra = ""
        if case is not None and getattr(case, "last", None) is not None:
            extra = "\n--- stdout ---\n%s\n--- stderr ---\n%s" % (case.last.stdout[-3000:], case.last.stderr[-3000:])
        raise AssertionError(msg + extra)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def only_initial_commit(c):
    check(len(c.commits()) == 1, "expected no architect commit, got: %s" % c.commits(), c)


def no_file_changed_outside(c, before):
    after = {}
    for root, _, files in os.walk(c.outside):
        for f in files:
            after[os.path.join(root, f)] = sha(os.path.join(root, f))
    check(after == before, "files outside the workspace changed: %s vs %s" % (after, before), c)


def snapshot_outside(c):
    s = {}
    for root, _, files in os.walk(c.outside):
        for f in files:
            s[os.path.join(root, f)] = sha(os.path.join(root, f))
    return s


# ------------------------------------------------------------------------------------------------

PROGRAM = "; add two numbers\nPUSH 42\nPUSH 8\nADD\nPRINT\nHALT\n"


def case_good_asm(c):
    port = c.serve([{"content": act("write_asm", task="add 42 and 8", rationale="a first program",
                                    file_path="examples/add.pxasm", content=PROGRAM)},
                    {"content": act("write_asm", task="broken program", rationale="oops",
                                    file_path="examples/bad.pxasm", content="PUSH 1\nFROBNICATE 7\nHALT\n")},
                    {"content": act("run_command", task="assemble it", rationale="check", command="asm",
                                    args=["examples/add.pxasm"])}])
    p = c.run(port, "--max-iterations", "5")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(c.read("examples/add.pxasm") == PROGRAM, "program not written", c)
    msg = c.git("log", "-1", "--format=%B", "--", "examples/add.pxasm")
    check("add 42 and 8" in msg and "a first program" in msg and "Pxos-Architect: action" in msg, "commit message: " + msg, c)
    check("assembled with pxos asm: OK" in msg, "the program was not assembled before commit: " + msg, c)
    check(c.git("status", "--porcelain").strip() == "", "workspace not clean: " + c.git("status", "--porcelain"), c)
    # the broken program: never written, the assembler's error went back to the model
    check(not os.path.exists(os.path.join(c.ws, "examples/bad.pxasm")), "a program that does not assemble was written", c)
    back = c.last_user_message(2)
    check("examples/bad.pxasm was NOT written" in back and "FROBNICATE" in back, "assembler error not sent back: " + back, c)
    check("examples/bad.pxasm" in back and "$TMP" not in back.split("NOT written")[0], "temp path leaked", c)
    back = c.last_user_message(3)
    check("command asm: exit 0" in back, "asm command result not sent back: " + back, c)
    check(len(c.commits()) == 2, "expected exactly one architect commit: %s" % c.commits(), c)


def case_passwd(c):
    before = sha("/etc/passwd")
    outside_before = snapshot_outside(c)
    attempts = ["../../etc/passwd", "/etc/passwd", "../outside/x.md", "docs/../../outside/y.md", ".git/config.md",
                ".GIT/hooks/pre-commit.md", "~/x.md", "a\\..\\..\\b.md", "/proc/self/environ"]
    port = c.serve([{"content": act("write_doc", file_path=p, content="pwned\n")} for p in attempts] +
                   [{"content": act("read_file", file_path="../../etc/passwd")}])
    p = c.run(port, "--max-iterations", str(len(attempts) + 2), "--max-failures", "100")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(sha("/etc/passwd") == before, "/etc/passwd changed!", c)
    no_file_changed_outside(c, outside_before)
    check(not os.path.exists(os.path.join(c.tmp, "outside", "x.md")), "escaped write", c)
    only_initial_commit(c)
    reasons = [c.last_user_message(i + 1) for i in range(len(attempts) + 1)]
    check("'..' component" in reasons[0], "reason for ../../etc/passwd not sent back: " + reasons[0], c)
    check("absolute path" in reasons[1], reasons[1], c)
    check(".git directory is off limits" in reasons[4] and ".git directory is off limits" in reasons[5], reasons[4], c)
    check("root:" not in reasons[-1] and "'..' component" in reasons[-1], "read escape: " + reasons[-1], c)
    check("/etc/passwd" not in json.dumps([e for e in c.log_events() if e["event"] == "result" and e["ok"]]), "a passwd action succeeded", c)


def case_symlink(c):
    target = os.path.join(c.outside, "target.md")
    with open(target, "w") as f:
        f.write("outside original\n")
    os.symlink(c.outside, os.path.join(c.ws, "docs"))                       # directory link out
    os.symlink(target, os.path.join(c.ws, "link.md"))                       # file link out
    os.symlink(os.path.join(c.outside, "new.md"), os.path.join(c.ws, "dangling.md"))  # dangling, out
    os.symlink(os.path.join(c.ws, ".git"), os.path.join(c.ws, "gitlink"))   # inside, but into .git
    os.makedirs(os.path.join(c.ws, "real"))
    os.symlink("real", os.path.join(c.ws, "alias"))                         # inside: allowed
    with open(os.path.join(c.ws, "asmlink.pxasm"), "w"):
        pass
    os.remove(os.path.join(c.ws, "asmlink.pxasm"))
    os.symlink(target, os.path.join(c.ws, "asmlink.pxasm"))
    before = snapshot_outside(c)
    port = c.serve([{"content": act("write_doc", file_path="docs/x.md", content="pwned\n")},
                    {"content": act("write_doc", file_path="link.md", content="pwned\n")},
                    {"content": act("write_doc", file_path="dangling.md", content="pwned\n")},
                    {"content": act("write_doc", file_path="gitlink/description.md", content="pwned\n")},
                    {"content": act("read_file", file_path="link.md")},
                    {"content": act("run_command", command="asm", args=["asmlink.pxasm"])},
                    {"content": act("write_doc", file_path="alias/ok.md", content="through an inside link\n")},
                    {"content": act("read_file", file_path="dangling.md")},
                    {"content": act("read_file", file_path="alias/inside.md")},
                    {"content": act("write_doc", file_path="real/ok.md", content="inside is fine\n")}])
    with open(os.path.join(c.ws, "real", "inside.md"), "w") as f:
        f.write("read through an inside link\n")
    p = c.run(port, "--max-iterations", "11", "--max-failures", "100")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    no_file_changed_outside(c, before)
    check(not os.path.exists(os.path.join(c.outside, "new.md")), "dangling symlink followed out", c)
    check(not os.path.exists(os.path.join(c.outside, "x.md")), "directory symlink followed out", c)
    check(not os.path.exists(os.path.join(c.ws, ".git", "description.md")), "wrote into .git via a symlink", c)
    r = [c.last_user_message(i) for i in range(1, 11)]
    # writes never go through a symlink, wherever it points (the rules saw the link, not its target)
    for k in (0, 1, 2, 3, 6):
        check("writes never go through symlinks" in r[k], r[k], c)
    check("docs is a symlink" in r[0] and "link.md is a symlink" in r[1] and "gitlink is a symlink" in r[3], r[0], c)
    # reads follow a link only inside the workspace
    check("outside original" not in r[4] and "points outside" in r[4], "read through a symlink: " + r[4], c)
    check("points outside" in r[5], r[5], c)
    check("dangling" in r[7], r[7], c)
    check("read through an inside link" in r[8] and "real/inside.md" in r[8], "an inside link should read: " + r[8], c)
    check(c.read("real/ok.md") == "inside is fine\n", "a plain path should be written", c)
    check(len(c.commits()) == 2, "expected one commit: %s" % c.commits(), c)
    check(c.git("show", "--name-only", "--format=", "HEAD").strip() == "real/ok.md", "committed path", c)


def case_allowlist(c):
    marker = os.path.join(c.outside, "pwned")
    port = c.serve([{"content": act("run_command", command="sh", args=["-c", "touch " + marker])},
                    {"content": act("run_command", command="bash", args=[])},
                    {"content": act("run_command", command="../../bin/sh", args=[])},
                    {"content": act("run_command", command="build ; touch " + marker, args=[])}])
    p = c.run(port, "--max-iterations", "5", "--max-failures", "100")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(not os.path.exists(marker), "a command outside the allow-list ran", c)
    for i in range(1, 5):
        m = c.last_user_message(i)
        check("not in the allow-list" in m, "reason not sent back: " + m, c)
    only_initial_commit(c)


def case_metachar(c):
    marker = os.path.join(c.outside, "pwned")
    c.write("src.pxasm", PROGRAM)
    c.git("add", "src.pxasm")
    c.git("commit", "-q", "-m", "user program")
    bad = ["foo;touch " + marker, "$(touch " + marker + ")", "`touch " + marker + "`", "a|b", "a&&b", "x > y",
           "--output=" + marker, "-e", "a\nb", "'quoted'"]
    replies = [{"content": act("run_command", command="grep", args=[b])} for b in bad]
    replies += [{"content": act("run_command", command="asm", args=["src.pxasm;touch " + marker])},
                {"content": act("run_command", command="asm", args=["-o" + marker])},
                {"content": act("run_command", command="asm", args=["src.pxasm", "extra"])},
                {"content": act("run_command", command="grep", args=["PUSH"])}]
    p = c.run(port := c.serve(replies), "--max-iterations", str(len(replies) + 1), "--max-failures", "100")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(not os.path.exists(marker), "shell metacharacters or an injected option took effect", c)
    for i in range(1, len(bad) + 3):
        m = c.last_user_message(i)
        check("refused" in m, "argument %d not refused: %s" % (i, m), c)
    check("takes 1 argument" in c.last_user_message(len(bad) + 3), c.last_user_message(len(bad) + 3), c)
    ok = c.last_user_message(len(bad) + 4)
    check("command grep: exit 0" in ok and "src.pxasm" in ok, "a valid argument should run: " + ok, c)


def case_invalid_json(c):
    good = act("write_doc", task="write notes", file_path="notes.md", content="# notes\n")
    port = c.serve([{"content": "Sure! Here is the action: {task: write"},
                    {"content": good},
                    # next turn: three bad replies in a row -> the turn fails cleanly
                    {"content": "not json"}, {"content": "{\"task\": "}, {"content": "[" * 5000}])
    p = c.run(port, "--max-iterations", "2", "--repair-attempts", "2", "--max-failures", "5")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(c.read("notes.md") == "# notes\n", "the repaired action was not applied", c)
    rep = c.last_user_message(1)
    check("invalid JSON" in rep and "rejected" in rep, "repair turn lacks the error: " + rep, c)
    check("JSON nested deeper" in json.dumps(c.log_events()), "deep nesting not refused", c)
    check(len(c.requests()) == 5, "expected 5 requests (1 + 1 repair, 1 + 2 repairs), got %d" % len(c.requests()), c)
    check(len(c.commits()) == 2, "one commit expected: %s" % c.commits(), c)
    state = json.load(open(os.path.join(c.ws, ".git", "pxos-architect", "state.json")))
    check(state["history"][-1]["ok"] is False and "no valid action after 2 repair" in state["history"][-1]["result"], str(state), c)


def case_schema(c):
    port = c.serve([{"content": json.dumps({"task": "x", "action": "delete_everything", "rationale": "r"})},
                    {"content": json.dumps({"task": "x", "action": "write_doc", "rationale": "r", "file_path": "a.md"})},
                    {"content": json.dumps({"task": "x", "action": "write_doc", "rationale": "r", "file_path": "a.md",
                                            "content": "A\n", "shell": "rm -rf /"})},
                    {"content": json.dumps({"task": "", "action": "plan", "rationale": "r"})},
                    {"content": json.dumps({"task": "x", "action": "run_command", "rationale": "r", "command": "grep",
                                            "args": "PUSH"})},
                    {"content": json.dumps({"task": "x", "action": "plan", "rationale": "r", "content": "1. A"})}])
    p = c.run(port, "--max-iterations", "3", "--repair-attempts", "1", "--max-failures", "5")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    msgs = [c.last_user_message(i) for i in range(1, 6)]
    check("is not one of" in msgs[0], msgs[0], c)
    check("needs non-empty \"content\"" in msgs[1], msgs[1], c)  # turn 1 failed after 1 repair
    check("unknown field \"shell\"" in msgs[2], msgs[2], c)       # turn 2
    check("must not be empty" in msgs[3], msgs[3], c)
    check("expected array" in msgs[4], msgs[4], c)
    check(not os.path.exists(os.path.join(c.ws, "a.md")), "a schema-violating action was applied", c)
    req = c.requests()[0]["body"]
    rf = req.get("response_format", {})
    check(rf.get("type") == "json_schema" and "action" in rf["json_schema"]["schema"]["properties"], "schema not sent", c)
    only_initial_commit(c)


def case_timeout(c):
    port = c.serve([{"sleep": 6, "content": act("write_doc", file_path="late.md", content="late\n")},
                    {"content": act("write_doc", file_path="ontime.md", content="on time\n")}])
    t0 = time.time()
    p = c.run(port, "--max-iterations", "3", "--timeout", "1")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check("within 1 s" in p.stdout, "timeout not reported: " + p.stdout, c)
    check(not os.path.exists(os.path.join(c.ws, "late.md")), "the late reply was applied", c)
    check(c.read("ontime.md") == "on time\n", "the next turn did not work", c)
    check("within 1 s" in c.last_user_message(1), "the timeout is not in the next turn's context", c)
    check(time.time() - t0 < 30, "took too long", c)


def case_retry_500(c):
    good = act("write_doc", task="after errors", file_path="ok.md", content="ok\n")
    port = c.serve([{"status": 500}, {"status": 503, "body": "{\"error\": {\"message\": \"model loading\"}}"},
                    {"content": good}])
    p = c.run(port, "--max-iterations", "1")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(c.read("ok.md") == "ok\n", "not applied after retries", c)
    check(len(c.requests()) == 3, "expected 3 tries", c)
    retries = [e for e in c.log_events() if e["event"] == "retry"]
    check(len(retries) == 2 and "HTTP 500" in retries[0]["reason"] and "model loading" in retries[1]["reason"],
          "retries not logged: %s" % retries, c)
    reply = [e for e in c.log_events() if e["event"] == "reply"][0]
    check(reply["attempts"] == 3, "attempts %s" % reply["attempts"], c)
    # all tries failing: the turn fails cleanly. The body quotes the client's own "no server" text:
    # a failure is told apart by its kind, so this one is not taken for a missing server (exit 17).
    c2 = Case("retry_500b")
    try:
        port = c2.serve([{"status": 500, "body": "no server is listening at the GPU box"}] * 10)
        p = c2.run(port, "--max-iterations", "1", "--attempts", "3")
        check(p.returncode == 0 and "giving up after 3 tries" in p.stdout, "exhausted retries: " + p.stdout, c2)
        only_initial_commit(c2)
    finally:
        c2.close()


def case_midstream(c):
    full = act("write_doc", task="streamed", file_path="stream.md", content="# complete\n" + "line\n" * 40)
    port = c.serve([{"content": full, "cut": "chunked"}, {"content": full, "cut": "eof"}, {"content": full}])
    p = c.run(port, "--max-iterations", "1")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(c.read("stream.md") == "# complete\n" + "line\n" * 40, "the complete reply was not applied", c)
    retries = [e["reason"] for e in c.log_events() if e["event"] == "retry"]
    check(len(retries) == 2, "expected two retries: %s" % retries, c)
    check("mid-reply" in retries[0] and "stream ended" in retries[1], str(retries), c)
    check(len(c.commits()) == 2, str(c.commits()), c)
    # without --no-stream the request asked for a stream
    check(c.requests()[0]["body"]["stream"] is True, "not streamed", c)


def case_no_server(c):
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    p = c.run(port, "--max-iterations", "3", "--attempts", "2")
    check(p.returncode == 17, "exit %d" % p.returncode, c)
    check("no server is listening at http://127.0.0.1:%d/v1" % port in p.stderr, "message: " + p.stderr, c)
    only_initial_commit(c)


def case_no_libcurl(c):
    # libcurl is opened on the first request; when it cannot be (PXOS_FAULT=dlopen:1 stands in
    # for an uninstalled libcurl4) the turn fails with one line naming it, and nothing changes.
    port = c.serve([DONE])
    p = c.run(port, "--max-iterations", "1", env={"PXOS_FAULT": "dlopen:1"})
    check(p.returncode == 17, "exit %d: %s" % (p.returncode, p.stderr), c)
    check("the architect's HTTP client (libcurl) cannot be loaded: libcurl.so.4" in p.stderr, "message: " + p.stderr, c)
    check(c.requests() == [], "a request was sent", c)
    only_initial_commit(c)


def case_interactive(c):
    doc = act("write_doc", task="write the intro", file_path="docs/intro.md", content="# intro\n")
    doc2 = act("write_doc", task="write more", file_path="docs/more.md", content="# more\n")
    port = c.serve([{"content": doc}, {"content": doc2}])
    p = c.run(port, mode="interactive", stdin="write an intro\ny\n/diff\n/log\n\nn\n/undo\n/undo\n/bogus\n/quit\n")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    out = p.stdout
    check("task:      write the intro" in out and "apply this action? [y/N]" in out, "action not shown: " + out, c)
    check("+# intro" in out, "/diff did not show the change", c)
    check("architect: write the intro" in out, "/log did not list the commit", c)
    check("the user declined" in json.dumps(c.requests()[-1]) or not os.path.exists(os.path.join(c.ws, "docs/more.md")),
          "declined action applied", c)
    check(not os.path.exists(os.path.join(c.ws, "docs/more.md")), "declined action applied", c)
    check(not os.path.exists(os.path.join(c.ws, "docs/intro.md")), "/undo did not revert", c)
    check("reverted" in out and "nothing to undo" in out, "undo messages: " + out, c)
    check("unknown command /bogus" in out, out, c)
    subjects = c.git("log", "--format=%s").splitlines()
    check(subjects[0].startswith("Revert \"architect: write the intro"), str(subjects), c)


def case_interactive_yes(c):
    port = c.serve([{"content": act("write_doc", task="w", file_path="y.md", content="yes\n")}])
    p = c.run(port, "--yes", mode="interactive", stdin="go\n/quit\n")
    check(p.returncode == 0 and c.read("y.md") == "yes\n", "--yes should apply without asking", c)
    check("apply this action?" not in p.stdout, "asked despite --yes", c)


def case_user_changes(c):
    c.write("notes.md", "committed\n")
    c.git("add", "notes.md")
    c.git("commit", "-q", "-m", "notes")
    c.write("notes.md", "user's unsaved work\n")
    c.write("draft.md", "untracked user draft\n")
    c.write("other.txt", "staged by the user\n")
    c.git("add", "other.txt")
    port = c.serve([{"content": act("write_doc", file_path="notes.md", content="model\n")},
                    {"content": act("write_doc", file_path="draft.md", content="model\n")},
                    {"content": act("write_doc", file_path="fresh.md", content="model\n")}])
    p = c.run(port, "--max-iterations", "3", "--max-failures", "10")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(c.read("notes.md") == "user's unsaved work\n", "user's uncommitted change overwritten", c)
    check(c.read("draft.md") == "untracked user draft\n", "user's untracked file overwritten", c)
    check("uncommitted changes" in c.last_user_message(1), c.last_user_message(1), c)
    check(c.read("fresh.md") == "model\n", "a clean path should be written", c)
    # the architect's commit holds only its own file; the user's staged file stays staged
    check(c.git("show", "--name-only", "--format=", "HEAD").strip() == "fresh.md", "commit swept in user work", c)
    check("A  other.txt" in c.git("status", "--porcelain"), "user's staged change lost: " + c.git("status", "--porcelain"), c)


def case_resume(c):
    port = c.serve([{"content": act("plan", task="plan it", content="1. write a\n")},
                    {"content": act("write_doc", file_path="a.md", content="a\n")}])
    p = c.run(port, "--max-iterations", "1")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    sp = os.path.join(c.ws, ".git", "pxos-architect", "state.json")
    st = json.load(open(sp))
    check(st["iteration"] == 1 and st["goal"] == "test goal", str(st), c)
    args = [PXOS, "architect", "--endpoint", "http://127.0.0.1:%d/v1" % port, "--workspace", c.ws, "--mode",
            "autonomous", "--yes", "--resume", "--max-iterations", "1", "--interval", "0"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    c.last = p
    check(p.returncode == 0, "resume exit %d" % p.returncode, c)
    st = json.load(open(sp))
    check(st["iteration"] == 2 and st["goal"] == "test goal" and len(st["history"]) == 2, str(st), c)
    check("Step: 2" in c.requests()[1]["body"]["messages"][1]["content"], "resumed step number", c)
    check("plan it" in c.requests()[1]["body"]["messages"][1]["content"], "history not resumed into the context", c)
    check(c.read("a.md") == "a\n", "second step", c)
    ev = [e["event"] for e in c.log_events()]
    for k in ("start", "request", "reply", "action", "result", "step", "stop"):
        check(k in ev, "log lacks %s events" % k, c)


def case_command_limits(c):
    marker = os.path.join(c.outside, "grandchild-survived")
    table = os.path.join(c.tmp, "commands.json")
    with open(table, "w") as f:
        json.dump({"commands": {
            "slow": {"argv": ["sh", "-c", "(sleep 3; touch %s) & sleep 30" % marker], "timeout_s": 1},
            "env": {"argv": ["env"], "timeout_s": 5},
            "loud": {"argv": ["sh", "-c", "yes 0123456789 | head -c 1000000"], "timeout_s": 10}},
            "env_passthrough": ["HOME"]}, f)
    port = c.serve([{"content": act("run_command", command="slow")},
                    {"content": act("run_command", command="env")},
                    {"content": act("run_command", command="loud")}])
    t0 = time.time()
    p = c.run(port, "--max-iterations", "4", "--commands", table, "--max-failures", "10",
              env={"PXOS_ARCHITECT_API_KEY": "sekrit-key-123", "SOME_TOKEN": "tok-456"})
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check(time.time() - t0 < 25, "the timeout did not stop the command", c)
    check("timed out after" in c.last_user_message(1), c.last_user_message(1), c)
    envout = c.last_user_message(2)
    check("command env: exit 0" in envout and "PATH=/usr/local/bin:/usr/bin:/bin" in envout, envout, c)
    check("sekrit" not in envout and "tok-456" not in envout, "environment not cleaned: " + envout, c)
    check(c.requests()[0]["auth"] == "Bearer sekrit-key-123", "API key not sent to the server", c)
    check("sekrit" not in open(os.path.join(c.ws, ".git", "pxos-architect", "log.jsonl")).read(), "key in the log", c)
    loud = c.last_user_message(3)
    check("bytes cut" in loud and len(loud) < 20000, "output not capped: %d" % len(loud), c)
    time.sleep(3.5)
    check(not os.path.exists(marker), "a grandchild survived the timeout (process group not killed)", c)
    # a table inside the workspace is refused
    inside = os.path.join(c.ws, "cmds.json")
    shutil.copy(table, inside)
    p = c.run(port, "--max-iterations", "1", "--commands", inside)
    check(p.returncode != 0 and "inside the workspace is refused" in p.stderr, p.stderr, c)


def case_wgsl(c):
    port = c.serve([{"content": act("write_wgsl", file_path="kernels/k.wgsl",
                                    content="@compute @workgroup_size(1) fn main() {}\n")},
                    {"content": act("write_wgsl", file_path="kernels/k.txt", content="x")},
                    {"content": act("write_wgsl", file_path="kernels/bad.wgsl", content="fn main( {\n")}])
    p = c.run(port, "--max-iterations", "4", "--max-failures", "10")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    help_ = subprocess.run([PXOS, "gpu", "check", "--help"], capture_output=True, text=True)
    r = c.last_user_message(1)
    bad = c.last_user_message(3)
    if help_.returncode != 0:  # this build has no `pxos gpu check`: say so, never pretend
        check("NOT compiled: WGSL checking is unavailable" in r, r, c)
        check(os.path.exists(os.path.join(c.ws, "kernels/k.wgsl")), "should be committed with the note", c)
    elif "NOT compiled: no GPU" in r:  # the runtime is there but no adapter: said plainly
        check("Check: NOT compiled" in c.git("log", "-1", "--format=%B", "--", "kernels/k.wgsl"), "note missing", c)
    else:
        check("compiled with pxos gpu check: OK" in r, r, c)
        check("Check: compiled with pxos gpu check: OK" in c.git("log", "-1", "--format=%B", "--", "kernels/k.wgsl"), "commit", c)
        check("kernels/bad.wgsl was NOT written" in bad and "kernels/bad.wgsl:1:" in bad, "WGSL errors not sent back: " + bad, c)
        check(not os.path.exists(os.path.join(c.ws, "kernels/bad.wgsl")), "a WGSL file that does not compile was written", c)
    check("write_wgsl writes .wgsl" in c.last_user_message(2), c.last_user_message(2), c)


def case_ignored(c):
    c.write(".gitignore", "secret.env\nbuild/\n")
    c.git("add", ".gitignore")
    c.git("commit", "-q", "-m", "ignore")
    c.write("secret.env", "TOKEN=abc-secret-123\n")
    port = c.serve([{"content": act("read_file", file_path="secret.env")},
                    {"content": act("write_doc", file_path="build/notes.md", content="x\n")},
                    {"content": act("read_file", file_path=".gitignore")}])
    p = c.run(port, "--max-iterations", "4", "--max-failures", "10")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    check("ignored by git" in c.last_user_message(1), c.last_user_message(1), c)
    check("abc-secret-123" not in open(c.reqlog).read(), "an ignored file was sent to the server", c)
    check("ignored by git" in c.last_user_message(2) and not os.path.exists(os.path.join(c.ws, "build/notes.md")),
          "wrote an ignored path", c)
    check("secret.env" in c.last_user_message(3) and "whole file" in c.last_user_message(3), "plain read", c)


def case_failures(c):
    port = c.serve([], after={"content": "I refuse to answer in JSON"})
    p = c.run(port, "--max-failures", "2", "--repair-attempts", "0")
    check(p.returncode == 17, "exit %d" % p.returncode, c)
    check("stopped after 2 consecutive failed steps" in p.stderr, p.stderr, c)
    check(len(c.requests()) == 2, "requests: %d" % len(c.requests()), c)
    only_initial_commit(c)
    stops = [e for e in c.log_events() if e["event"] == "stop"]
    check(stops and stops[-1]["reason"] == "failures", str(stops), c)


def case_schema_refused(c):
    port = c.serve([{"status": 400, "body": "{\"error\": {\"message\": \"response_format json_schema not supported\"}}"},
                    {"content": act("write_doc", file_path="ok.md", content="ok\n")}])
    p = c.run(port, "--max-iterations", "1")
    check(p.returncode == 0 and c.read("ok.md") == "ok\n", "not applied after the schema was refused", c)
    r = c.requests()
    check("response_format" in r[0]["body"] and "response_format" not in r[1]["body"], "fallback without schema", c)
    check("refused response_format" in p.stderr, p.stderr, c)


def case_ctrl_c(c):
    port = c.serve([{"sleep": 2, "content": act("write_doc", task="slow step", file_path="a.md", content="a\n")}],
                   after={"content": act("write_doc", file_path="b.md", content="b\n")})
    args = [PXOS, "architect", "--endpoint", "http://127.0.0.1:%d/v1" % port, "--workspace", c.ws, "--mode",
            "autonomous", "--yes", "--goal", "g", "--interval", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if len(c.requests()) >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # mid-request: the step must still finish
    out, err = proc.communicate(timeout=60)
    c.last = subprocess.CompletedProcess(args, proc.returncode, out, err)
    check(proc.returncode == 130, "exit %d" % proc.returncode, c)
    check(c.read("a.md") == "a\n", "the current step did not finish", c)
    check(not os.path.exists(os.path.join(c.ws, "b.md")), "a step ran after Ctrl-C", c)
    check(len(c.requests()) == 1, "requests after Ctrl-C: %d" % len(c.requests()), c)
    st = json.load(open(os.path.join(c.ws, ".git", "pxos-architect", "state.json")))
    check(st["iteration"] == 1 and st["history"][-1]["ok"], str(st), c)
    check(c.git("status", "--porcelain").strip() == "", "left uncommitted changes", c)


def case_usage(c):
    p = subprocess.run([PXOS, "architect", "--workspace", c.ws, "--mode", "autonomous", "--goal", "g"],
                       capture_output=True, text=True)
    c.last = p
    check(p.returncode == 2 and "--yes" in p.stderr, "autonomous without --yes must be refused", c)
    notgit = os.path.join(c.tmp, "plain")
    os.makedirs(notgit)
    p = subprocess.run([PXOS, "architect", "--workspace", notgit, "--mode", "autonomous", "--yes", "--goal", "g"],
                       capture_output=True, text=True)
    c.last = p
    check(p.returncode != 0 and "not inside a git repository" in p.stderr, p.stderr, c)


OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # "set the clipboard to rm -rf ~"


def case_terminal(c):
    # Everything the model, the server or a file controls reaches the terminal escaped: the live
    # stream, the shown action, results, server errors, /log and /diff; commit messages too.
    c.write("evil.md", "clipboard " + OSC52 + " \x1b[2J\u009b31m\u202egnp.exe\n")
    c.git("add", "evil.md")
    c.git("commit", "-q", "-m", "a file with escapes")
    port = c.serve([
        {"status": 500, "body": json.dumps({"error": {"message": "overloaded " + OSC52}})},
        {"content": "not json " + OSC52 + "\x1b[2J"},
        {"content": act("write_doc", task="title " + OSC52, rationale="\x1b[2J\rforged line",
                        file_path="docs/t.md", content="line\n\x1b[31mred\x1b[0m\n\u009b2J\n")},
        {"content": act("write_doc", task="clean \x1b]0;window title\x07", rationale="why \x1b[1A\u202e",
                        file_path="docs/ok.md", content="ok\n")},
        {"content": act("read_file", file_path="evil.md")},
        {"content": act("run_command", command="grep", args=["clipboard"])}])
    p = c.run(port, mode="interactive", stdin="go\ny\n\ny\n\ny\n\ny\n/log\n/diff\n/quit\n")
    check(p.returncode == 0, "exit %d" % p.returncode, c)
    for name, text in (("stdout", p.stdout), ("stderr", p.stderr)):
        raw = text.encode("utf-8", "surrogateescape")
        bad = [b for b in raw if (b < 0x20 and b not in (0x0a, 0x09)) or b == 0x7f]
        check(not bad, "%s carries raw control bytes %s" % (name, sorted(set(bad))), c)
        check("\u009b" not in text and "\u202e" not in text, name + " carries a C1 or bidi control", c)
    out = p.stdout
    check("title \\x1b]52;c;" in out, "the task was not shown escaped: " + out[-2000:], c)
    check("\\x1b[31mred" in out, "the content preview was not shown escaped", c)
    check("not json \\x1b]52" in out, "the live stream was not shown escaped", c)
    check("overloaded \\x1b]52" in p.stderr, "the server's error was not shown escaped: " + p.stderr, c)
    check("clipboard \\x1b]52" in out, "the read/grep result was not shown escaped", c)
    check("content byte 5 (0x1b) is a control character" in out, "content with escapes must be refused", c)
    check(not os.path.exists(os.path.join(c.ws, "docs/t.md")), "content with escapes was written", c)
    check(c.read("docs/ok.md") == "ok\n", "the clean write did not happen", c)
    msgs = c.git("log", "--format=%B")
    check("\x1b" not in msgs and "\u202e" not in msgs and "\r" not in msgs, "a commit message carries raw escapes", c)
    check("clean \\x1b]0;window title\\x07" in msgs, "commit subject not escaped: " + msgs, c)


def case_docs_table(c):
    # docs/architect.md states the protected table truthfully: every row of protected.def is there
    import re
    root = os.path.dirname(os.path.dirname(HERE))
    rows = re.findall(r'^X\("([^"]+)",', open(os.path.join(root, "src/architect/protected.def")).read(), re.M)
    doc = open(os.path.join(root, "docs/architect.md")).read()
    check(len(rows) >= 30, "protected.def parsed to %d rows" % len(rows))
    missing = [r for r in rows if "`%s`" % r not in doc]
    check(not missing, "docs/architect.md does not list protected rows: %s" % missing)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    failed = 0
    for n in names:
        c = Case(n)
        try:
            CASES[n](c)
            print("PASS", n)
        except Exception as e:
            failed += 1
            print("FAIL", n, e)
        finally:
            c.close()
    sys.exit(1 if failed else 0)
