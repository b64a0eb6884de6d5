#!/usr/bin/env python3
# serve_load.py: a bounded loopback load on `pxos llm serve` (or any OpenAI-compatible server):
# N streamed requests, C at a time, each with its own seed; checks that every request got a
# complete stream of its own id, then prints requests/s, p50/p99 time to first token and tok/s.
import argparse
import concurrent.futures as cf
import http.client
import json
import statistics
import time


def one(port, i, max_tokens):
    body = json.dumps({"messages": [{"role": "user", "content": f"Tell me about the number {i}."}], "max_tokens": max_tokens,
                       "temperature": 0.7, "seed": i, "stream": True, "stream_options": {"include_usage": True}})
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    ttft, ids, tokens, done, buf = None, set(), 0, False, b""
    while True:
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            data = ev[len(b"data: "):]
            if data == b"[DONE]":
                done = True
                continue
            j = json.loads(data)
            ids.add(j["id"])
            if j.get("usage"):
                tokens = j["usage"]["completion_tokens"]
            elif j["choices"] and j["choices"][0]["delta"].get("content") and ttft is None:
                ttft = time.perf_counter() - t0
    c.close()
    return {"i": i, "ttft": ttft or (time.perf_counter() - t0), "secs": time.perf_counter() - t0, "tokens": tokens, "done": done, "ids": len(ids)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("-c", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(a.c) as ex:
        res = list(ex.map(lambda i: one(a.port, i, a.max_tokens), range(a.n)))
    wall = time.perf_counter() - t0
    lost = [r["i"] for r in res if not r["done"] or r["ids"] != 1]
    ttft = sorted(r["ttft"] for r in res)
    toks = sum(r["tokens"] for r in res)
    p99 = ttft[min(len(ttft) - 1, int(round(0.99 * (len(ttft) - 1))))]
    print(json.dumps({"label": a.label, "requests": a.n, "concurrency": a.c, "lost_or_mixed": len(lost), "wall_s": round(wall, 2),
                      "rps": round(a.n / wall, 3), "tok_s": round(toks / wall, 2), "ttft_p50_s": round(statistics.median(ttft), 3),
                      "ttft_p99_s": round(p99, 3), "completion_tokens": toks}))
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
