#!/usr/bin/env python3
# serve_test.py: `pxos llm serve` end to end with real clients: the official openai SDK (plain,
# streamed, json_schema, errors as the SDK's exception types), curl for SSE framing, raw HTTP for
# every bad input (the server keeps serving after each), a client cut mid-stream, and concurrent
# requests that must give exactly the replies they give one at a time. A tiny generated model
# makes it fast; the real SmolLM2 file (when present) runs the schema case once more.
import concurrent.futures as cf
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import jsonschema
import openai

PXOS = os.environ.get("PXOS", "build/pxos")
GEN = os.environ.get("LLM_GEN", "build/tests/llm/llm_gen_gguf")
REAL = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class Server:
    def __init__(self, model, *args):
        self.p = subprocess.Popen([PXOS, "llm", "serve", model, "--port", "0", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if "listening on http://" not in line:
            raise SystemExit(f"FAIL: no port line: {line!r} {self.p.stderr.read()}")
        self.port = int(line.split("http://", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1])
        self.model_id = line.split("(model ", 1)[1].split(",", 1)[0]
        deadline = time.time() + 120
        while time.time() < deadline:
            st, _ = self.get("/health")
            if st == 200:
                break
            time.sleep(0.05)
        self.base = f"http://127.0.0.1:{self.port}/v1"

    def request(self, method, path, body=b"", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def get(self, path):
        return self.request("GET", path)

    def post(self, obj, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return self.request("POST", "/v1/chat/completions", body, {"Content-Type": ctype})

    def alive(self):
        st, data = self.get("/health")
        return st == 200 and json.loads(data)["status"] == "ok"

    def stop(self):
        self.p.terminate()
        try:
            out, err = self.p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
        return self.p.returncode, out, err


def err_of(status_data):
    st, data = status_data
    try:
        return st, json.loads(data)["error"]
    except Exception:
        return st, {"message": data[:200]}


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 16}, "age": {"type": "integer", "minimum": 0, "maximum": 130},
                   "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3}},
    "required": ["name", "age", "tags"],
    "additionalProperties": False,
}


SMALL = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["n"], "additionalProperties": False}


def sdk_cases(s, label, max_tokens, schema=SCHEMA, json_object=True):
    cl = openai.OpenAI(base_url=s.base, api_key="unused", max_retries=0, timeout=600)
    msgs = [{"role": "user", "content": "Say hello."}]
    r = cl.chat.completions.create(model=s.model_id, messages=msgs, max_tokens=max_tokens, temperature=0, seed=1)
    c = r.choices[0]
    check(r.id.startswith("chatcmpl-") and r.object == "chat.completion" and isinstance(r.created, int), f"{label}: reply id/object/created shaped as OpenAI's")
    check(c.finish_reason in ("stop", "length") and c.message.role == "assistant", f"{label}: finish_reason {c.finish_reason}, role assistant")
    check(r.usage.completion_tokens <= max_tokens and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens,
          f"{label}: usage {r.usage.prompt_tokens}+{r.usage.completion_tokens}")
    parts, finish = [], None
    for ch in cl.chat.completions.create(model=s.model_id, messages=msgs, max_tokens=max_tokens, temperature=0, seed=1, stream=True):
        if ch.choices and ch.choices[0].delta.content:
            parts.append(ch.choices[0].delta.content)
        if ch.choices and ch.choices[0].finish_reason:
            finish = ch.choices[0].finish_reason
    check("".join(parts) == c.message.content and finish == c.finish_reason, f"{label}: the stream spells the same reply ({len(parts)} chunks, {finish})")
    r = cl.chat.completions.create(model=s.model_id, messages=[{"role": "user", "content": "Describe a person as JSON."}], max_tokens=400,
                                   temperature=0.8, seed=3,
                                   response_format={"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": schema}})
    text = r.choices[0].message.content
    try:
        jsonschema.validate(json.loads(text), schema)
        ok = r.choices[0].finish_reason == "stop"
    except Exception as e:
        ok = False
        print("   ", e)
    check(ok, f"{label}: json_schema reply parses and validates: {text[:120]!r}")
    if json_object:
        r = cl.chat.completions.create(model=s.model_id, messages=msgs, max_tokens=300, seed=4, response_format={"type": "json_object"})
        try:
            ok = isinstance(json.loads(r.choices[0].message.content), dict)
        except Exception:
            ok = False
        check(ok, f"{label}: json_object reply is an object: {r.choices[0].message.content[:80]!r}")
    try:
        cl.chat.completions.create(model="no-such-model", messages=msgs, max_tokens=2)
        check(False, f"{label}: unknown model raises NotFoundError")
    except openai.NotFoundError as e:
        check(e.status_code == 404 and "no-such-model" in str(e), f"{label}: unknown model raises NotFoundError (404)")
    try:
        cl.chat.completions.create(model=s.model_id, messages=msgs, max_tokens=2,
                                   response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "format": "email"}}})
        check(False, f"{label}: unsupported keyword raises BadRequestError")
    except openai.BadRequestError as e:
        check(e.status_code == 400 and "'format'" in str(e), f"{label}: unsupported schema keyword raises BadRequestError naming it")


def curl_sse(s):
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": True, "seed": 2})
    out = subprocess.run(["curl", "-sN", "-H", "Content-Type: application/json", "-d", body, f"{s.base}/chat/completions"],
                         capture_output=True, text=True, timeout=300).stdout
    events = out.split("\n\n")
    check(events[-1] == "" and events[-2] == "data: [DONE]", "curl: the stream ends with 'data: [DONE]' and a blank line")
    chunks = [json.loads(e[len("data: "):]) for e in events[:-2]]
    check(all(e.startswith("data: ") and "\n" not in e for e in events[:-2]), "curl: every event is one 'data: ' line")
    check(chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""} and chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
          and all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks),
          f"curl: {len(chunks)} chunks, role first, finish_reason last, one id")


def bad_inputs(s):
    cases = [
        ("malformed JSON", s.post(b'{"messages": [}'), 400, "invalid_json", None),
        ("wrong content type", s.post({"messages": [{"role": "user", "content": "x"}]}, "text/plain"), 415, "invalid_content_type", None),
        ("huge body", s.post(b'{"messages":"' + b"x" * (5 << 20) + b'"}'), 413, "request_too_large", None),
        ("empty messages", s.post({"messages": []}), 400, "empty_array", "messages"),
        ("no messages", s.post({"model": s.model_id}), 400, "missing_required_parameter", "messages"),
        ("bad role", s.post({"messages": [{"role": "wizard", "content": "x"}]}), 400, "invalid_value", "messages[0].role"),
        ("content of the wrong type", s.post({"messages": [{"role": "user", "content": 5}]}), 400, "invalid_type", "messages[0].content"),
        ("max_tokens of the wrong type", s.post({"messages": [{"role": "user", "content": "x"}], "max_tokens": "9"}), 400, "invalid_type", "max_tokens"),
        ("temperature out of range", s.post({"messages": [{"role": "user", "content": "x"}], "temperature": 3}), 400, "invalid_value", "temperature"),
        ("unsupported schema keyword", s.post({"messages": [{"role": "user", "content": "x"}],
                                               "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object", "patternProperties": {}}}}}),
         400, "unsupported_schema", "response_format.json_schema.schema"),
        ("invalid schema", s.post({"messages": [{"role": "user", "content": "x"}],
                                   "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "string", "minLength": 3, "maxLength": 1}}}}),
         400, "invalid_schema", "response_format.json_schema.schema"),
        ("unknown response_format type", s.post({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "yaml"}}), 400, "invalid_value", "response_format.type"),
        ("prompt past the context", s.post({"messages": [{"role": "user", "content": "word " * 400}]}), 400, "context_length_exceeded", "messages"),
        ("unknown route", s.request("GET", "/v2/nothing"), 404, "not_found", None),
        ("wrong method", s.request("GET", "/v1/chat/completions"), 405, "method_not_allowed", None),
    ]
    for name, res, status, code, param in cases:
        st, e = err_of(res)
        check(st == status and e.get("code") == code and (param is None or e.get("param") == param) and e.get("message") and e.get("type"),
              f"bad input: {name} -> {st} {e.get('code')} {e.get('param')}: {str(e.get('message'))[:90]}")
        check(s.alive(), f"bad input: the server still serves after: {name}")
    st, data = s.post({"messages": [{"role": "user", "content": "x"}], "max_tokens": 2, "frobnicate": {"a": 1}, "user": "u"})
    check(st == 200 and json.loads(data)["choices"][0]["message"]["role"] == "assistant", "unknown fields are ignored (200)")


def cut_stream(s, n_tokens):
    # A client that reads the first event of a long stream and hangs up: its generation stops
    # (the next request is served at once: one session only) and nothing else breaks.
    body = json.dumps({"messages": [{"role": "user", "content": "go"}], "max_tokens": n_tokens, "stream": True, "seed": 5}).encode()
    sk = socket.create_connection(("127.0.0.1", s.port))
    sk.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
               str(len(body)).encode() + b"\r\n\r\n" + body)
    got = b""
    while b"data: " not in got:
        more = sk.recv(4096)
        if not more:
            break
        got += more
    sk.close()
    check(b"200 OK" in got and b"data: " in got, "cut stream: the stream had begun")
    st, data = s.post({"messages": [{"role": "user", "content": "x"}], "max_tokens": 3, "seed": 1})
    check(st == 200 and s.alive(), "cut stream: the server serves the next request")


def concurrent(s):
    reqs = [{"messages": [{"role": "user", "content": f"number {i}"}], "max_tokens": 12, "temperature": 0.9, "seed": 100 + i} for i in range(12)]
    seq = [json.loads(s.post(r)[1])["choices"][0]["message"]["content"] for r in reqs]
    with cf.ThreadPoolExecutor(4) as ex:
        par = list(ex.map(lambda r: json.loads(s.post(r)[1])["choices"][0]["message"]["content"], reqs))
    check(seq == par, f"concurrency: 12 requests 4 at a time give the replies they give one at a time ({len(set(seq))} distinct)")


def main():
    tmp = tempfile.mkdtemp()
    tiny = os.path.join(tmp, "tiny.gguf")
    subprocess.run([GEN, tiny, "good"], check=True)
    s = Server(tiny, "--ctx", "256", "--parallel", "2")
    st, data = s.get("/v1/models")
    m = json.loads(data)
    check(st == 200 and m["object"] == "list" and m["data"][0]["id"] == s.model_id == "tiny", "/v1/models lists the model")
    # The tiny model's context is 64 tokens of (mostly) single bytes: a small schema; the real
    # model below runs the person schema and json_object.
    sdk_cases(s, "tiny", 16, SMALL, json_object=False)
    curl_sse(s)
    bad_inputs(s)
    concurrent(s)
    rc, out, err = s.stop()
    check(rc == 0 and "stopped" in out, f"SIGTERM stops the server cleanly (exit {rc})")
    s = Server(tiny, "--ctx", "256")  # one session: a cut stream must free it
    cut_stream(s, 200)
    s.stop()
    # Bad command lines: one clear line, non-zero exit.
    for args, what in [(["/nonexistent.gguf", "--port", "0"], "a missing model"), ([tiny, "--port", "70000"], "a port out of range"),
                       ([tmp, "--port", "0"], "a directory as the model")]:
        r = subprocess.run([PXOS, "llm", "serve", *args], capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, f"serve with {what}: exit {r.returncode}: {r.stderr.strip()[:100]}")
    if os.path.exists(REAL):
        s = Server(REAL, "--ctx", "1024", "--threads", "2")
        sdk_cases(s, "SmolLM2", 8)
        s.stop()
    elif os.environ.get("PXOS_NO_MODEL") != "1":
        check(False, f"{REAL} is missing (PXOS_NO_MODEL=1 skips the real-model part)")
    print(f"serve_test: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
