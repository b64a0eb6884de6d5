#!/usr/bin/env python3
# llm_server.py: a scripted OpenAI-compatible chat-completions server on loopback for the
# architect's tests. It plays a recorded conversation: the Nth request gets the Nth scripted
# reply (content, HTTP status, delay, or a stream cut mid-way), and every request is appended to
# a JSON-lines file so tests can check what the architect sent back to the model.
#   llm_server.py SCRIPT.json PORT_FILE REQUEST_LOG
# SCRIPT: {"replies": [STEP, ...], "after": STEP}; STEP keys:
#   content: str          the assistant message (streamed as SSE when the request asks to)
#   status: int, body: str  an HTTP error instead
#   sleep: float          seconds to wait before answering
#   cut: "chunked"|"eof"  stream half of content, then drop the connection
import json, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

script = json.load(open(sys.argv[1]))
port_file, req_log = sys.argv[2], sys.argv[3]
lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        with lock:
            i = count[0]
            count[0] += 1
            try:
                body = json.loads(raw)
            except Exception:
                body = {"unparsable": raw.decode("utf-8", "replace")}
            with open(req_log, "a") as f:
                f.write(json.dumps({"n": i, "path": self.path, "auth": self.headers.get("Authorization"),
                                    "body": body}) + "\n")
        replies = script.get("replies", [])
        step = replies[i] if i < len(replies) else script.get("after", {"content": json.dumps(
            {"task": "finish", "action": "done", "rationale": "script exhausted"})})
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"error": {"message": "no such path " + self.path}})
        if step.get("sleep"):
            time.sleep(step["sleep"])
        try:
            if "status" in step:
                data = step.get("body", json.dumps({"error": {"message": "scripted failure"}})).encode()
                self.send_response(step["status"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            content = step["content"]
            if body.get("stream"):
                self.stream(content, step.get("cut"))
            else:
                self.send_json(200, {"id": "x", "object": "chat.completion", "model": body.get("model"),
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": content}}]})
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, content, cut):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        chunked = cut != "eof"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
        self.end_headers()

        def emit(text):
            data = text.encode()
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            self.wfile.flush()

        pieces = [content[k:k + 16] for k in range(0, len(content), 16)]
        if cut:
            pieces = pieces[: max(1, len(pieces) // 2)]
        for p in pieces:
            chunk = {"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
            emit("data: " + json.dumps(chunk) + "\n\n")
        if cut:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        emit("data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + "\n\n")
        emit("data: [DONE]\n\n")
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
